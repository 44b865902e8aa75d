/**
 * Random Telegram updates for the fuzz test: mostly real shapes with odd values (texts of
 * every kind, media with wrong types and sizes, corrupt entities and replies, edits,
 * service messages, other bots), and a good share of broken ones (fields missing or of the
 * wrong type, unknown update types, garbage where a message should be). Shapes:
 * https://core.telegram.org/bots/api#update and https://core.telegram.org/bots/api#message
 */
import type { Random } from '../support/prng.js';
import { oddText, randomJson, wrongValue } from './fuzz-support.js';

/** The bot the updates are for (the harness's). */
export interface FuzzBot {
  readonly id: number;
  readonly username: string;
}

/** Chats the updates use; the test registers them with the fake so answers can land. */
export const FUZZ_CHATS = {
  group: { id: -4_242, type: 'group', title: 'Friends' },
  moderated: { id: -1_004_343, type: 'supergroup', title: 'Moderated' },
  forum: { id: -1_001_234_567_890, type: 'supergroup', title: 'Team', is_forum: true },
  channel: { id: -1_009_999, type: 'channel', title: 'News' },
} as const;

/**
 * Plain groups: many, because the bot may post only about twenty messages a minute in
 * each (the Telegram Outbox waits for that), and answers must not queue up behind it.
 */
export const FUZZ_GROUPS = Array.from({ length: 64 }, (_, i) => ({ id: -5_000 - i, type: i % 2 === 0 ? 'group' : 'supergroup', title: `Group ${i}` }));

/** The people who write: a handful, so per-user limits and histories get exercised. */
export const FUZZ_USERS = Array.from({ length: 80 }, (_, i) => 1001 + i).map((id) => ({
  id,
  is_bot: false,
  first_name: `User ${id}`,
  ...(id % 2 === 0 ? { username: `user${id}` } : {}),
}));

/** What a generated update is, for the tally in the test's report. */
export type UpdateKind =
  | 'dm-text'
  | 'dm-plain'
  | 'group-chatter'
  | 'group-mention'
  | 'group-command'
  | 'unknown-type'
  | 'missing-fields'
  | 'media'
  | 'entities'
  | 'reply'
  | 'edit'
  | 'bot-author'
  | 'service'
  | 'garbage-message'
  | 'garbage-update';

/** One generated update and what must become of it. */
export interface FuzzUpdate {
  readonly kind: UpdateKind;
  readonly update: Record<string, unknown>;
  /** `job`: a plain DM the bot must answer; `skip`: must never make a job; `any`: either, as long as it is accounted for. */
  readonly expect: 'job' | 'skip' | 'any';
}

const WEIGHTS: Readonly<Record<UpdateKind, number>> = {
  'dm-text': 3,
  'dm-plain': 1,
  'group-chatter': 12,
  'group-mention': 2,
  'group-command': 2,
  'unknown-type': 10,
  'missing-fields': 18,
  media: 14,
  entities: 8,
  reply: 6,
  edit: 6,
  'bot-author': 3,
  service: 4,
  'garbage-message': 8,
  'garbage-update': 5,
};

const UNKNOWN_UPDATE_KEYS = [
  'callback_query',
  'inline_query',
  'chosen_inline_result',
  'channel_post',
  'edited_channel_post',
  'shipping_query',
  'pre_checkout_query',
  'poll',
  'poll_answer',
  'my_chat_member',
  'chat_member',
  'chat_join_request',
  'message_reaction',
  'business_message',
  'purchased_paid_media',
  'x_future_update_kind',
];

const MIME_TYPES = [
  'audio/ogg',
  'audio/mpeg',
  'audio/x-wav',
  'video/mp4',
  'image/jpeg',
  'image/png',
  'image/svg+xml',
  'application/pdf',
  'application/x-msdownload',
  'text/html',
  'application/octet-stream',
  '',
  'audio/',
  'AUDIO/OGG; codecs=opus',
  'image/\u0000png',
  '../../etc/passwd',
];

