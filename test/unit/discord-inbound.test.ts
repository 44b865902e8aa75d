/**
 * How Discord messages become InboundMessages and which job each gets: voice messages
 * (flag IS_VOICE_MESSAGE, an `audio/ogg` attachment with `duration_secs` and `waveform`)
 * are `voice`, other audio files `audio`, pictures `image`; an unaddressed voice message in
 * a server is transcribed only under TRANSCRIBE_ALL_VOICE. Server messages carry their
 * guild and the author's permissions in the channel (from roles), and slash commands map
 * to the chat worker's commands. Real discord.js Message and interaction objects, built
 * from the wire payloads Discord sends, on a client that never connects.
 * https://discord.com/developers/docs/resources/message#voice-messages
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ChatInputCommandInteraction, Client, Message, MessageContextMenuCommandInteraction, type APIAttachment, type APIMessage } from 'discord.js';
import { inboundFromCommand, inboundFromMessage } from '../../adapters/discord/discord.inbound.js';
import { parseReplyHandle } from '../../adapters/discord/discord.reply-handle.js';
import { moderationRoute, routeInbound } from '../../src/domain/routing.js';

const BOT_ID = '100000000000000001';
const USER = { id: '200000000000000001', username: 'ann', global_name: 'Ann', discriminator: '0', avatar: null };
const DM_CHANNEL = '400000000000000001';
const GUILD = '300000000000000001';
const GUILD_CHANNEL = '300000000000000002';
const THREAD = '300000000000000003';
const MOD_ROLE = '300000000000000010';
const OWNER = '200000000000000099';
/** Permission bits: Manage Channels, Manage Messages; @everyone's everyday ones (View Channel, Send Messages). */
const MANAGE_CHANNELS = 1 << 4;
const MANAGE_MESSAGES = 1 << 13;
const EVERYDAY = (1 << 10) | (1 << 11);
const VOICE_MESSAGE_FLAG = 1 << 13;
const CDN = 'https://cdn.discordapp.com/attachments';

// discord.js's caches are internal API (`_add`); a test builds what the gateway would have.
interface Caches {
  users: { _add(data: unknown): unknown };
  channels: { _add(data: unknown): unknown };
  guilds: { _add(data: unknown): unknown };
  user: unknown;
}
const client = new Client({ intents: [] });
const caches = client as unknown as Caches;
caches.user = caches.users._add({ ...USER, id: BOT_ID, username: 'switchboard', bot: true });
caches.channels._add({ id: DM_CHANNEL, type: 1, recipients: [USER] });
caches.guilds._add({
  id: GUILD,
  name: 'Test Guild',
  owner_id: OWNER,
  roles: [
    { id: GUILD, name: '@everyone', permissions: String(EVERYDAY), position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 },
    { id: MOD_ROLE, name: 'Moderators', permissions: String(MANAGE_MESSAGES | MANAGE_CHANNELS), position: 1, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 },
  ],
  emojis: [],
  stickers: [],
  features: [],
  members: [],
  channels: [{ id: GUILD_CHANNEL, type: 0, guild_id: GUILD, name: 'general', position: 0, permission_overwrites: [] }],
  threads: [
    {
      id: THREAD,
      type: 11,
      guild_id: GUILD,
      parent_id: GUILD_CHANNEL,
      owner_id: USER.id,
      name: 'a thread',
      thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: new Date().toISOString(), locked: false },
    },
  ],
});
afterAll(() => client.destroy());

const voiceAttachment: APIAttachment = {
  id: '600000000000000001',
  filename: 'voice-message.ogg',
  size: 18_234,
  url: `${CDN}/${DM_CHANNEL}/600000000000000001/voice-message.ogg?ex=1&is=2&hm=3&`,
  proxy_url: 'https://media.discordapp.net/attachments/voice-message.ogg',
  content_type: 'audio/ogg',
  duration_secs: 4.2,
  waveform: 'AAECAwQFBgcICQ==',
};

