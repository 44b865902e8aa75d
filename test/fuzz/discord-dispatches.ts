/**
 * Random Discord gateway dispatches for the fuzz test: MESSAGE_CREATE in guild channels,
 * threads and DMs with odd contents, attachments of wrong types, sizes and URLs, voice
 * flags and system types; MESSAGE_UPDATE edits; INTERACTION_CREATE with unknown types and
 * commands and options of the wrong types; events the bot never asked for; and messages
 * with fields missing or of the wrong type. Shapes:
 * https://discord.com/developers/docs/events/gateway-events#message-create
 * https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
 */
import type { Random } from '../support/prng.js';
import { oddText, randomJson, wrongValue } from './fuzz-support.js';

/** What the generator needs of the fake Discord. */
export interface FuzzGuild {
  readonly botId: string;
  readonly applicationId: string;
  readonly guildId: string;
  readonly channelIds: readonly string[];
  readonly threadIds: readonly string[];
  readonly cdnBase: string;
}

/** What a generated dispatch is, for the tally in the test's report. */
export type DispatchKind =
  | 'dm-plain'
  | 'dm-odd'
  | 'mention'
  | 'chatter'
  | 'thread'
  | 'attachments'
  | 'bot-author'
  | 'system-type'
  | 'broken-message'
  | 'edit'
  | 'interaction'
  | 'other-event';

/** One generated dispatch, and what must become of it. */
export interface FuzzDispatch {
  readonly kind: DispatchKind;
  readonly t: string;
  readonly d: Record<string, unknown>;
  /** The message or interaction id, as the job id would carry it. */
  readonly id: string;
  /** The channel the job id would carry. */
  readonly channelId: string;
  /** `job`: a plain message the bot must take; `skip`: must never make a job; `any`: either. */
  readonly expect: 'job' | 'skip' | 'any';
  /**
   * Well-formed where discord.js reads it, so discord.js hands it to the bot's listener,
   * which must then make a job or log why not. Broken ones may be dropped by discord.js
   * first (a channel it does not know, an interaction type it has no class for).
   */
  readonly reaches: boolean;
}

/**
 * Mostly events the bot must skip: what it answers in a server channel it may post there
 * only about once a second (Discord's per-channel limit, which the Outbox keeps), so
 * answers there are kept to a few dozen, and answers in DMs to a few hundred.
 */
const WEIGHTS: Readonly<Record<DispatchKind, number>> = {
  'dm-plain': 0.2,
  'dm-odd': 0.3,
  mention: 0.1,
  chatter: 20,
  thread: 3,
  attachments: 8,
  'bot-author': 6,
  'system-type': 6,
  'broken-message': 22,
  edit: 10,
  interaction: 10,
  'other-event': 12,
};

/** Events the client receives but the bot never acts on, and some Discord never sent. */
const OTHER_EVENTS = [
  'TYPING_START',
  'PRESENCE_UPDATE',
  'MESSAGE_REACTION_ADD',
  'MESSAGE_REACTION_REMOVE',
  'MESSAGE_DELETE',
  'MESSAGE_DELETE_BULK',
  'MESSAGE_POLL_VOTE_ADD',
  'CHANNEL_PINS_UPDATE',
  'GUILD_MEMBER_UPDATE',
  'VOICE_STATE_UPDATE',
  'INTEGRATION_UPDATE',
  'X_FUTURE_EVENT',
  'message_create',
  '',
];

const CONTENT_TYPES = ['audio/ogg', 'audio/mpeg', 'image/png', 'image/svg+xml', 'text/html', 'application/x-msdownload', 'video/mp4', '', 'AUDIO/OGG; codecs=opus', 'audio/'];
const URLS = ['file:///etc/passwd', 'http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:1/x', 'javascript:alert(1)', 'not a url', 'https://cdn.discordapp.com/attachments/1/2/a.ogg'];
const SIZES = [0, 1, 24 * 1024 * 1024, 25 * 1024 * 1024 + 1, 2 ** 40, -1, 1.5];

