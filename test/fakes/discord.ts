/**
 * A protocol-level fake of Discord for tests, on 127.0.0.1, that the real discord.js
 * connects to: REST under /api/v10 (https://discord.com/developers/docs/reference) and the
 * gateway over WebSocket (https://discord.com/developers/docs/events/gateway), JSON
 * encoding, no compression. It records every request, checks JSON bodies against the
 * official OpenAPI spec (test/fakes/discord-openapi-validator.ts), refuses content over
 * 2000 characters the way Discord does, answers 429 on demand, and echoes every message
 * the bot creates back through the gateway as MESSAGE_CREATE, like the real service.
 *
 * Files: a CDN on the same server serves the attachments tests register
 * (`/attachments/<channel>/<id>/<name>?ex=&is=&hm=`, signed like Discord's, recording
 * every download), for tests to put in users' messages (a voice message: flags 8192 and
 * an `audio/ogg` attachment with `duration_secs` and `waveform`). Message creates and
 * interaction edits and follow-ups may be multipart (`payload_json` + `files[n]`, checked
 * against the spec like JSON); the uploaded files are kept, bytes and all, on the bot
 * message. Like Discord, the fake refuses an upload over 25 MiB (413, code 40005) and an
 * `attachments` entry that names no file part.
 * https://discord.com/developers/docs/reference#uploading-files
 *
 * Commands: registration is checked against the spec and Discord's naming rules (slash
 * commands lower case with a description; message context-menu commands with neither
 * description nor options). `slashCommand` may carry attachment options (type 11, their
 * objects in `resolved.attachments`); `messageCommand` is a context-menu command on a
 * message (type 3, the message in `resolved.messages`).
 * https://discord.com/developers/docs/interactions/application-commands
 *
 * Moderation: the bot deletes messages (DELETE, recorded in `deleted`, dispatched as
 * MESSAGE_DELETE) and times members out (PATCH guild member with
 * `communication_disabled_until`, recorded in `timeouts`); `denyBot` takes Manage Messages
 * in a channel or Moderate Members in the guild from the bot, and those calls then get
 * Discord's 403 `{ code: 50013, message: 'Missing Permissions' }`. Users' edits arrive as
 * MESSAGE_UPDATE (`editUserMessage`).
 *
 * Permissions: the guild has a Moderators role (Manage Messages and Manage Channels) beside
 * @everyone (neither). A user's message or command with `roles: [fake.moderatorRoleId]`
 * carries that member; discord.js computes a message author's permissions in the channel
 * from the roles in GUILD_CREATE, and an interaction carries them in `member.permissions`.
 * https://discord.com/developers/docs/topics/permissions
 *
 * One guild with three text channels (general, a second one, and one for a mod log), a
 * thread the bot started and a thread a user started; a second guild with one text channel,
 * whose id lands on shard 1 of 2 where the first lands on shard 0; DMs on any other channel
 * id. Users are created on the fly by id.
 *
 * Sharding: GET /gateway/bot recommends `shards` (1 by default) with `max_concurrency`. Each
 * IDENTIFY with `shard: [id, count]` (none: [0, 1]) opens its own session, with its own
 * sequence and replay log; like Discord, a guild's events (GUILD_CREATE, MESSAGE_*,
 * INTERACTION_CREATE) go only to sessions whose shard id is `(guild_id >> 22) % count`, and
 * DMs to shard 0. Several sessions may hold the same shard, and each gets the events. An
 * IDENTIFY is closed with 4010 (Invalid shard) for an id outside its count, and for a count
 * that disagrees with another live connection of the bot (stricter than Discord, which only
 * documents the first: the fake catches processes that split different counts), and with
 * 4011 (Sharding required) when its shard would hold more than `maxGuildsPerShard` guilds
 * (Discord: 2,500). A client that closes with 1000 or 1001 ends its session; any other close
 * leaves it resumable, logging what it misses.
 * https://discord.com/developers/docs/events/gateway#sharding
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { validateDiscordRequest } from './discord-openapi-validator.js';
import { parseMultipart } from './multipart.js';

const HOST = '127.0.0.1';
const API_VERSION = 10;
/** Discord's limit on a message's content for bots. */
export const DISCORD_MAX_CONTENT = 2000;
const HEARTBEAT_INTERVAL_MS = 41_250;
const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
/** The largest upload (all files of one request) the fake takes; Discord's limit for bots. */
export const DISCORD_MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
/** MESSAGE_FLAGS.IS_VOICE_MESSAGE. */
export const VOICE_MESSAGE_FLAG = 1 << 13;
/** How long the fake's signed CDN URLs say they live (Discord: 24 hours). */
const CDN_URL_LIFETIME_S = 24 * 3600;
/** Permission bits: https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags */
const MANAGE_CHANNELS = 1n << 4n;
const MANAGE_MESSAGES = 1n << 13n;
/** What @everyone may do in the fake guild: view, send, read history and the like; no managing. */
const EVERYONE_PERMISSIONS = 1071698660929n;
/** Discord's longest member timeout. */
const MAX_TIMEOUT_MS = 28 * 24 * 3600 * 1000;
/** Discord's epoch (2015-01-01) for snowflakes. */
const DISCORD_EPOCH = 1_420_070_400_000n;

/** Gateway close codes the fake uses: https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes */
const CLOSE = { AUTHENTICATION_FAILED: 4004, INVALID_SHARD: 4010, SHARDING_REQUIRED: 4011 } as const;
/** Close codes with which a client ends its session for good (anything else may resume). */
const SESSION_ENDING_CLOSES: readonly number[] = [1000, 1001];

/**
 * The shard that carries a guild's events: `(guild_id >> 22) % shard_count`; DMs (no guild)
 * go to shard 0. https://discord.com/developers/docs/events/gateway#sharding-sharding-formula
 */
export function shardOf(guildId: string | undefined, shardCount: number): number {
  if (guildId === undefined) return 0;
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** Gateway opcodes: https://discord.com/developers/docs/topics/opcodes-and-status-codes */
const OP = { DISPATCH: 0, HEARTBEAT: 1, IDENTIFY: 2, RESUME: 6, RECONNECT: 7, INVALID_SESSION: 9, HELLO: 10, HEARTBEAT_ACK: 11 } as const;

/** One REST request, as the fake saw it. */
export interface RecordedRequest {
  readonly method: string;
  /** Path under /api/v10, without the query. */
  readonly path: string;
  /** The spec's path template that matched, e.g. `/channels/{channel_id}/messages`. */
  readonly route: string;
  readonly query: string;
  readonly headers: IncomingMessage['headers'];
  /** Parsed JSON body (for multipart: its `payload_json`), or undefined. */
  readonly body: unknown;
  readonly files: readonly { readonly name: string; readonly filename: string; readonly size: number; readonly contentType?: string }[];
  /** The status the fake answered. */
  status: number;
}

/** A message as stored by the fake (bot and user messages). */
export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: DiscordUser;
  content: string;
  /** Every version of the content, oldest first (edits append). */
  versions: string[];
  message_reference?: { message_id: string };
  /** Set for messages created through an interaction's webhook. */
  interactionToken?: string;
  /** A user's attachments as dispatched; the bot's uploads with their bytes. */
  attachments: FakeAttachment[];
  /** Message flags, e.g. VOICE_MESSAGE_FLAG. */
  flags?: number;
  createdAt: number;
  /** When the content was last edited. */
  editedAt?: number;
  /** A user's message: the author's guild roles, and whom it mentions, as dispatched. */
  memberRoles?: readonly string[];
  mentions?: DiscordUser[];
}