function messageOf(data: Partial<APIMessage> & { channel_id: string; guild_id?: string; member?: object }): Message {
  const wire = {
    id: '500000000000000001',
    author: USER,
    content: '',
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
    flags: 0,
    components: [],
    ...data,
  };
  // The constructor is internal to discord.js; the gateway builds messages the same way.
  return new (Message as unknown as new (client: Client, data: unknown) => Message)(client, wire);
}

describe('discord inbound: voice messages, audio and pictures', () => {
  it('makes a voice message in a DM a voice attachment, addressed, routed to transcription', () => {
    const message = messageOf({ channel_id: DM_CHANNEL, flags: VOICE_MESSAGE_FLAG, attachments: [voiceAttachment] });
    const inbound = inboundFromMessage(message, BOT_ID)!;
    expect(inbound).toMatchObject({ chat: { platform: 'discord', id: DM_CHANNEL, kind: 'dm' }, addressed: true, text: '' });
    expect(inbound.attachments).toEqual([
      { kind: 'voice', fileRef: voiceAttachment.url, mimeType: 'audio/ogg', sizeBytes: 18_234, durationSeconds: 4.2, fileName: 'voice-message.ogg' },
    ]);
    expect(routeInbound(inbound, { transcribeAllVoice: false })).toMatchObject({ kind: 'transcribe', jobId: `discord:${DM_CHANNEL}:500000000000000001` });
  });

  it('makes an audio file without the voice flag an audio attachment', () => {
    const mp3 = { ...voiceAttachment, filename: 'talk.mp3', content_type: 'audio/mpeg', duration_secs: undefined, waveform: undefined };
    const inbound = inboundFromMessage(messageOf({ channel_id: DM_CHANNEL, attachments: [mp3] }), BOT_ID)!;
    expect(inbound.attachments[0]).toMatchObject({ kind: 'audio', mimeType: 'audio/mpeg', fileName: 'talk.mp3' });
    expect(inbound.attachments[0]).not.toHaveProperty('durationSeconds');
    expect(routeInbound(inbound, { transcribeAllVoice: false })?.kind).toBe('transcribe');
  });

  it('knows a file by its extension when Discord gives no content type', () => {
    const untyped = (filename: string): APIAttachment => ({ ...voiceAttachment, filename, content_type: undefined });
    const inbound = inboundFromMessage(
      messageOf({ channel_id: DM_CHANNEL, attachments: [untyped('a.m4a'), { ...untyped('b.JPG'), id: '2' }, { ...untyped('c.pdf'), id: '3' }] }),
      BOT_ID,
    )!;
    expect(inbound.attachments.map((a) => a.kind)).toEqual(['audio', 'image', 'file']);
  });

  it('makes a picture mentioning the bot an image attachment for the chat job', () => {
    const photo: APIAttachment = { ...voiceAttachment, filename: 'fox.png', content_type: 'image/png', duration_secs: undefined, waveform: undefined };
    const inbound = inboundFromMessage(
      messageOf({
        channel_id: GUILD_CHANNEL,
        guild_id: GUILD,
        content: `<@${BOT_ID}> what is this?`,
        mentions: [{ ...USER, id: BOT_ID, username: 'switchboard' }],
        attachments: [photo],
      }),
      BOT_ID,
    )!;
    expect(inbound).toMatchObject({ addressed: true, text: 'what is this?', chat: { kind: 'group' } });
    expect(inbound.attachments).toMatchObject([{ kind: 'image', mimeType: 'image/png', fileName: 'fox.png' }]);
    expect(routeInbound(inbound, { transcribeAllVoice: true })?.kind).toBe('chat');
  });

  it('in a server, leaves an unaddressed voice message alone unless TRANSCRIBE_ALL_VOICE is on', () => {
    const message = messageOf({ channel_id: GUILD_CHANNEL, guild_id: GUILD, flags: VOICE_MESSAGE_FLAG, attachments: [voiceAttachment] });
    const inbound = inboundFromMessage(message, BOT_ID)!;
    expect(inbound).toMatchObject({ addressed: false, chat: { id: GUILD_CHANNEL, kind: 'group' } });
    expect(inbound.attachments[0]?.kind).toBe('voice');
    expect(routeInbound(inbound, { transcribeAllVoice: false })).toBeUndefined();
    expect(routeInbound(inbound, { transcribeAllVoice: true })?.kind).toBe('transcribe');
  });

  it('under TRANSCRIBE_ALL_VOICE still ignores unaddressed audio files and text', () => {
    const mp3 = { ...voiceAttachment, filename: 'song.mp3', content_type: 'audio/mpeg' };
    const audio = inboundFromMessage(messageOf({ channel_id: GUILD_CHANNEL, guild_id: GUILD, attachments: [mp3] }), BOT_ID)!;
    const text = inboundFromMessage(messageOf({ channel_id: GUILD_CHANNEL, guild_id: GUILD, content: 'just talking' }), BOT_ID)!;
    expect(routeInbound(audio, { transcribeAllVoice: true })).toBeUndefined();
    expect(routeInbound(text, { transcribeAllVoice: true })).toBeUndefined();
  });

  it('never takes a bot\'s voice message', () => {
    const message = messageOf({ channel_id: DM_CHANNEL, author: { ...USER, id: '200000000000000077', bot: true }, flags: VOICE_MESSAGE_FLAG, attachments: [voiceAttachment] });
    expect(inboundFromMessage(message, BOT_ID)).toBeUndefined();
  });
});

