/**
 * The Discord gateway side: a discord.js client that turns each message, each slash
 * command and each message context-menu command into one InboundMessage, asks
 * routeInbound which job it needs (chat, transcribe for a voice message or audio file,
 * image for /imagine, picture for /imagine with an image and /vary, translate, or none) and
 * enqueues it with a deterministic id, so a MESSAGE_CREATE seen twice (a resume replays
 * it, or a second gateway process sees it) makes one job. In a moderated channel every
 * message with text, addressed or not, and every edit of one (MESSAGE_UPDATE) also gets a
 * `moderate` job. It does no AI work; the workers answer through the Discord Outbox.
 *
 * Sharding: the client holds the shards DISCORD_SHARDS and DISCORD_SHARD_IDS give it (all of
 * Discord's recommendation by default); Discord sends each guild's events on one shard only,
 * so gateway processes that split the shards split the guilds, and two processes holding
 * the same shard still make one job per message (the job id).
 * https://discord.com/developers/docs/events/gateway
 * https://discord.com/developers/docs/events/gateway#sharding
 * https://discord.com/developers/docs/events/gateway-events#message-update
 */
import { Client, Events, GatewayIntentBits, Options, Partials, Routes, type Interaction, type Message, type PartialMessage } from 'discord.js';
import type { ChatRef, InboundMessage } from '../../src/domain/inbound-message.js';
import { moderationRoute, routeInbound, type Route } from '../../src/domain/routing.js';
import type { JobQueue, Logger, RateLimiter, Tracer } from '../../src/ports/index.js';
import { SLASH_COMMANDS } from './discord.commands.js';
import { toDiscordError } from './discord.errors.js';
import { globalLimit } from './discord.limits.js';
import { inboundFromCommand, inboundFromMessage } from './discord.inbound.js';
import { createReferencedMessages } from './discord.referenced.js';
import { noPings } from './discord.outbox.js';
import { registersCommands, shardOptions, whenShardsReady, type ShardSetting } from './discord.shards.js';

/** How long start-up waits for the next shard's READY and guilds before giving up. */
const SHARD_READY_TIMEOUT_MS = 30_000;
/** The spans of a message, an edit and a command: where their traces start. */
const MESSAGE_SPAN = 'discord message';
const EDIT_SPAN = 'discord edit';
const COMMAND_SPAN = 'discord command';
/** What the bot says when the queue (Redis) is unreachable; the playground says the same. */
const UNAVAILABLE_TEXT = 'The bot is temporarily unavailable. Try again in a moment.';

/** What the Discord gateway needs. */
export interface DiscordGatewayDeps {
  readonly token: string;
  /** REST base (DISCORD_API_URL); the gateway URL comes from its `/gateway/bot`. */
  readonly apiUrl: string;
  /** Guilds to register slash commands in; empty: register them globally. */
  readonly guildIds: readonly string[];
  /** DISCORD_SHARDS and DISCORD_SHARD_IDS: the shards this process holds. */
  readonly sharding: ShardSetting;
  readonly queue: JobQueue;
  /** The limiter the Outboxes share, so the gateway's few REST calls count against the bot's global limit too. */
  readonly rateLimiter: RateLimiter;
  /** The bot token's global limit (DISCORD_REQUESTS_PER_SECOND): Discord's 50 a second unless Discord raised the bot's. */
  readonly requestsPerSecond: number;
  /** TRANSCRIBE_ALL_VOICE: transcribe every voice message in servers, not only those addressed to the bot. */
  readonly transcribeAllVoice: boolean;
  /** Whether a channel is under community moderation (its `/moderation` switch, else MODERATED_CHANNELS); cached by the caller. */
  readonly isModerated: (chat: Pick<ChatRef, 'platform' | 'id'>) => Promise<boolean>;
  readonly log: Logger;
  /** Opens each event's span (a no-op without tracing). */
  readonly tracer: Tracer;
}

/** Users (and members) discord.js keeps at most; the bot's own is always kept. */
const CACHED_USERS = 1_000;
/** How often cached DM channels are dropped. */
const DM_SWEEP_INTERVAL_MS = 60_000;

/** A connected gateway. */
export interface DiscordGateway {
  /** The bot's user id, from READY. */
  readonly botId: string;
  close(): Promise<void>;
}