/** A member timeout the bot set. */
export interface FakeTimeout {
  readonly guildId: string;
  readonly userId: string;
  /** `communication_disabled_until` as sent (ISO 8601), or null to lift it. */
  readonly until: string | null;
  /** The `X-Audit-Log-Reason` header, decoded. */
  readonly reason?: string;
}

/** A permission the fake can take from the bot. */
export type BotPermission = 'manageMessages' | 'moderateMembers';

/** An attachment object as Discord sends it in a message. https://discord.com/developers/docs/resources/message#attachment-object */
export interface DiscordAttachmentObject {
  readonly id: string;
  readonly filename: string;
  readonly size: number;
  readonly url: string;
  readonly proxy_url: string;
  readonly content_type?: string;
  /** Voice messages (and audio or video files). */
  readonly duration_secs?: number;
  /** Voice messages: base64 of up to 256 one-byte samples. */
  readonly waveform?: string;
}

/** An attachment on a message the fake stores; the bot's uploads keep their bytes. */
export interface FakeAttachment extends DiscordAttachmentObject {
  readonly bytes?: Buffer;
}

/** One GET of the fake CDN. */
export interface CdnDownload {
  /** The path, without the signature query. */
  readonly path: string;
  readonly status: number;
}

export interface RegisterAttachmentOptions {
  readonly name: string;
  readonly contentType?: string;
  /** The `size` the attachment object states; the real length when unset (a test may lie to test a size check). */
  readonly size?: number;
  /** The channel in the URL; the guild channel when unset. */
  readonly channelId?: string;
  /** Makes it a voice message's attachment: `duration_secs` and `waveform`. */
  readonly voice?: { readonly durationSecs: number };
}

export interface DiscordUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: null;
  bot?: boolean;
}

/** A 429 the fake answers with, for the next matching requests. */
export interface RateLimitFault {
  /** Matches `METHOD route` or just the route template; any request when unset. */
  readonly match?: string;
  readonly retryAfterSeconds: number;
  readonly global?: boolean;
  /** How many requests get it (1 by default). */
  times?: number;
}

export interface FakeDiscord {
  /** The REST base to give discord.js as `rest.api` (DISCORD_API_URL). */
  readonly apiUrl: string;
  readonly gatewayUrl: string;
  readonly token: string;
  readonly bot: DiscordUser;
  readonly applicationId: string;
  readonly guildId: string;
  readonly channelId: string;
  /** A second guild, on shard 1 of 2 (`guildId` is on shard 0 of 2). */
  readonly secondGuildId: string;
  /** The second guild's one text channel. */
  readonly secondGuildChannelId: string;
  /** A public thread in `channelId` the bot started. */
  readonly botThreadId: string;
  /** A public thread in `channelId` a user started. */
  readonly userThreadId: string;
  /** A second text channel in the guild. */
  readonly otherChannelId: string;
  /** A text channel for a mod log. */
  readonly modLogChannelId: string;
  /** A role with Manage Messages and Manage Channels; @everyone has neither. */
  readonly moderatorRoleId: string;
  /** The guild owner's user id (Discord refuses to time the owner out). */
  readonly ownerId: string;
  readonly requests: RecordedRequest[];
  /** Messages the bot deleted, in order. */
  readonly deleted: FakeMessage[];
  /** Member timeouts the bot set, in order. */
  readonly timeouts: FakeTimeout[];
  /** Takes a permission from the bot: Manage Messages in `channelId` (deleting others' messages there gets 403 50013), or Moderate Members in the guild. Until reset. */
  denyBot(permission: BotPermission, channelId?: string): void;
  /** A user edits their message: new content, `edited_timestamp`, dispatched as MESSAGE_UPDATE. Returns the payload. */
  editUserMessage(messageId: string, content: string): Record<string, unknown>;
  /** Spec violations and oversized content, one line each; tests assert there are none. */
  readonly violations: string[];
  readonly messages: FakeMessage[];
  /** `host:port` of the fake CDN, for DISCORD_CDN_HOSTS. */
  readonly cdnHost: string;
  /** Every GET of the fake CDN, in order. */
  readonly downloads: CdnDownload[];
  /** Puts a file on the fake CDN; returns the attachment object to put in a user's message. */
  registerAttachment(bytes: Uint8Array, options: RegisterAttachmentOptions): DiscordAttachmentObject;
  /** IDENTIFY and RESUME payloads received, in order (an IDENTIFY's `d.shard` is `[id, count]` when sharded). */
  readonly sessions: { readonly op: 'identify' | 'resume'; readonly d: Record<string, unknown> }[];
  /** The `[id, count]` of every open gateway connection that has identified or resumed, sorted. */
  liveShards(): Array<[number, number]>;
  /** Resolves when a client has identified and received the guilds of its shard. */
  whenReady(timeoutMs?: number): Promise<void>;
  /** A user's message in the guild channel (or `channelId`, a thread, or a DM when `dm`); returns the dispatched payload. */
  userMessage(options: UserMessageOptions): Record<string, unknown>;
  /** A user's slash command; returns the interaction's id and token. */
  slashCommand(options: SlashCommandOptions): { id: string; token: string };
  /** A user's message context-menu command ("Apps" on a message) on `target` (a payload `userMessage` returned). */
  messageCommand(options: MessageCommandOptions): { id: string; token: string };
  /** Sends a raw dispatch the way Discord routes it: to every session holding the shard of `data.guild_id` (shard 0 without one). */
  dispatch(type: string, data: Record<string, unknown>): void;
  /** Closes every gateway connection with a resumable code; the clients resume and the fake replays what they missed. */
  dropConnection(): void;
  /** After the next RESUME, also replay the dispatches numbered `fromSeq` and later, as if Discord lost the client's ack. */
  replayOnResume(fromSeq: number): void;
  /** The sequence number of the last dispatch sent (in the session that got it). */
  readonly sequence: number;
  enqueueRateLimit(fault: RateLimitFault): void;
  /** The bot's messages in a channel (or for an interaction token), in creation order. */
  botMessages(filter: { channelId?: string; interactionToken?: string }): FakeMessage[];
  requestsTo(method: string, route: string): RecordedRequest[];
  /** Waits until `predicate` holds; rejects with `describe()` after the timeout. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  reset(): void;
  stop(): Promise<void>;
}

export interface UserMessageOptions {
  readonly content: string;
  /** Guild channel or thread id (of either guild); ignored for a DM. */
  readonly channelId?: string;
  readonly dm?: boolean;
  readonly author?: Partial<DiscordUser>;
  readonly mentionBot?: boolean;
  readonly replyTo?: FakeMessage;
  /** Whether a reply pings its author (lists them in `mentions`), as Discord's client does by default. */
  readonly replyPing?: boolean;
  /** Reuse a fixed id (for replays). */
  readonly id?: string;
  /** Attachment objects, e.g. from `registerAttachment`. */
  readonly attachments?: readonly DiscordAttachmentObject[];
  /** The author's guild roles, e.g. `[fake.moderatorRoleId]`. */
  readonly roles?: readonly string[];
  /** A voice message: sets the IS_VOICE_MESSAGE flag (its one attachment should be `voice`-registered audio). */
  readonly voice?: boolean;
}