/** A member as a message carries it (no `user`: the message's author is the member). */
const member = (roles: string[] = []) => ({ roles, joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 });

describe('discord inbound: guilds and permissions', () => {
  it('gives a server message its guild, and a thread message its guild, parent and thread', () => {
    const inChannel = inboundFromMessage(messageOf({ channel_id: GUILD_CHANNEL, guild_id: GUILD, content: 'hi', member: member() }), BOT_ID)!;
    expect(inChannel.chat).toEqual({ platform: 'discord', id: GUILD_CHANNEL, kind: 'group', guildId: GUILD });
    const inThread = inboundFromMessage(messageOf({ id: '500000000000000002', channel_id: THREAD, guild_id: GUILD, content: 'hi', member: member() }), BOT_ID)!;
    expect(inThread.chat).toEqual({ platform: 'discord', id: GUILD_CHANNEL, threadId: THREAD, kind: 'group', guildId: GUILD });
    const inDm = inboundFromMessage(messageOf({ id: '500000000000000003', channel_id: DM_CHANNEL, content: 'hi' }), BOT_ID)!;
    expect(inDm.chat).toEqual({ platform: 'discord', id: DM_CHANNEL, kind: 'dm' });
  });

  it("reads the author's permissions in the channel from their roles; in a DM they may do everything", () => {
    const plain = inboundFromMessage(messageOf({ id: '500000000000000011', channel_id: GUILD_CHANNEL, guild_id: GUILD, content: 'x', member: member() }), BOT_ID)!;
    expect(plain.author.permissions).toEqual({ manageMessages: false, manageChannel: false });
    const moderator = inboundFromMessage(
      messageOf({ id: '500000000000000012', channel_id: THREAD, guild_id: GUILD, content: 'x', author: { ...USER, id: '200000000000000002' }, member: member([MOD_ROLE]) }),
      BOT_ID,
    )!;
    expect(moderator.author.permissions).toEqual({ manageMessages: true, manageChannel: true });
    const owner = inboundFromMessage(
      messageOf({ id: '500000000000000013', channel_id: GUILD_CHANNEL, guild_id: GUILD, content: 'x', author: { ...USER, id: OWNER }, member: member() }),
      BOT_ID,
    )!;
    expect(owner.author.permissions).toEqual({ manageMessages: true, manageChannel: true });
    const dm = inboundFromMessage(messageOf({ id: '500000000000000014', channel_id: DM_CHANNEL, content: 'x' }), BOT_ID)!;
    expect(dm.author.permissions).toEqual({ manageMessages: true, manageChannel: true });
  });

  it('makes an unaddressed server message with text a moderation candidate, not a chat', () => {
    const inbound = inboundFromMessage(messageOf({ id: '500000000000000021', channel_id: GUILD_CHANNEL, guild_id: GUILD, content: 'just talking', member: member() }), BOT_ID)!;
    expect(routeInbound(inbound, { transcribeAllVoice: false })).toBeUndefined();
    expect(moderationRoute(inbound)).toMatchObject({ kind: 'moderate', jobId: `discord:${GUILD_CHANNEL}:500000000000000021` });
  });
});