/** Connects to the gateway, registers the slash commands and starts taking messages. */
export async function startDiscordGateway(deps: DiscordGatewayDeps): Promise<DiscordGateway> {
  const log = deps.log.child({ platform: 'discord' });
  const global = globalLimit(deps.token, deps.requestsPerSecond);
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent],
    ...shardOptions(deps.sharding),
    // DM channels are not cached before their first message; partials let those messages
    // through. Messages are never cached (below), so an edit arrives only as a partial one.
    partials: [Partials.Channel, Partials.Message],
    rest: { api: deps.apiUrl, globalRequestsPerSecond: global.max },
    // We never read old messages back; without a message cache a replayed MESSAGE_CREATE
    // reaches us again and the queue's dedupe, shared by every process, decides. Users and
    // members matter only while their message becomes a job (replies go by REST, by id):
    // bounded, so a server of 50,000 members does not grow the heap by every writer.
    makeCache: Options.cacheWithLimits({
      ...Options.DefaultMakeCacheSettings,
      MessageManager: 0,
      UserManager: { maxSize: CACHED_USERS, keepOverLimit: (user) => user.id === user.client.user.id },
      GuildMemberManager: { maxSize: CACHED_USERS, keepOverLimit: (member) => member.id === member.client.user.id },
    }),
    allowedMentions: { parse: [], repliedUser: false },
  });

  const routing = { transcribeAllVoice: deps.transcribeAllVoice };
  const enqueue = async (route: Route): Promise<void> => {
    const result = await deps.queue.enqueue(route.kind, route.payload, { jobId: route.jobId });
    log.debug({ jobId: result.jobId, kind: route.kind, duplicate: result.duplicate }, result.duplicate ? 'message already queued' : 'message queued');
  };

  /** The moderate job of a message in a moderated channel; a Redis hiccup costs that check, never the chat. */
  const moderation = async (inbound: InboundMessage, edit?: number): Promise<Route | undefined> => {
    const route = moderationRoute(inbound, edit);
    if (!route) return undefined;
    try {
      return (await deps.isModerated(inbound.chat)) ? route : undefined;
    } catch (error) {
      log.warn({ err: error, channelId: inbound.chat.id }, 'could not tell whether a channel is moderated; this message is not checked');
      return undefined;
    }
  };
  const enqueueModeration = async (route: Route | undefined): Promise<void> => {
    if (!route) return;
    await enqueue(route).catch((error: unknown) => log.error({ err: error, jobId: route.jobId }, 'could not queue a moderation check'));
  };

  /** Runs an event's work, which reports its own failures, in the event's span. */
  const traced = (name: string, inbound: InboundMessage, work: () => Promise<void>): void => {
    void deps.tracer
      .inSpan(name, async (span) => {
        span.setAttribute('switchboard.platform', 'discord');
        span.setAttribute('switchboard.chat.id', inbound.chat.id);
        span.setAttribute('switchboard.message.id', inbound.messageId);
        await work();
      })
      .catch((error: unknown) => log.warn({ err: error, event: name }, 'could not handle a discord event'));
  };

  /**
   * Runs a listener's body. An event it cannot read is logged and skipped: thrown, it would
   * go back into discord.js's packet handler and end as an unhandled rejection.
   */
  const guarded = (event: string, id: unknown, body: () => void): void => {
    try {
      body();
    } catch (error) {
      log.warn({ err: error, event, id: String(id) }, 'could not read a discord event; skipped');
    }
  };

  // The message a reply points at comes whole in the reply's raw dispatch; discord.js keeps no messages.
  const referenced = createReferencedMessages();
  client.on(Events.Raw, (packet: { t?: unknown; d?: unknown }) => referenced.note(packet));

  client.on(Events.MessageCreate, (message: Message) => guarded('MESSAGE_CREATE', message.id, () => {
    const botId = client.user?.id;
    if (botId === undefined) return;
    const inbound = inboundFromMessage(message, botId, referenced.take(message.id, botId));
    if (!inbound) {
      log.debug({ messageId: String(message.id) }, 'discord message not for the bot');
      return;
    }
    const route = routeInbound(inbound, routing);
    traced(MESSAGE_SPAN, inbound, async () => {
      // Side by side: the moderation check never delays the answer.
      const checked = moderation(inbound).then(enqueueModeration);
      if (!route) {
        log.debug({ messageId: message.id }, 'discord message needs no job');
        return checked;
      }
      await enqueue(route).catch(async (error: unknown) => {
        log.error({ err: error, messageId: message.id }, 'could not queue a discord message');
        // Say so rather than leave the user waiting; best effort, Discord may be the problem too.
        const body = { content: UNAVAILABLE_TEXT, message_reference: { message_id: message.id, fail_if_not_exists: false }, allowed_mentions: noPings() };
        await client.rest
          .post(Routes.channelMessages(message.channelId), { body })
          .catch((refused: unknown) => log.warn({ err: toDiscordError(refused, 'POST /channels/:id/messages') }, 'could not tell the user the bot is unavailable'));
      });
      await checked;
    });
  }));

  // An edit is only checked, never answered: the chat saw the message once. Discord also
  // sends MESSAGE_UPDATE when it adds link embeds; only a content edit sets edited_timestamp,
  // and each edit gets its own job id from it (editJobId, src/domain), so a replayed edit is
  // checked once.
  client.on(Events.MessageUpdate, (_old: Message | PartialMessage, message: Message | PartialMessage) => guarded('MESSAGE_UPDATE', message.id, () => {
    const botId = client.user?.id;
    if (botId === undefined || message.partial || message.editedTimestamp === null || !message.inGuild()) {
      log.debug({ messageId: String(message.id) }, 'discord edit needs no check');
      return;
    }
    const inbound = inboundFromMessage(message, botId);
    if (!inbound) {
      log.debug({ messageId: String(message.id) }, 'discord edit needs no check');
      return;
    }
    const edited = message.editedTimestamp;
    traced(EDIT_SPAN, inbound, async () => {
      const route = await moderation(inbound, edited);
      if (!route) log.debug({ messageId: message.id }, 'discord edit needs no check');
      else await enqueueModeration(route);
    });
  }));

  client.on(Events.InteractionCreate, (interaction: Interaction) => guarded('INTERACTION_CREATE', interaction.id, () => {
    // Slash commands, and the message context-menu commands ("Translate", "Vary").
    if (!interaction.isChatInputCommand() && !interaction.isMessageContextMenuCommand()) {
      log.debug({ interactionId: String(interaction.id) }, 'discord interaction not for the bot');
      return;
    }
    const inbound = inboundFromCommand(interaction);
    const route = inbound && routeInbound(inbound, routing);
    if (!route) {
      log.debug({ interactionId: String(interaction.id) }, 'discord interaction not for the bot');
      return;
    }
    traced(COMMAND_SPAN, inbound, async () => {
      try {
        // Discord gives an interaction 3 seconds; deferring first means the queue never races
        // that. The deferral is counted against the shared limit but never waits for it.
        void deps.rateLimiter.tryAcquire([global]).catch(() => undefined);
        await interaction.deferReply();
        try {
          await enqueue(route);
        } catch (error) {
          log.error({ err: error, interactionId: interaction.id }, 'could not queue a slash command');
          await interaction.editReply({ content: UNAVAILABLE_TEXT, allowedMentions: noPings() });
        }
      } catch (error) {
        // Mapped: discord.js's own error carries the callback URL, which embeds the interaction token.
        log.warn({ err: toDiscordError(error, 'interaction response'), interactionId: interaction.id }, 'could not answer a slash command');
      }
    });
  }));

  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));
  client.on(Events.Warn, (message) => log.warn({ detail: message }, 'discord client warning'));
  client.on(Events.ShardReady, (shard) => log.info({ shard, shardCount: client.options.shardCount }, 'discord shard ready'));
  client.on(Events.ShardResume, (shard, replayed) => log.info({ shard, replayed }, 'discord gateway resumed'));
  client.on(Events.ShardDisconnect, (event, shard) => log.warn({ shard, code: event.code }, 'discord gateway disconnected'));

  try {
    // READY comes after login resolves, once every guild has arrived.
    await Promise.all([whenShardsReady(client, SHARD_READY_TIMEOUT_MS), client.login(deps.token)]);
  } catch (error) {
    await client.destroy();
    throw new Error(`Discord gateway did not get ready: ${error instanceof Error ? error.message : String(error)}`);
  }
  const botId = client.user!.id;
  const applicationId = client.application?.id ?? botId;
  if (registersCommands(deps.sharding)) {
    try {
      await registerCommands(client, applicationId, deps.guildIds, () => deps.rateLimiter.acquire([global]));
    } catch (error) {
      // Messages still work; the commands keep their last registration.
      log.error({ err: toDiscordError(error, 'PUT commands') }, 'could not register discord slash commands');
    }
  }
  const shards = [...client.ws.shards.keys()];
  log.info({ botId, guilds: client.guilds.cache.size, shards, shardCount: client.options.shardCount }, 'discord gateway ready');
  // discord.js cannot bound its channel cache, and it keeps a DM channel for every user who
  // ever wrote; a swept one comes back (as a partial) with its next message.
  const sweeper = setInterval(() => client.channels.cache.sweep((channel) => channel.isDMBased()), DM_SWEEP_INTERVAL_MS).unref();

  return {
    botId,
    close: async () => {
      clearInterval(sweeper);
      await client.destroy();
    },
  };
}

/** Bulk-overwrites the slash commands, globally or per guild. */
async function registerCommands(client: Client, applicationId: string, guildIds: readonly string[], acquire: () => Promise<void>): Promise<void> {
  const routes = guildIds.length === 0 ? [Routes.applicationCommands(applicationId)] : guildIds.map((id) => Routes.applicationGuildCommands(applicationId, id));
  for (const route of routes) {
    await acquire();
    await client.rest.put(route, { body: SLASH_COMMANDS });
  }
}