export interface SlashCommandOptions {
  readonly name: string;
  /** A subcommand (`/persona set`); `options` are then its options. */
  readonly subcommand?: string;
  readonly options?: Record<string, string>;
  /** Attachment options (type 11): the option's value is the attachment's id, the object goes in `resolved.attachments`. */
  readonly attachments?: Record<string, DiscordAttachmentObject>;
  /** The author's guild roles; their permissions go into `member.permissions`. */
  readonly roles?: readonly string[];
  readonly channelId?: string;
  readonly author?: Partial<DiscordUser>;
}

/** A message context-menu command: its name as registered, and the message it was used on. */
export interface MessageCommandOptions {
  readonly name: string;
  /** The target message's payload, as `userMessage` returned it. */
  readonly target: Record<string, unknown>;
  readonly roles?: readonly string[];
  readonly author?: Partial<DiscordUser>;
}

/** Route templates the fake serves; each also names a spec operation. */
const ROUTES: readonly { method: string; template: string }[] = [
  { method: 'GET', template: '/gateway/bot' },
  { method: 'GET', template: '/users/@me' },
  { method: 'POST', template: '/channels/{channel_id}/messages' },
  { method: 'PATCH', template: '/channels/{channel_id}/messages/{message_id}' },
  { method: 'DELETE', template: '/channels/{channel_id}/messages/{message_id}' },
  { method: 'POST', template: '/channels/{channel_id}/typing' },
  { method: 'PATCH', template: '/guilds/{guild_id}/members/{user_id}' },
  { method: 'PUT', template: '/applications/{application_id}/commands' },
  { method: 'PUT', template: '/applications/{application_id}/guilds/{guild_id}/commands' },
  { method: 'POST', template: '/interactions/{interaction_id}/{interaction_token}/callback' },
  { method: 'PATCH', template: '/webhooks/{webhook_id}/{webhook_token}/messages/@original' },
  { method: 'PATCH', template: '/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}' },
  { method: 'POST', template: '/webhooks/{webhook_id}/{webhook_token}' },
];

function matchRoute(method: string, path: string): { template: string; params: Record<string, string> } | undefined {
  const parts = path.split('/').filter(Boolean);
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const wanted = route.template.split('/').filter(Boolean);
    if (wanted.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = wanted.every((segment, i) => {
      const actual = decodeURIComponent(parts[i] ?? '');
      if (segment.startsWith('{')) {
        if (actual === '@original') return false;
        params[segment.slice(1, -1)] = actual;
        return true;
      }
      return segment === actual;
    });
    if (ok) return { template: route.template, params };
  }
  return undefined;
}

/** How the fake is set up. */
export interface FakeDiscordOptions {
  readonly token?: string;
  /** The shard count GET /gateway/bot recommends; 1 by default. */
  readonly shards?: number;
  /** GET /gateway/bot's `session_start_limit.max_concurrency`; 1 by default, as for most bots (discord.js then spaces IDENTIFYs 5 s apart). */
  readonly maxConcurrency?: number;
  /** Close an IDENTIFY with 4011 (Sharding required) when its shard holds more guilds than this; no limit by default. */
  readonly maxGuildsPerShard?: number;
}

/** One gateway session: its shard, and its dispatches for RESUME. */
interface GatewaySession {
  readonly id: string;
  readonly shard: readonly [number, number];
  sequence: number;
  readonly log: { s: number; t: string; d: unknown }[];
  /** The open connection, or undefined while the client is away (the session stays resumable). */
  socket: WebSocket | undefined;
}