/** Draws one dispatch numbered `n`; `dmChannels` spreads DMs over that many channels. */
export function discordDispatch(random: Random, n: number, guild: FuzzGuild, dmChannels = 200): FuzzDispatch {
  const kind = random.weighted(WEIGHTS);
  const id = (1_300_000_000_000_000_000n + BigInt(n)).toString();
  const author = { id: `2000000000000${String(random.int(10_000, 10_040))}`, username: `user${random.int(1, 40)}`, global_name: random.chance(0.8) ? `User ${n % 40}` : oddText(random), discriminator: '0', avatar: null };
  const dmChannel = (1_100_000_000_000_000_000n + BigInt(random.int(1, dmChannels))).toString();
  // The first channel is plain; the others (moderated) get a job for every message: fewer there.
  const guildChannel = random.chance(0.9) ? guild.channelIds[0]! : random.pick(guild.channelIds);
  const mention = `<@${guild.botId}>`;
  const message = (channelId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => {
    const dm = channelId === dmChannel;
    return {
      id,
      type: 0,
      channel_id: channelId,
      ...(dm ? { channel_type: 1 } : { guild_id: guild.guildId, channel_type: guild.threadIds.includes(channelId) ? 11 : 0, member: { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 } }),
      author,
      content: oddText(random),
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      flags: 0,
      components: [],
      ...extra,
    };
  };
  const create = (expect: FuzzDispatch['expect'], d: Record<string, unknown>): FuzzDispatch => ({ kind, t: 'MESSAGE_CREATE', d, id, channelId: String(d['channel_id']), expect, reaches: true });
  const botMention = { mentions: [{ id: guild.botId, username: 'switchboard', global_name: 'Switchboard', discriminator: '0', avatar: null, bot: true }] };

  switch (kind) {
    case 'dm-plain': {
      // A DM channel and an author of its own: discord.js caches channels and users as first
      // seen and patches them, so a broken message before (a voice channel's channel_type, an
      // author with bot: true) would change what a later plain one reads as.
      const own = (1_200_000_000_000_000_000n + BigInt(n)).toString();
      const person = { ...author, id: (210_000_000_000_000_000n + BigInt(n)).toString() };
      return create('job', message(dmChannel, { channel_id: own, author: person, content: `plain question ${n}` }));
    }
    case 'dm-odd':
      return create('any', message(dmChannel));
    case 'mention':
      return create('any', message(guildChannel, { content: `${mention} ${oddText(random)}`, ...botMention }));
    case 'chatter':
      return create('skip', message(guildChannel, { content: oddText(random).replaceAll('<@', '<') }));
    case 'thread':
      // The bot's own thread addresses it; the user's does not.
      return create('any', message(random.chance(0.02) ? guild.threadIds[0]! : guild.threadIds[1]!));
    case 'attachments': {
      const attachments = Array.from({ length: random.int(0, 3) }, () => attachment(random, guild, n));
      const voice = random.chance(0.4) ? { flags: random.pick([8192, 8192 | 4]) } : {};
      const where = random.chance(0.05) ? dmChannel : guildChannel;
      return create('any', message(where, { attachments, ...voice, ...(where === guildChannel && random.chance(0.01) ? botMention : {}) }));
    }
    case 'bot-author':
      return create('skip', message(random.chance(0.5) ? dmChannel : guildChannel, { author: { ...author, id: random.pick([guild.botId, '200000000000000777']), bot: true }, content: `${mention} ${oddText(random)}`, ...botMention }));
    case 'system-type':
      return create('skip', message(random.chance(0.5) ? dmChannel : guildChannel, { type: random.pick([1, 6, 7, 8, 18, 20, 21, 46, 999, -1]), content: `${mention} hi`, ...botMention }));
    case 'broken-message': {
      // DMs on channels of their own: a channel_type they break would stay in discord.js's cache.
      const own = (1_150_000_000_000_000_000n + BigInt(n)).toString();
      const d = breakFields(random, message(random.chance(0.03) ? dmChannel : guildChannel, random.chance(0.005) ? { content: `${mention} ${oddText(random)}`, ...botMention } : {}));
      if (d['channel_id'] === dmChannel) d['channel_id'] = own;
      return { kind, t: 'MESSAGE_CREATE', d, id, channelId: String(d['channel_id']), expect: 'any', reaches: false };
    }
    case 'edit': {
      const d = message(guildChannel, { edited_timestamp: random.chance(0.8) ? new Date().toISOString() : wrongValue(random) });
      const broken = random.chance(0.4);
      return { kind, t: 'MESSAGE_UPDATE', d: broken ? breakFields(random, d) : d, id, channelId: guildChannel, expect: 'any', reaches: !broken };
    }
    case 'interaction': {
      const d = interaction(random, guild, id, guildChannel, author);
      // A slash command with its ids intact; discord.js has no class for other types and drops them.
      const plain = d['type'] === 2 && (d['data'] as Record<string, unknown>)['type'] === 1 && d['id'] === id && typeof d['token'] === 'string' && d['channel_id'] === guildChannel;
      return { kind, t: 'INTERACTION_CREATE', d, id, channelId: guildChannel, expect: 'any', reaches: plain };
    }
    case 'other-event': {
      const t = random.pick(OTHER_EVENTS);
      // Well-formed where discord.js reads the event (it is not the bot's to parse), with unknown fields added.
      const known: Record<string, Record<string, unknown>> = {
        TYPING_START: { channel_id: guildChannel, guild_id: guild.guildId, user_id: author.id, timestamp: 1 },
        PRESENCE_UPDATE: { user: { id: author.id }, guild_id: guild.guildId, status: 'online', activities: [] },
        MESSAGE_REACTION_ADD: { user_id: author.id, channel_id: guildChannel, message_id: id, guild_id: guild.guildId, emoji: { id: null, name: '👍' } },
        MESSAGE_REACTION_REMOVE: { user_id: author.id, channel_id: guildChannel, message_id: id, guild_id: guild.guildId, emoji: { id: null, name: '👍' } },
        MESSAGE_DELETE: { id, channel_id: guildChannel, guild_id: guild.guildId },
        MESSAGE_DELETE_BULK: { ids: [id], channel_id: guildChannel, guild_id: guild.guildId },
        MESSAGE_POLL_VOTE_ADD: { user_id: author.id, channel_id: guildChannel, message_id: id, guild_id: guild.guildId, answer_id: 1 },
        CHANNEL_PINS_UPDATE: { channel_id: guildChannel, guild_id: guild.guildId },
        GUILD_MEMBER_UPDATE: { guild_id: guild.guildId, user: author, roles: [] },
        VOICE_STATE_UPDATE: { guild_id: guild.guildId, channel_id: null, user_id: author.id, session_id: 'x' },
        INTEGRATION_UPDATE: { guild_id: guild.guildId, id },
      };
      const unknown = randomJson(random, 3);
      const d = { ...(known[t] ?? (typeof unknown === 'object' && unknown !== null && !Array.isArray(unknown) ? unknown : {})), junk: randomJson(random, 3), [oddText(random)]: oddText(random) };
      keepRoutable(d);
      return { kind, t, d, id, channelId: guildChannel, expect: 'skip', reaches: false };
    }
  }
}

/**
 * Fields discord.js 14 hands to the bot as they came (Message and User keep them as
 * given), each with the wrong values it survives. Fields discord.js parses itself
 * (embeds, components, stickers, polls, threads, referenced messages, message flags,
 * mention lists, member roles, a primitive where an author, member, attachment or reference object
 * belongs) are left well-formed: malformed, discord.js throws inside its own packet
 * handler, before any listener of the bot runs (an unhandled rejection from
 * @discordjs/ws; main.ts logs those), so they test discord.js, not this adapter.
 */
const MESSAGE_FIELDS: Readonly<Record<string, (random: Random) => unknown>> = {
  id: (random) => wrongPrimitive(random),
  type: (random) => random.pick([1, 7, 19, 99, -1, '0', null, undefined]),
  channel_type: (random) => random.pick([0, 1, 2, 5, 11, 15, 99, undefined]),
  channel_id: (random) => random.pick(['999999999999999999', '1', '0']),
  guild_id: (random) => random.pick([undefined, '999999999999999999']),
  author: () => undefined,
  'author.id': (random) => wrongPrimitive(random),
  'author.bot': (random) => wrongPrimitive(random),
  'author.username': (random) => wrongPrimitive(random),
  'author.global_name': (random) => wrongPrimitive(random),
  content: (random) => wrongValue(random),
  timestamp: (random) => wrongPrimitive(random),
  edited_timestamp: (random) => wrongPrimitive(random),
  member: () => undefined,
  message_reference: (random) => ({ message_id: wrongPrimitive(random), channel_id: wrongPrimitive(random) }),
  mentions: (random) => random.pick([[], [{ id: '200000000000000555', username: 'someone', global_name: null, discriminator: '0', avatar: null }]]),
};

/** A value of the wrong type that is not an object. */
function wrongPrimitive(random: Random): unknown {
  return random.pick([null, undefined, '', 'not-a-number', 'a:b:c', -1, 1.5, 2 ** 64, true, '\u0000', '12345678901234567890123']);
}

/** The message with some of MESSAGE_FIELDS removed or of the wrong type. */
function breakFields(random: Random, d: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(d);
  for (let i = random.int(1, 3); i > 0; i -= 1) {
    const path = random.pick(Object.keys(MESSAGE_FIELDS));
    const value = MESSAGE_FIELDS[path]!(random);
    const [head = '', tail] = path.split('.');
    if (tail === undefined) {
      if (value === undefined) delete out[head];
      else out[head] = value;
      continue;
    }
    const inner = out[head];
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) continue;
    const copy = { ...(inner as Record<string, unknown>) };
    if (value === undefined) delete copy[tail];
    else copy[tail] = value;
    out[head] = copy;
  }
  keepRoutable(out);
  return out;
}