let interactionCount = 0;
/** A slash command as INTERACTION_CREATE carries it, in the guild channel, by a member with `permissions`. */
function commandOf(name: string, options: unknown[] = [], permissions = EVERYDAY, resolved?: object): ChatInputCommandInteraction {
  return new (ChatInputCommandInteraction as unknown as new (client: Client, data: unknown) => ChatInputCommandInteraction)(
    client,
    interactionData({ name, type: 1, ...(options.length > 0 ? { options } : {}), ...(resolved ? { resolved } : {}) }, permissions),
  );
}

/** A message context-menu command ("Apps" on a message) on `target`. */
function messageCommandOf(name: string, target: Record<string, unknown>): MessageContextMenuCommandInteraction {
  const data = interactionData({ name, type: 3, target_id: target['id'], resolved: { messages: { [String(target['id'])]: target } } }, EVERYDAY);
  return new (MessageContextMenuCommandInteraction as unknown as new (client: Client, data: unknown) => MessageContextMenuCommandInteraction)(client, data);
}

function interactionData(command: Record<string, unknown>, permissions: bigint | number): Record<string, unknown> {
  interactionCount += 1;
  return {
    id: `70000000000000000${interactionCount}`,
    application_id: BOT_ID,
    type: 2,
    token: `itoken-${interactionCount}`,
    version: 1,
    guild_id: GUILD,
    channel: { id: GUILD_CHANNEL, type: 0, guild_id: GUILD, name: 'general' },
    member: { user: { ...USER, id: '200000000000000003' }, roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0, permissions: String(permissions) },
    app_permissions: String(EVERYDAY),
    locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': GUILD },
    context: 0,
    data: { id: '800000000000000001', guild_id: GUILD, ...command },
  };
}
const str = (name: string, value: string) => ({ name, type: 3, value });

describe('discord inbound: media commands (issue #14)', () => {
  const picture: APIAttachment = { ...voiceAttachment, id: '600000000000000009', filename: 'fox.png', content_type: 'image/png', url: `${CDN}/${GUILD_CHANNEL}/600000000000000009/fox.png?ex=1&is=2&hm=3&` };
  const attachmentOption = (name: string, attachment: APIAttachment) => ({ name, type: 11, value: attachment.id });

  it('makes an attachment option the message’s attachment: /translate audio:, /vary image:, /imagine prompt: image:', () => {
    const translate = inboundFromCommand(commandOf('translate', [attachmentOption('audio', voiceAttachment)], EVERYDAY, { attachments: { [voiceAttachment.id]: voiceAttachment } }))!;
    expect(translate.command).toEqual({ name: 'translate', args: '' });
    expect(translate.attachments).toMatchObject([{ kind: 'audio', fileRef: voiceAttachment.url, sizeBytes: 18_234 }]);
    expect(routeInbound(translate, { transcribeAllVoice: false })?.kind).toBe('translate');

    const vary = inboundFromCommand(commandOf('vary', [attachmentOption('image', picture)], EVERYDAY, { attachments: { [picture.id]: picture } }))!;
    expect(vary.attachments).toMatchObject([{ kind: 'image', mimeType: 'image/png', fileName: 'fox.png' }]);
    expect(routeInbound(vary, { transcribeAllVoice: false })).toMatchObject({ kind: 'picture', payload: { mode: 'vary' } });

    const edit = inboundFromCommand(commandOf('imagine', [str('prompt', 'a hat'), attachmentOption('image', picture)], EVERYDAY, { attachments: { [picture.id]: picture } }))!;
    expect(routeInbound(edit, { transcribeAllVoice: false })).toMatchObject({ kind: 'picture', payload: { mode: 'edit', prompt: 'a hat' } });
    // Without the optional image, /imagine still draws from the prompt.
    expect(routeInbound(inboundFromCommand(commandOf('imagine', [str('prompt', 'a hat')]))!, { transcribeAllVoice: false })?.kind).toBe('image');
  });

  it('makes "Translate" and "Vary" on a message that command on the message’s files, replied to through the interaction', () => {
    const voice = { id: '500000000000000077', channel_id: GUILD_CHANNEL, guild_id: GUILD, author: USER, content: '', timestamp: new Date().toISOString(), edited_timestamp: null, tts: false, mention_everyone: false, mentions: [], mention_roles: [], attachments: [voiceAttachment], embeds: [], pinned: false, type: 0, flags: VOICE_MESSAGE_FLAG, components: [] };
    const translate = inboundFromCommand(messageCommandOf('Translate', voice))!;
    expect(translate).toMatchObject({ command: { name: 'translate', args: '' }, text: '/translate', addressed: true });
    expect(translate.attachments).toMatchObject([{ kind: 'voice', fileRef: voiceAttachment.url }]);
    expect(parseReplyHandle(translate.replyHandle)).toMatchObject({ applicationId: BOT_ID });
    const vary = inboundFromCommand(messageCommandOf('Vary', { ...voice, id: '500000000000000078', flags: 0, attachments: [picture] }))!;
    expect(vary).toMatchObject({ command: { name: 'vary' }, attachments: [{ kind: 'image' }] });
    expect(inboundFromCommand(messageCommandOf('Frobnicate', voice))).toBeUndefined();
  });
});