const SIZES = [0, 1, 1_000, 19_999_999, 20_000_001, 25 * 1024 * 1024, 2 ** 31, 2 ** 53, -5, 1.5];

/** How a run draws updates. */
export interface UpdateOptions {
  /**
   * The share of private chats among messages that could go either way (default 0.5);
   * private chats are answered, so this sets how much work reaches the workers.
   */
  readonly dmShare?: number;
  /** Only updates with `message` or `edited_message`: the kinds long polling asks for. */
  readonly messagesOnly?: boolean;
  /**
   * Scales the kinds that address the bot in groups (mentions, commands; default 1): each
   * is answered, and the Telegram Outbox keeps all answers under Telegram's 30 a second.
   */
  readonly groupAnswerShare?: number;
}

/** Draws one update numbered `updateId`. */
export function telegramUpdate(random: Random, updateId: number, bot: FuzzBot, options: UpdateOptions = {}): FuzzUpdate {
  const dmShare = options.dmShare ?? 0.5;
  const weights = {
    ...WEIGHTS,
    'dm-text': WEIGHTS['dm-text'] * dmShare * 2,
    'dm-plain': WEIGHTS['dm-plain'] * dmShare * 2,
    'group-mention': WEIGHTS['group-mention'] * (options.groupAnswerShare ?? 1),
    'group-command': WEIGHTS['group-command'] * (options.groupAnswerShare ?? 1),
    ...(options.messagesOnly ? { 'unknown-type': 0, 'garbage-update': 0 } : {}),
  };
  const kind = random.weighted(weights);
  const from = random.pick(FUZZ_USERS);
  const dm = { id: from.id, type: 'private', first_name: from.first_name };
  const dmOr = (other: () => Record<string, unknown>): Record<string, unknown> => (random.chance(dmShare) ? dm : other());
  const messageId = updateId;
  const date = Math.floor(Date.now() / 1000);
  const base = (chat: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    message_id: messageId,
    from,
    chat,
    date,
    ...extra,
  });
  const mention = `@${bot.username}`;
  const groupChat = (): Record<string, unknown> =>
    random.chance(0.95) ? random.pick<Record<string, unknown>>(FUZZ_GROUPS) : random.pick<Record<string, unknown>>([FUZZ_CHATS.group, FUZZ_CHATS.moderated, FUZZ_CHATS.forum]);
  const wrap = (message: unknown, key = 'message'): Record<string, unknown> => ({ update_id: updateId, [key]: message });

  switch (kind) {
    case 'dm-plain':
      return { kind, expect: 'job', update: wrap(base(dm, { text: `plain question ${updateId}` })) };
    case 'dm-text':
      return { kind, expect: 'any', update: wrap(base(dm, { text: oddText(random) })) };
    case 'group-chatter':
      return { kind, expect: 'any', update: wrap(base(groupChat(), { text: oddText(random) })) };
    case 'group-mention': {
      const text = `${mention} ${oddText(random)}`;
      return { kind, expect: 'any', update: wrap(base(groupChat(), { text, entities: [{ type: 'mention', offset: 0, length: mention.length }] })) };
    }
    case 'group-command': {
      const command = random.pick(['/help', '/reset', '/image', '/start', '/nope', `/help@${bot.username}`, '/reset@otherbot', '/moderation']);
      const text = `${command} ${random.chance(0.5) ? oddText(random) : ''}`.trimEnd();
      return { kind, expect: 'any', update: wrap(base(groupChat(), { text, entities: [{ type: 'bot_command', offset: 0, length: command.length }] })) };
    }
    case 'unknown-type':
      return { kind, expect: 'skip', update: { update_id: updateId, [random.pick(UNKNOWN_UPDATE_KEYS)]: randomJson(random, 3) } };
    case 'missing-fields':
      return { kind, expect: 'any', update: wrap(breakFields(random, base(dmOr(groupChat), { text: oddText(random) }))) };
    case 'media':
      return { kind, expect: 'any', update: wrap(base(dmOr(groupChat), media(random))) };
    case 'entities': {
      const text = oddText(random);
      const field = random.chance(0.7) ? 'entities' : 'caption_entities';
      const body = field === 'entities' ? { text } : { caption: text, photo: [{ file_id: 'p1', file_unique_id: 'u1', width: 1, height: 1 }] };
      return { kind, expect: 'any', update: wrap(base(dmOr(groupChat), { ...body, [field]: corruptEntities(random, bot) })) };
    }
    case 'reply': {
      const replyTo = random.pick<() => unknown>([
        () => ({ message_id: random.int(1, 10), from: { id: bot.id, is_bot: true, first_name: 'Switchboard' }, chat: FUZZ_CHATS.group, date }),
        () => ({ message_id: random.int(1, 10), chat: FUZZ_CHATS.group, date }),
        () => ({ message_id: 1, forum_topic_created: { name: oddText(random), icon_color: 1 }, chat: FUZZ_CHATS.forum, date }),
        () => wrongValue(random),
        () => ({ reply_to_message: { reply_to_message: { reply_to_message: randomJson(random, 3) } } }),
      ])();
      const thread = random.chance(0.3) ? { message_thread_id: random.pick([1, 77, -1, 0]), is_topic_message: random.chance(0.5) } : {};
      return { kind, expect: 'any', update: wrap(base(groupChat(), { text: oddText(random), reply_to_message: replyTo, ...thread })) };
    }
    case 'edit': {
      const chat = dmOr(() => (random.chance(0.5) ? FUZZ_CHATS.moderated : groupChat()));
      const message = base(chat, { text: oddText(random), edit_date: random.chance(0.8) ? date : wrongValue(random) });
      return { kind, expect: 'any', update: wrap(random.chance(0.3) ? breakFields(random, message) : message, 'edited_message') };
    }
    case 'bot-author': {
      const other = { id: random.pick([bot.id, 9_999]), is_bot: true, first_name: 'Some bot', username: 'somebot' };
      return { kind, expect: 'skip', update: wrap({ ...base(dmOr(groupChat), { text: oddText(random) }), from: other }) };
    }
    case 'service': {
      const service = random.pick<Record<string, unknown>>([
        { new_chat_members: [from] },
        { left_chat_member: from },
        { new_chat_title: oddText(random) },
        { pinned_message: base(FUZZ_CHATS.group, { text: 'pinned' }) },
        { forum_topic_created: { name: oddText(random), icon_color: 7322096 } },
        { group_chat_created: true },
        { location: { latitude: 1, longitude: 2 } },
        { dice: { emoji: '🎲', value: 6 } },
        { sticker: { file_id: 's', file_unique_id: 's', type: 'regular', width: 1, height: 1, is_animated: false, is_video: false } },
      ]);
      return { kind, expect: 'skip', update: wrap(base(dmOr(groupChat), service)) };
    }
    case 'garbage-message':
      return { kind, expect: 'any', update: wrap(randomJson(random, 4), random.chance(0.8) ? 'message' : 'edited_message') };
    case 'garbage-update': {
      const garbage = randomJson(random, 4);
      const update = typeof garbage === 'object' && garbage !== null && !Array.isArray(garbage) ? (garbage as Record<string, unknown>) : { value: garbage };
      return { kind, expect: 'any', update: { ...update, update_id: updateId } };
    }
  }
}