/** Starts the fake on a free port. */
export async function createFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const token = options.token ?? 'test-token.discord.x';
  const recommendedShards = options.shards ?? 1;
  const maxConcurrency = options.maxConcurrency ?? 1;
  const maxGuildsPerShard = options.maxGuildsPerShard ?? Number.POSITIVE_INFINITY;
  let counter = 0n;
  const snowflake = (): string => (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) + (counter += 1n)).toString();
  const user = (partial: Partial<DiscordUser> = {}): DiscordUser => ({
    id: partial.id ?? '200000000000000001',
    username: partial.username ?? 'ann',
    global_name: partial.global_name ?? partial.username ?? 'Ann',
    discriminator: '0',
    avatar: null,
    ...(partial.bot ? { bot: true } : {}),
  });
  const bot = user({ id: '100000000000000001', username: 'switchboard', global_name: 'Switchboard', bot: true });
  const applicationId = bot.id;
  const guildId = '300000000000000001';
  const channelId = '300000000000000002';
  const botThreadId = '300000000000000003';
  const userThreadId = '300000000000000004';
  const modLogChannelId = '300000000000000005';
  const otherChannelId = '300000000000000006';
  const moderatorRoleId = '300000000000000010';
  const ownerId = '200000000000000099';
  // One more in the id's timestamp part (bits 22 and up) than guildId: the next shard of any count.
  const secondGuildId = (BigInt(guildId) + (1n << 22n)).toString();
  const secondGuildChannelId = (BigInt(secondGuildId) + 1n).toString();
  /** Each guild's text channels (with their names) and threads. */
  const guilds = new Map<string, { name: string; channels: ReadonlyArray<readonly [string, string]>; threads: readonly string[] }>([
    [guildId, { name: 'Test Guild', channels: [[channelId, 'general'], [otherChannelId, 'random'], [modLogChannelId, 'mod-log']], threads: [botThreadId, userThreadId] }],
    [secondGuildId, { name: 'Second Guild', channels: [[secondGuildChannelId, 'general']], threads: [] }],
  ]);
  const rolePermissions = new Map<string, bigint>([
    [guildId, EVERYONE_PERMISSIONS],
    [secondGuildId, EVERYONE_PERMISSIONS],
    [moderatorRoleId, MANAGE_MESSAGES | MANAGE_CHANNELS],
  ]);
  /** A member's permissions in a guild from its roles (no channel overwrites in the fake; the owner has all). */
  const permissionsOf = (userId: string, roles: readonly string[] = [], guild = guildId): bigint =>
    userId === ownerId ? (1n << 50n) - 1n : [guild, ...roles].reduce((bits, role) => bits | (rolePermissions.get(role) ?? 0n), 0n);
  const deleted: FakeMessage[] = [];
  const timeouts: FakeTimeout[] = [];
  /** The message each user message replies to, as it was when the reply was sent. */
  const referenced = new Map<string, FakeMessage>();
  /** Channels where the bot lacks Manage Messages; whether it lacks Moderate Members. */
  const deniedChannels = new Set<string>();
  let denyModerateMembers = false;

  const requests: RecordedRequest[] = [];
  const violations: string[] = [];
  const messages: FakeMessage[] = [];
  const sessions: FakeDiscord['sessions'] = [];
  const faults: RateLimitFault[] = [];
  const downloads: CdnDownload[] = [];
  /** The CDN's files by path, with the signature their URL carries. */
  const cdn = new Map<string, { bytes: Buffer; contentType?: string; hm: string }>();
  const interactions = new Map<string, { id: string; channelId: string; acknowledged: boolean }>();
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };

  // Gateway state: every session by id, and which session each open connection serves.
  const gatewaySessions = new Map<string, GatewaySession>();
  const sessionOf = new Map<WebSocket, GatewaySession>();
  let lastSequence = 0;
  let replayFrom: number | undefined;
  let ready = false;
  const sockets = new Set<WebSocket>();

  const thread = (id: string, ownerId: string, name: string): Record<string, unknown> => ({
    id,
    type: 11,
    guild_id: guildId,
    parent_id: channelId,
    owner_id: ownerId,
    name,
    last_message_id: null,
    rate_limit_per_user: 0,
    message_count: 0,
    member_count: 2,
    flags: 0,
    thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: new Date().toISOString(), locked: false },
  });
  const guildCreate = (id: string): Record<string, unknown> => {
    const guild = guilds.get(id)!;
    const role = (roleId: string, name: string, position: number): Record<string, unknown> => ({
      id: roleId,
      name,
      permissions: String(rolePermissions.get(roleId) ?? 0n),
      position,
      color: 0,
      hoist: false,
      managed: false,
      mentionable: false,
      flags: 0,
    });
    return {
      id,
      name: guild.name,
      icon: null,
      owner_id: ownerId,
      roles: id === guildId ? [role(id, '@everyone', 0), role(moderatorRoleId, 'Moderators', 1)] : [role(id, '@everyone', 0)],
      emojis: [],
      stickers: [],
      features: [],
      member_count: 2,
      large: false,
      unavailable: false,
      joined_at: new Date().toISOString(),
      members: [{ user: bot, roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 }],
      channels: guild.channels.map(([channel, name], position) => ({
        id: channel,
        type: 0,
        guild_id: id,
        name,
        position,
        permission_overwrites: [],
        parent_id: null,
        nsfw: false,
        rate_limit_per_user: 0,
        last_message_id: null,
      })),
      threads: id === guildId ? [thread(botThreadId, bot.id, 'Switchboard: a conversation'), thread(userThreadId, '200000000000000001', 'user thread')] : [],
      voice_states: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  };

  const send = (socket: WebSocket, payload: unknown): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
  };
  /** One dispatch in one session: numbered, logged for RESUME, and sent if the client is connected. */
  const dispatchIn = (session: GatewaySession, t: string, d: unknown): void => {
    session.sequence += 1;
    lastSequence = session.sequence;
    session.log.push({ s: session.sequence, t, d });
    if (session.socket) send(session.socket, { op: OP.DISPATCH, t, s: session.sequence, d });
  };
  /** An event as Discord routes it: to every session on the shard of its guild (DMs: shard 0), connected or resumable. */
  const dispatchTo = (t: string, d: Record<string, unknown>): void => {
    const guild = typeof d['guild_id'] === 'string' ? d['guild_id'] : undefined;
    for (const session of gatewaySessions.values()) {
      if (shardOf(guild, session.shard[1]) === session.shard[0]) dispatchIn(session, t, d);
    }
  };

  const server: Server = createServer((req, res) => {
    void handleRest(req, res).catch((error: unknown) => {
      violations.push(`fake crashed on ${req.method} ${req.url}: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/gateway' || url.searchParams.get('v') !== String(API_VERSION) || url.searchParams.get('encoding') !== 'json') {
      violations.push(`gateway: unexpected connect URL ${req.url}`);
      socket.destroy();
      return;
    }
    if (url.searchParams.has('compress')) violations.push('gateway: compression requested; the fake speaks plain JSON');
    wss.handleUpgrade(req, socket, head, (ws) => onGatewayConnection(ws));
  });

  /** Why an IDENTIFY's shard is refused, as Discord closes the connection; undefined if it is fine. */
  function shardProblem(shard: unknown): { code: number; reason: string } | undefined {
    const invalid = { code: CLOSE.INVALID_SHARD, reason: 'Invalid shard.' };
    if (!Array.isArray(shard) || shard.length !== 2 || !shard.every((n) => Number.isInteger(n))) return invalid;
    const [id, count] = shard as [number, number];
    if (count < 1 || id < 0 || id >= count) return invalid;
    const live = [...sessionOf.values()];
    if (live.some((session) => session.shard[1] !== count)) return invalid;
    const held = [...guilds.keys()].filter((guild) => shardOf(guild, count) === id).length;
    if (held > maxGuildsPerShard) return { code: CLOSE.SHARDING_REQUIRED, reason: 'Sharding required.' };
    return undefined;
  }

  function onGatewayConnection(ws: WebSocket): void {
    sockets.add(ws);
    ws.on('close', (code) => {
      sockets.delete(ws);
      const session = sessionOf.get(ws);
      sessionOf.delete(ws);
      if (!session || session.socket !== ws) return;
      session.socket = undefined;
      if (SESSION_ENDING_CLOSES.includes(code)) gatewaySessions.delete(session.id);
    });
    send(ws, { op: OP.HELLO, d: { heartbeat_interval: HEARTBEAT_INTERVAL_MS }, s: null, t: null });
    ws.on('message', (raw) => {
      let payload: { op: number; d: Record<string, unknown> | number | null };
      try {
        payload = JSON.parse(String(raw)) as typeof payload;
      } catch {
        ws.close(4002, 'Error while decoding payload');
        return;
      }
      if (payload.op === OP.HEARTBEAT) {
        send(ws, { op: OP.HEARTBEAT_ACK, d: null, s: null, t: null });
      } else if (payload.op === OP.IDENTIFY) {
        const d = payload.d as Record<string, unknown>;
        sessions.push({ op: 'identify', d });
        if (d['token'] !== token) {
          ws.close(CLOSE.AUTHENTICATION_FAILED, 'Authentication failed.');
          return;
        }
        const shard = d['shard'] ?? [0, 1];
        const problem = shardProblem(shard);
        if (problem) {
          ws.close(problem.code, problem.reason);
          return;
        }
        const [shardId, shardCount] = shard as [number, number];
        const session: GatewaySession = { id: randomBytes(16).toString('hex'), shard: [shardId, shardCount], sequence: 0, log: [], socket: ws };
        gatewaySessions.set(session.id, session);
        sessionOf.set(ws, session);
        const held = [...guilds.keys()].filter((guild) => shardOf(guild, shardCount) === shardId);
        const port = (server.address() as AddressInfo).port;
        dispatchIn(session, 'READY', {
          v: API_VERSION,
          user: { ...bot, verified: true, mfa_enabled: false, flags: 0 },
          guilds: held.map((id) => ({ id, unavailable: true })),
          session_id: session.id,
          resume_gateway_url: `ws://${HOST}:${port}/gateway`,
          shard: [shardId, shardCount],
          application: { id: applicationId, flags: 0 },
          private_channels: [],
          relationships: [],
          user_settings: {},
          presences: [],
          guild_join_requests: [],
          geo_ordered_rtc_regions: [],
          auth: {},
        });
        for (const id of held) dispatchIn(session, 'GUILD_CREATE', guildCreate(id));
        ready = true;
        notify();
      } else if (payload.op === OP.RESUME) {
        const d = payload.d as Record<string, unknown>;
        sessions.push({ op: 'resume', d });
        const session = typeof d['session_id'] === 'string' ? gatewaySessions.get(d['session_id']) : undefined;
        if (d['token'] !== token || !session) {
          send(ws, { op: OP.INVALID_SESSION, d: false, s: null, t: null });
          return;
        }
        if (session.socket && session.socket !== ws) sessionOf.delete(session.socket);
        session.socket = ws;
        sessionOf.set(ws, session);
        const from = Math.min(Number(d['seq']) + 1, replayFrom ?? Number.POSITIVE_INFINITY);
        replayFrom = undefined;
        for (const entry of session.log.filter((e) => e.s >= from)) send(ws, { op: OP.DISPATCH, t: entry.t, s: entry.s, d: entry.d });
        dispatchIn(session, 'RESUMED', {});
        notify();
      } else {
        violations.push(`gateway: unexpected opcode ${payload.op}`);
      }
    });
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    if (body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  }

  /** Discord's error shape: https://discord.com/developers/docs/reference#error-messages */
  const formError = (errors: Record<string, unknown>): unknown => ({ code: 50035, message: 'Invalid Form Body', errors });

  function toWire(message: FakeMessage): Record<string, unknown> {
    return {
      id: message.id,
      type: message.message_reference ? 19 : 0,
      channel_id: message.channel_id,
      ...(message.guild_id ? { guild_id: message.guild_id } : {}),
      author: message.author,
      content: message.content,
      timestamp: new Date(message.createdAt).toISOString(),
      edited_timestamp: message.editedAt === undefined ? null : new Date(message.editedAt).toISOString(),
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: message.attachments.map(({ bytes: _bytes, ...wire }) => wire),
      embeds: [],
      pinned: false,
      flags: message.flags ?? 0,
      components: [],
      ...(message.message_reference ? { message_reference: { type: 0, message_id: message.message_reference.message_id, channel_id: message.channel_id } } : {}),
    };
  }

  const guildOf = (channel: string): string | undefined =>
    [...guilds].find(([, guild]) => guild.channels.some(([id]) => id === channel) || guild.threads.includes(channel))?.[0];
  /** GUILD_TEXT 0, DM 1, PUBLIC_THREAD 11. */
  const channelTypeOf = (channel: string): number =>
    [...guilds.values()].some((guild) => guild.channels.some(([id]) => id === channel)) ? 0 : guildOf(channel) ? 11 : 1;
  /** The parent channel whose permissions a thread has. */
  const permissionChannelOf = (channel: string): string => ([botThreadId, userThreadId].includes(channel) ? channelId : channel);

  /** A user's message as the gateway dispatches it (MESSAGE_CREATE, MESSAGE_UPDATE): with `member`, `mentions` and the referenced message. */
  function userPayload(message: FakeMessage): Record<string, unknown> {
    const replyTo = referenced.get(message.id);
    return {
      ...toWire(message),
      mentions: message.mentions ?? [],
      channel_type: channelTypeOf(message.channel_id),
      ...(message.guild_id
        ? { member: { roles: [...(message.memberRoles ?? [])], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 } }
        : {}),
      ...(replyTo ? { referenced_message: toWire(replyTo) } : {}),
    };
  }

  /** Stores bytes on the CDN under a signed URL, as Discord does for every attachment. */
  function putOnCdn(channel: string, bytes: Buffer, name: string, contentType: string | undefined): { id: string; url: string } {
    const id = snowflake();
    const filename = name.replace(/[^\w.-]+/g, '_');
    const path = `/attachments/${channel}/${id}/${filename}`;
    const hm = randomBytes(32).toString('hex');
    cdn.set(path, { bytes, ...(contentType ? { contentType } : {}), hm });
    const port = (server.address() as AddressInfo).port;
    const ex = Math.floor(Date.now() / 1000 + CDN_URL_LIFETIME_S).toString(16);
    const is = Math.floor(Date.now() / 1000).toString(16);
    return { id, url: `http://${HOST}:${port}${path}?ex=${ex}&is=${is}&hm=${hm}&` };
  }

  /** The bot's uploads as attachments: on the CDN, with their bytes kept for tests. */
  function uploadedAttachments(channel: string, uploads: readonly Upload[]): FakeAttachment[] {
    return uploads.map((upload) => {
      const { id, url } = putOnCdn(channel, upload.data, upload.filename, upload.contentType);
      return {
        id,
        filename: upload.filename,
        size: upload.data.length,
        url,
        proxy_url: url,
        ...(upload.contentType ? { content_type: upload.contentType } : {}),
        bytes: upload.data,
      };
    });
  }

  function createBotMessage(channel: string, body: Record<string, unknown>, interactionToken?: string, uploads: readonly Upload[] = []): FakeMessage {
    const reference = body['message_reference'] as { message_id?: string } | undefined;
    const message: FakeMessage = {
      id: snowflake(),
      channel_id: channel,
      ...(guildOf(channel) ? { guild_id: guildOf(channel) } : {}),
      author: bot,
      content: String(body['content'] ?? ''),
      versions: [String(body['content'] ?? '')],
      ...(reference?.message_id ? { message_reference: { message_id: reference.message_id } } : {}),
      ...(interactionToken ? { interactionToken } : {}),
      attachments: uploadedAttachments(channel, uploads),
      createdAt: Date.now(),
    };
    messages.push(message);
    // Discord echoes the bot's own messages through the gateway.
    dispatchTo('MESSAGE_CREATE', { ...toWire(message), channel_type: channelTypeOf(channel) });
    return message;
  }

  function editMessage(message: FakeMessage, body: Record<string, unknown>, uploads: readonly Upload[] = []): void {
    if (typeof body['content'] === 'string') {
      message.content = body['content'];
      message.versions.push(body['content']);
      message.editedAt = Date.now();
    }
    // An edit's `attachments` lists what stays (existing ids) and what is new (uploads);
    // without it, uploads are added.
    const listed = body['attachments'];
    const kept = Array.isArray(listed)
      ? message.attachments.filter((a) => (listed as Array<{ id?: unknown }>).some((entry) => String(entry.id) === a.id))
      : message.attachments;
    message.attachments = [...kept, ...uploadedAttachments(message.channel_id, uploads)];
    dispatchTo('MESSAGE_UPDATE', toWire(message));
  }

  async function handleRest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const prefix = `/api/v${API_VERSION}`;
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    if (method === 'GET' && url.pathname.startsWith('/attachments/')) {
      serveCdn(url, res);
      return;
    }
    if (!url.pathname.startsWith(prefix)) {
      reply(res, 404, { message: '404: Not Found', code: 0 });
      return;
    }
    const path = url.pathname.slice(prefix.length);
    const route = matchRoute(method, path);
    const contentType = req.headers['content-type'] ?? '';
    let body: unknown;
    let files: RecordedRequest['files'] = [];
    let fileParts: Upload[] = [];
    const multipart = contentType.startsWith('multipart/form-data');
    if (raw.length > 0) {
      if (multipart) {
        const parts = await parseMultipart(raw, contentType);
        const json = parts.find((p) => p.name === 'payload_json');
        body = json ? (JSON.parse(json.data.toString('utf8')) as unknown) : {};
        fileParts = parts
          .filter((p) => p.filename !== undefined)
          .map((p) => ({ field: p.name, filename: p.filename ?? '', data: p.data, ...(p.contentType ? { contentType: p.contentType } : {}) }));
        files = fileParts.map((f) => ({ name: f.field, filename: f.filename, size: f.data.length, ...(f.contentType ? { contentType: f.contentType } : {}) }));
      } else {
        try {
          body = JSON.parse(raw.toString('utf8')) as unknown;
        } catch {
          body = undefined;
          violations.push(`${method} ${path}: body is not JSON`);
        }
      }
    }
    const recorded: RecordedRequest = { method, path, route: route?.template ?? '', query: url.search, headers: req.headers, body, files, status: 0 };
    requests.push(recorded);
    const answer = (status: number, payload?: unknown, headers?: Record<string, string>): void => {
      recorded.status = status;
      reply(res, status, payload, headers);
      notify();
    };

    if (!route) {
      violations.push(`${method} ${path}: no such route in the fake`);
      answer(404, { message: '404: Not Found', code: 0 });
      return;
    }
    const webhookAuth = route.template.startsWith('/webhooks/') || route.template.startsWith('/interactions/');
    if (!webhookAuth && req.headers['authorization'] !== `Bot ${token}`) {
      answer(401, { message: '401: Unauthorized', code: 0 });
      return;
    }
    if (webhookAuth && req.headers['authorization'] !== undefined) {
      violations.push(`${method} ${route.template}: sent the bot token to a webhook/interaction route`);
    }
    const problem = validateDiscordRequest(method, route.template, body);
    if (problem) {
      violations.push(problem);
      answer(400, formError({ _errors: [{ code: 'SPEC_VIOLATION', message: problem }] }));
      return;
    }
    const uploadBytes = fileParts.reduce((total, f) => total + f.data.length, 0);
    if (uploadBytes > DISCORD_MAX_UPLOAD_BYTES) {
      violations.push(`${method} ${route.template}: uploaded ${uploadBytes} bytes, over Discord's ${DISCORD_MAX_UPLOAD_BYTES}`);
      answer(413, { message: 'Request entity too large', code: 40005 });
      return;
    }
    const uploads = multipart ? matchUploads(method, route.template, body, fileParts) : { ok: true as const, uploads: [] };
    if (!uploads.ok) {
      violations.push(uploads.problem);
      answer(400, formError({ attachments: { _errors: [{ code: 'ATTACHMENT_NOT_FOUND', message: uploads.problem }] } }));
      return;
    }
    const content = (body as { content?: unknown } | undefined)?.content;
    if (typeof content === 'string' && content.length > DISCORD_MAX_CONTENT) {
      violations.push(`${method} ${route.template}: content of ${content.length} characters`);
      answer(
        400,
        formError({ content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${DISCORD_MAX_CONTENT} or fewer in length.` }] } }),
      );
      return;
    }
    const faultIndex = faults.findIndex((f) => f.match === undefined || f.match === route.template || f.match === `${method} ${route.template}`);
    if (faultIndex !== -1) {
      const fault = faults[faultIndex]!;
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) faults.splice(faultIndex, 1);
      const headers: Record<string, string> = {
        'retry-after': String(fault.retryAfterSeconds),
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Date.now() / 1000 + fault.retryAfterSeconds),
        'x-ratelimit-reset-after': String(fault.retryAfterSeconds),
        'x-ratelimit-bucket': 'fakebucket',
        'x-ratelimit-scope': fault.global ? 'global' : 'user',
        ...(fault.global ? { 'x-ratelimit-global': 'true' } : {}),
      };
      answer(429, { message: 'You are being rate limited.', retry_after: fault.retryAfterSeconds, global: fault.global ?? false }, headers);
      return;
    }
    const p = route.params;
    const json = (body ?? {}) as Record<string, unknown>;
    switch (`${method} ${route.template}`) {
      case 'GET /gateway/bot': {
        const port = (server.address() as AddressInfo).port;
        answer(200, {
          url: `ws://${HOST}:${port}/gateway`,
          shards: recommendedShards,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: maxConcurrency },
        });
        return;
      }
      case 'GET /users/@me':
        answer(200, { ...bot, verified: true, mfa_enabled: false, flags: 0 });
        return;
      case 'POST /channels/{channel_id}/messages':
        answer(200, toWire(createBotMessage(p['channel_id']!, json, undefined, uploads.uploads)));
        return;
      case 'PATCH /channels/{channel_id}/messages/{message_id}': {
        const message = messages.find((m) => m.id === p['message_id'] && m.channel_id === p['channel_id']);
        if (!message) return answer(404, { message: 'Unknown Message', code: 10008 });
        editMessage(message, json, uploads.uploads);
        answer(200, toWire(message));
        return;
      }
      case 'DELETE /channels/{channel_id}/messages/{message_id}': {
        const index = messages.findIndex((m) => m.id === p['message_id'] && m.channel_id === p['channel_id']);
        if (index === -1) return answer(404, { message: 'Unknown Message', code: 10008 });
        const message = messages[index]!;
        // Anyone may delete their own message; others' need Manage Messages.
        if (message.author.id !== bot.id && deniedChannels.has(permissionChannelOf(message.channel_id))) {
          return answer(403, { message: 'Missing Permissions', code: 50013 });
        }
        messages.splice(index, 1);
        deleted.push(message);
        answer(204);
        dispatchTo('MESSAGE_DELETE', { id: message.id, channel_id: message.channel_id, ...(message.guild_id ? { guild_id: message.guild_id } : {}) });
        return;
      }
      case 'PATCH /guilds/{guild_id}/members/{user_id}': {
        const memberGuild = p['guild_id']!;
        if (!guilds.has(memberGuild)) return answer(404, { message: 'Unknown Guild', code: 10004 });
        const userId = p['user_id']!;
        const until = json['communication_disabled_until'];
        if (typeof until === 'string') {
          const at = Date.parse(until);
          if (Number.isNaN(at) || at > Date.now() + MAX_TIMEOUT_MS) {
            violations.push(`PATCH /guilds/{guild_id}/members/{user_id}: communication_disabled_until ${until} is not within 28 days`);
            return answer(400, formError({ communication_disabled_until: { _errors: [{ code: 'BASE_TYPE_BAD_TIME', message: 'Timeouts can be at most 28 days.' }] } }));
          }
        }
        // Discord never lets a bot time out the owner, itself, or anyone without Moderate Members.
        if ('communication_disabled_until' in json && (denyModerateMembers || userId === ownerId || userId === bot.id)) {
          return answer(403, { message: 'Missing Permissions', code: 50013 });
        }
        const header = req.headers['x-audit-log-reason'];
        const reason = typeof header === 'string' ? decodeURIComponent(header) : undefined;
        if ('communication_disabled_until' in json) {
          timeouts.push({ guildId: memberGuild, userId, until: typeof until === 'string' ? until : null, ...(reason === undefined ? {} : { reason }) });
        }
        answer(200, {
          user: user({ id: userId }),
          roles: [],
          joined_at: new Date().toISOString(),
          deaf: false,
          mute: false,
          flags: 0,
          communication_disabled_until: typeof until === 'string' ? until : null,
        });
        return;
      }
      case 'POST /channels/{channel_id}/typing':
        answer(204);
        return;
      case 'PUT /applications/{application_id}/commands':
      case 'PUT /applications/{application_id}/guilds/{guild_id}/commands': {
        const commands = (Array.isArray(body) ? body : []) as Record<string, unknown>[];
        const refused = commands.map(commandProblem).find((problem) => problem !== undefined);
        if (refused) {
          violations.push(`${method} ${route.template}: ${refused}`);
          return answer(400, formError({ _errors: [{ code: 'APPLICATION_COMMAND_INVALID', message: refused }] }));
        }
        answer(
          200,
          commands.map((c) => ({
            ...c,
            id: snowflake(),
            application_id: applicationId,
            version: snowflake(),
            // Discord answers with the bit set as a string, whichever form it was given.
            default_member_permissions: c['default_member_permissions'] == null ? null : String(c['default_member_permissions']),
            type: c['type'] ?? 1,
            ...(p['guild_id'] ? { guild_id: p['guild_id'] } : {}),
          })),
        );
        return;
      }
      case 'POST /interactions/{interaction_id}/{interaction_token}/callback': {
        const interaction = interactions.get(p['interaction_token']!);
        if (!interaction || interaction.id !== p['interaction_id']) return answer(404, { message: 'Unknown interaction', code: 10062 });
        if (interaction.acknowledged) return answer(400, { message: 'Interaction has already been acknowledged.', code: 40060 });
        interaction.acknowledged = true;
        if (json['type'] === 4) createBotMessage(interaction.channelId, (json['data'] ?? {}) as Record<string, unknown>, p['interaction_token']);
        answer(204);
        return;
      }
      case 'PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original': {
        const interaction = interactions.get(p['webhook_token']!);
        if (!interaction || p['webhook_id'] !== applicationId) return answer(404, { message: 'Unknown Webhook', code: 10015 });
        if (!interaction.acknowledged) return answer(404, { message: 'Unknown Message', code: 10008 });
        let original = messages.find((m) => m.interactionToken === p['webhook_token']);
        // A deferred response has no message until its first edit.
        if (!original) original = createBotMessage(interaction.channelId, json, p['webhook_token'], uploads.uploads);
        else editMessage(original, json, uploads.uploads);
        answer(200, toWire(original));
        return;
      }
      case 'PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}': {
        const message = messages.find((m) => m.id === p['message_id'] && m.interactionToken === p['webhook_token']);
        if (!message) return answer(404, { message: 'Unknown Message', code: 10008 });
        editMessage(message, json, uploads.uploads);
        answer(200, toWire(message));
        return;
      }
      case 'POST /webhooks/{webhook_id}/{webhook_token}': {
        const interaction = interactions.get(p['webhook_token']!);
        if (!interaction || p['webhook_id'] !== applicationId) return answer(404, { message: 'Unknown Webhook', code: 10015 });
        answer(200, toWire(createBotMessage(interaction.channelId, json, p['webhook_token'], uploads.uploads)));
        return;
      }
      default:
        answer(404, { message: '404: Not Found', code: 0 });
    }
  }

  /**
   * Pairs `payload_json.attachments` with the file parts: an entry with id `n` names part
   * `files[n]` (its `filename` wins), or, in an edit, an attachment the message already
   * has. A file part no entry names is attached under its own name, as Discord does.
   */
  function matchUploads(
    method: string,
    template: string,
    body: unknown,
    parts: readonly Upload[],
  ): { ok: true; uploads: Upload[] } | { ok: false; problem: string } {
    const listed = ((body as { attachments?: unknown } | undefined)?.attachments ?? []) as Array<{ id?: unknown; filename?: unknown }>;
    const editing = method === 'PATCH';
    const existing = new Set(messages.flatMap((m) => m.attachments.map((a) => a.id)));
    const named = new Set<string>();
    const uploads: Upload[] = [];
    for (const entry of Array.isArray(listed) ? listed : []) {
      const id = String(entry.id);
      const part = parts.find((f) => f.field === `files[${id}]`);
      if (part) {
        named.add(part.field);
        uploads.push(typeof entry.filename === 'string' ? { ...part, filename: entry.filename } : part);
      } else if (!(editing && existing.has(id))) {
        return { ok: false, problem: `${method} ${template}: attachments[] names id ${id}, but no files[${id}] part was sent` };
      }
    }
    return { ok: true, uploads: [...uploads, ...parts.filter((f) => !named.has(f.field))] };
  }

  /** The CDN: a registered file for a correctly signed URL; 404 otherwise, as Discord's CDN answers. */
  function serveCdn(url: URL, res: ServerResponse): void {
    const file = cdn.get(url.pathname);
    const status = file !== undefined && url.searchParams.get('hm') === file.hm ? 200 : 404;
    downloads.push({ path: url.pathname, status });
    if (status !== 200 || file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('This content is no longer available.');
    } else {
      res.writeHead(200, { 'content-type': file.contentType ?? 'application/octet-stream', 'content-length': String(file.bytes.length) }).end(file.bytes);
    }
    notify();
  }

  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as AddressInfo).port;

  const describe = (): string =>
    JSON.stringify({
      requests: requests.slice(-20).map((r) => `${r.method} ${r.path} → ${r.status}`),
      botMessages: messages.filter((m) => m.author.id === bot.id).map((m) => [m.channel_id, m.content.slice(0, 60)]),
      violations,
    });

  /** Dispatches an application command interaction (type 2) in `channel`, with `data` as given; returns its id and token. */
  function interact(o: { roles?: readonly string[]; author?: Partial<DiscordUser> }, channel: string, data: Record<string, unknown>): { id: string; token: string } {
    const author = user(o.author);
    const id = snowflake();
    const interactionToken = `itoken-${randomBytes(24).toString('hex')}`;
    const guild = guildOf(channel) ?? guildId;
    const permissions = String(permissionsOf(author.id, o.roles, guild));
    interactions.set(interactionToken, { id, channelId: channel, acknowledged: false });
    dispatchTo('INTERACTION_CREATE', {
      id,
      application_id: applicationId,
      type: 2,
      token: interactionToken,
      version: 1,
      guild_id: guild,
      guild: { id: guild, locale: 'en-US', features: [] },
      channel_id: channel,
      channel: { id: channel, type: channelTypeOf(channel), guild_id: guild, name: 'general' },
      member: { user: author, roles: [...(o.roles ?? [])], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0, permissions },
      app_permissions: String(EVERYONE_PERMISSIONS | MANAGE_MESSAGES),
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guild },
      context: 0,
      attachment_size_limit: 10_485_760,
      data: { id: snowflake(), guild_id: guild, ...data },
    });
    return { id, token: interactionToken };
  }

  const fake: FakeDiscord = {
    apiUrl: `http://${HOST}:${port}/api`,
    gatewayUrl: `ws://${HOST}:${port}/gateway`,
    token,
    bot,
    applicationId,
    guildId,
    channelId,
    secondGuildId,
    secondGuildChannelId,
    botThreadId,
    userThreadId,
    otherChannelId,
    modLogChannelId,
    moderatorRoleId,
    ownerId,
    requests,
    deleted,
    timeouts,
    denyBot(permission, channel) {
      if (permission === 'moderateMembers') denyModerateMembers = true;
      else deniedChannels.add(channel ?? channelId);
    },
    violations,
    messages,
    cdnHost: `${HOST}:${port}`,
    downloads,
    registerAttachment(bytes, o) {
      const data = Buffer.from(bytes);
      const { id, url } = putOnCdn(o.channelId ?? channelId, data, o.name, o.contentType);
      return {
        id,
        filename: o.name,
        size: o.size ?? data.length,
        url,
        proxy_url: url,
        ...(o.contentType ? { content_type: o.contentType } : {}),
        ...(o.voice ? { duration_secs: o.voice.durationSecs, waveform: waveformOf(data) } : {}),
      };
    },
    sessions,
    liveShards: () =>
      [...sessionOf.values()]
        .map((session): [number, number] => [session.shard[0], session.shard[1]])
        .sort((a, b) => a[1] - b[1] || a[0] - b[0]),
    get sequence() {
      return lastSequence;
    },
    whenReady: (timeoutMs) => fake.waitFor(() => ready, timeoutMs),
    userMessage(o) {
      const author = user(o.author);
      const dm = o.dm === true;
      const channel = dm ? `4${author.id.slice(1)}` : (o.channelId ?? channelId);
      const mentions = o.mentionBot ? [bot] : [];
      if (o.replyTo && o.replyPing !== false) mentions.push(o.replyTo.author);
      const content = o.mentionBot ? `<@${bot.id}> ${o.content}` : o.content;
      const message: FakeMessage = {
        id: o.id ?? snowflake(),
        channel_id: channel,
        ...(dm ? {} : { guild_id: guildOf(channel) ?? guildId }),
        author,
        content,
        versions: [content],
        ...(o.replyTo ? { message_reference: { message_id: o.replyTo.id } } : {}),
        attachments: [...(o.attachments ?? [])],
        ...(o.voice ? { flags: VOICE_MESSAGE_FLAG } : {}),
        createdAt: Date.now(),
        memberRoles: [...(o.roles ?? [])],
        mentions,
      };
      messages.push(message);
      if (o.replyTo) referenced.set(message.id, o.replyTo);
      const payload = userPayload(message);
      dispatchTo('MESSAGE_CREATE', payload);
      return payload;
    },
    editUserMessage(messageId, content) {
      const message = messages.find((m) => m.id === messageId && m.author.id !== bot.id);
      if (!message) throw new Error(`fake Discord: no user message ${messageId} to edit`);
      // A mention stays a mention: the edit keeps the message's `<@bot>` prefix if it had one.
      const mentionsBot = (message.mentions ?? []).some((m) => m.id === bot.id);
      message.content = mentionsBot ? `<@${bot.id}> ${content}` : content;
      message.versions.push(message.content);
      // Strictly later than any earlier edit, so each edit has its own edited_timestamp.
      message.editedAt = Math.max(Date.now(), (message.editedAt ?? 0) + 1);
      const payload = userPayload(message);
      dispatchTo('MESSAGE_UPDATE', payload);
      return payload;
    },
    slashCommand(o) {
      const strings = o.options ? Object.entries(o.options).map(([name, value]) => ({ name, type: 3, value })) : [];
      // ATTACHMENT options (type 11) carry the attachment's id; the attachment itself is resolved data.
      const files = Object.entries(o.attachments ?? {}).map(([name, attachment]) => ({ name, type: 11, value: attachment.id }));
      const options = strings.length + files.length > 0 ? [...strings, ...files] : undefined;
      const resolved = o.attachments ? { resolved: { attachments: Object.fromEntries(Object.values(o.attachments).map((a) => [a.id, a])) } } : {};
      return interact(o, o.channelId ?? channelId, {
        name: o.name,
        type: 1,
        ...(o.subcommand !== undefined
          ? { options: [{ name: o.subcommand, type: 1, ...(options ? { options } : {}) }] }
          : options
            ? { options }
            : {}),
        ...resolved,
      });
    },
    messageCommand(o) {
      // https://discord.com/developers/docs/interactions/application-commands#message-commands
      const targetId = String(o.target['id']);
      return interact(o, String(o.target['channel_id']), { name: o.name, type: 3, target_id: targetId, resolved: { messages: { [targetId]: o.target } } });
    },
    dispatch: (t, d) => dispatchTo(t, d),
    dropConnection() {
      for (const socket of sockets) socket.close(4000, 'Unknown error');
    },
    replayOnResume(fromSeq) {
      replayFrom = fromSeq;
    },
    enqueueRateLimit(fault) {
      faults.push({ ...fault });
    },
    botMessages({ channelId: channel, interactionToken }) {
      return messages.filter(
        (m) => m.author.id === bot.id && (channel === undefined || m.channel_id === channel) && (interactionToken === undefined || m.interactionToken === interactionToken),
      );
    },
    requestsTo: (method, route) => requests.filter((r) => r.method === method && r.route === route),
    waitFor(predicate, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!predicate()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake Discord: timed out waiting; ${describe()}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    reset() {
      requests.length = 0;
      violations.length = 0;
      messages.length = 0;
      downloads.length = 0;
      sessions.length = 0;
      faults.length = 0;
      deleted.length = 0;
      timeouts.length = 0;
      referenced.clear();
      deniedChannels.clear();
      denyModerateMembers = false;
      ready = false;
      // Sessions whose client went away without resuming would only pile up their logs.
      for (const [id, session] of gatewaySessions) if (!session.socket) gatewaySessions.delete(id);
    },
    async stop() {
      for (const socket of sockets) socket.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

/**
 * Discord's rules on a command that the spec's schema cannot state: a slash command's
 * name is lower case and its description 1-100 characters; a user or message
 * context-menu command (type 2, 3) has no description and no options, and its name may
 * have capitals and spaces.
 * https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-naming
 */
function commandProblem(command: Record<string, unknown>): string | undefined {
  const name = String(command['name'] ?? '');
  const type = command['type'] ?? 1;
  if (type === 2 || type === 3) {
    if (typeof command['description'] === 'string' && command['description'] !== '') return `${name}: a context-menu command has no description`;
    if (command['options'] !== undefined) return `${name}: a context-menu command has no options`;
    return /^[\p{L}\p{N} _-]{1,32}$/u.test(name) ? undefined : `${name}: not a valid context-menu command name`;
  }
  if (!/^[-_\p{Ll}\p{N}]{1,32}$/u.test(name)) return `${name}: a slash command's name is 1-32 lower-case letters, digits, - or _`;
  const description = command['description'];
  return typeof description === 'string' && description.length >= 1 && description.length <= 100 ? undefined : `${name}: a slash command needs a description of 1-100 characters`;
}

/** A file part of a multipart request. */
interface Upload {
  /** The form field, e.g. `files[0]`. */
  readonly field: string;
  readonly filename: string;
  readonly contentType?: string;
  readonly data: Buffer;
}

/** A voice message's waveform: up to 256 one-byte samples, base64, as Discord's clients make. */
function waveformOf(bytes: Buffer): string {
  const samples = Math.min(256, Math.max(1, bytes.length));
  const step = Math.max(1, Math.floor(bytes.length / samples));
  return Buffer.from(Array.from({ length: samples }, (_, i) => bytes[i * step] ?? 0)).toString('base64');
}