describe('discord inbound: slash commands', () => {
  it.each([
    ['moderation', [str('mode', 'off')], { name: 'moderation', args: 'off' }],
    ['moderation', [], { name: 'moderation', args: '' }],
    ['persona', [{ name: 'set', type: 1, options: [str('text', 'You are a pirate.')] }], { name: 'persona', args: 'set You are a pirate.' }],
    ['persona', [{ name: 'reset', type: 1 }], { name: 'persona', args: 'reset' }],
    ['model', [str('id', 'gpt-4o-mini')], { name: 'model', args: 'gpt-4o-mini' }],
    ['scope', [str('mode', 'user')], { name: 'scope', args: 'user' }],
    ['settings', [], { name: 'settings', args: '' }],
    ['reset', [], { name: 'reset', args: '' }],
    ['imagine', [str('prompt', 'a fox')], { name: 'image', args: 'a fox' }],
  ])('maps /%s to the chat worker command', (name, options, command) => {
    const inbound = inboundFromCommand(commandOf(name, options))!;
    expect(inbound.command).toEqual(command);
    expect(inbound.addressed).toBe(true);
    expect(inbound.chat).toEqual({ platform: 'discord', id: GUILD_CHANNEL, kind: 'group', guildId: GUILD });
    expect(parseReplyHandle(inbound.replyHandle)).toMatchObject({ applicationId: BOT_ID });
  });

  it('makes /ask plain text, and ignores a command it does not know', () => {
    const ask = inboundFromCommand(commandOf('ask', [str('prompt', 'why is the sky blue')]))!;
    expect(ask.text).toBe('why is the sky blue');
    expect(ask.command).toBeUndefined();
    expect(inboundFromCommand(commandOf('frobnicate'))).toBeUndefined();
  });

  it("takes the member's permissions in the channel from the interaction", () => {
    expect(inboundFromCommand(commandOf('moderation', [str('mode', 'on')]))!.author.permissions).toEqual({ manageMessages: false, manageChannel: false });
    const moderator = inboundFromCommand(commandOf('moderation', [str('mode', 'on')], EVERYDAY | MANAGE_MESSAGES))!;
    expect(moderator.author.permissions).toEqual({ manageMessages: true, manageChannel: false });
    const admin = inboundFromCommand(commandOf('scope', [str('mode', 'channel')], EVERYDAY | MANAGE_CHANNELS))!;
    expect(admin.author.permissions).toEqual({ manageMessages: false, manageChannel: true });
  });
});