/** A message with some fields removed or of the wrong type, nested ones included. */
function breakFields(random: Random, message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(message);
  const paths = ['message_id', 'from', 'chat', 'date', 'text', 'chat.id', 'chat.type', 'from.id', 'from.is_bot', 'from.first_name', 'message_thread_id'];
  for (let i = random.int(1, 3); i > 0; i -= 1) {
    const path = random.pick(paths);
    const [head = '', tail] = path.split('.');
    const target = tail === undefined ? out : out[head];
    if (typeof target !== 'object' || target === null) continue;
    const owner = (tail === undefined ? out : { ...(target as Record<string, unknown>) }) as Record<string, unknown>;
    const key = tail ?? head;
    if (random.chance(0.4)) delete owner[key];
    else owner[key] = wrongValue(random);
    if (tail !== undefined) out[head] = owner;
  }
  return out;
}

/** Attachment fields of every kind, with wrong types, sizes and missing ids. */
function media(random: Random): Record<string, unknown> {
  const file = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {
      file_id: random.chance(0.9) ? `fuzz-${random.int(1, 1e9)}` : wrongValue(random),
      file_unique_id: 'u',
      file_size: random.pick(SIZES),
      duration: random.pick([0, 1, 3, 3600, -1, 1e9, 1.5]),
      mime_type: random.pick(MIME_TYPES),
      file_name: random.chance(0.5) ? oddText(random) : `voice.${random.pick(['ogg', 'mp3', 'exe', 'svg', ''])}`,
    };
    if (random.chance(0.15)) delete out[random.pick(Object.keys(out))];
    return out;
  };
  const field = random.pick(['voice', 'audio', 'document', 'photo', 'video_note', 'video', 'animation', 'voice+document']);
  const caption = random.chance(0.5) ? { caption: oddText(random) } : {};
  switch (field) {
    case 'photo':
      return { photo: random.pick<() => unknown>([() => [file(), file()], () => [], () => file(), () => wrongValue(random)])(), ...caption };
    case 'voice+document':
      return { voice: file(), document: file(), ...caption };
    default:
      return { [field]: random.chance(0.85) ? file() : wrongValue(random), ...caption };
  }
}