/** An attachment object with a wrong type, size, URL or name. */
function attachment(random: Random, guild: FuzzGuild, n: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: `14000000000000${String(n).padStart(5, '0')}${random.int(0, 9)}`,
    filename: random.chance(0.5) ? oddText(random) : random.pick(['voice-message.ogg', 'a.mp3', 'b.png', 'c.svg', 'd.exe', 'noext']),
    size: random.pick(SIZES),
    url: random.chance(0.6) ? `${guild.cdnBase}/attachments/1/${n}/a.ogg?ex=1&is=1&hm=x` : random.pick(URLS),
    proxy_url: random.pick(URLS),
    content_type: random.pick(CONTENT_TYPES),
    ...(random.chance(0.3) ? { duration_secs: random.pick([0, 1.5, 3600, -1, 1e9]), waveform: random.pick(['AAAA', '', '!!notbase64']) } : {}),
  };
  if (random.chance(0.2)) delete out[random.pick(Object.keys(out))];
  if (random.chance(0.1)) out[random.pick(Object.keys(out))] = wrongValue(random);
  return out;
}

/**
 * An INTERACTION_CREATE: mostly slash commands with odd names and options of the wrong
 * types and values, some of kinds the bot has no use for. As for messages, what discord.js
 * parses itself (the member and user objects, the channel object, the permission bit
 * fields, context menus' `resolved`, components and modals) stays well-formed.
 */