/** Entities whose offsets, lengths, types and users are wrong in every way. */
function corruptEntities(random: Random, bot: FuzzBot): unknown {
  if (random.chance(0.15)) return wrongValue(random);
  return Array.from({ length: random.int(0, 4) }, () =>
    random.pick<() => unknown>([
      () => ({ type: 'mention', offset: random.pick([0, -1, 5, 1e9]), length: random.pick([0, -3, 21, 1e9]) }),
      () => ({ type: 'text_mention', offset: 0, length: 3, user: random.chance(0.5) ? { id: bot.id, is_bot: true, first_name: 'S' } : wrongValue(random) }),
      () => ({ type: 'text_mention', offset: 0, length: 3 }),
      () => ({ type: 'bot_command', offset: 0, length: 1e9 }),
      () => ({ type: random.pick(['bold', 'spoiler', 'custom_emoji', 'x_future']), offset: 1.5, length: 'x' }),
      () => wrongValue(random),
    ])(),
  );
}

/** The largest body the webhook reads (adapters/telegram/telegram.webhook.ts): past it, 413. */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/** A webhook body that is no update at all: not JSON, not an object, no numeric update_id, too large. */
export function notAnUpdateBody(random: Random): Buffer | string {
  return random.pick<() => Buffer | string>([
    () => '',
    () => 'not json',
    () => '{',
    () => '{"update_id":1,"message":',
    () => '[{"update_id":1}]',
    () => 'null',
    () => 'true',
    () => '123',
    () => '"update"',
    () => '{"update_id":"7","message":{}}',
    () => '{"update_id":null}',
    () => '{"message":{"text":"hi"}}',
    () => '{"update_id":{"$gt":0}}',
    () => `\uFEFF{"update_id":5}`,
    () => Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0xc3, 0x28]),
    () => Buffer.from(Array.from({ length: random.int(1, 2048) }, () => random.int(0, 255))),
    () => `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    () => `{"update_id":1,"message":{"text":"${'x'.repeat(WEBHOOK_BODY_LIMIT)}"}}`,
    () => JSON.stringify(random.pick([[], 'x', 42, null, [randomJson(random, 2)]])),
    () => JSON.stringify({ update_id: String(random.int(1, 100)), message: randomJson(random, 2) }),
  ])();
}