function interaction(random: Random, guild: FuzzGuild, id: string, channelId: string, author: Record<string, unknown>): Record<string, unknown> {
  const name = random.pick(['ask', 'reset', 'imagine', 'moderation', 'persona', 'model', 'scope', 'settings', 'nope', '', oddText(random)]);
  const option = (optionName: string): Record<string, unknown> => ({ name: optionName, type: random.pick([3, 3, 3, 4, 5, 99]), value: random.chance(0.8) ? oddText(random) : wrongValue(random) });
  const options = random.pick<() => unknown[] | undefined>([
    () => undefined,
    () => [],
    () => [option(random.pick(['prompt', 'mode', 'text', 'id', 'x']))],
    () => [option('prompt'), option('prompt')],
    () => [{ name: random.pick(['set', 'reset', 'x']), type: 1, options: [option('text')] }],
    () => [{ name: 'set', type: 2, options: [{ name: 'x', type: 1 }] }],
  ])();
  const d: Record<string, unknown> = {
    id,
    application_id: guild.applicationId,
    type: random.pick([2, 2, 2, 2, 1, 99]),
    token: `fuzz-token-${id}`,
    version: 1,
    guild_id: guild.guildId,
    channel_id: channelId,
    channel: { id: channelId, type: 0, guild_id: guild.guildId, name: 'general' },
    member: { user: author, roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0, permissions: random.pick(['0', '8', '8192', '1071698660929']) },
    app_permissions: '0',
    locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: {},
    context: 0,
    data: { id: '1', name, type: random.pick([1, 1, 1, 1, 0, 99]), ...(options === undefined ? {} : { options }) },
  };
  if (random.chance(0.15)) {
    // A DM: a user and no member or guild.
    delete d['guild_id'];
    delete d['member'];
    d['user'] = author;
    d['channel'] = { id: channelId, type: 1 };
  }
  if (random.chance(0.4)) {
    for (let i = random.int(1, 3); i > 0; i -= 1) {
      const key = random.pick(['id', 'token', 'channel_id', 'application_id', 'locale', 'version', 'data.name']);
      if (key === 'data.name') d['data'] = { ...(d['data'] as Record<string, unknown>), name: wrongPrimitive(random) };
      else d[key] = wrongPrimitive(random);
    }
  }
  return d;
}

/** The fake routes a dispatch to a shard by its guild_id, as Discord does: that stays a snowflake or absent. */
function keepRoutable(d: Record<string, unknown>): void {
  const guildId = d['guild_id'];
  if (guildId !== undefined && !(typeof guildId === 'string' && /^[0-9]{1,20}$/.test(guildId))) delete d['guild_id'];
}
