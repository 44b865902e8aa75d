/**
 * How Discord messages become InboundMessages and which job each gets: voice messages
 * (flag IS_VOICE_MESSAGE, an `audio/ogg` attachment with `duration_secs` and `waveform`)
 * are `voice`, other audio files `audio`, pictures `image`; an unaddressed voice message in
 * a server is transcribed only under TRANSCRIBE_ALL_VOICE. Real discord.js Message objects,
 * built from the wire payloads Discord sends, on a client that never connects.
 * https://discord.com/developers/docs/resources/message#voice-messages
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Client, Message, type APIAttachment, type APIMessage } from 'discord.js';
import { inboundFromMessage } from '../../adapters/discord/discord.inbound.js';
import { routeInbound } from '../../src/domain/routing.js';

const BOT_ID = '100000000000000001';
const USER = { id: '200000000000000001', username: 'ann', global_name: 'Ann', discriminator: '0', avatar: null };
const DM_CHANNEL = '400000000000000001';
const GUILD = '300000000000000001';
const GUILD_CHANNEL = '300000000000000002';
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
  owner_id: USER.id,
  roles: [],
  emojis: [],
  stickers: [],
  features: [],
  members: [],
  channels: [{ id: GUILD_CHANNEL, type: 0, guild_id: GUILD, name: 'general', position: 0, permission_overwrites: [] }],
  threads: [],
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

function messageOf(data: Partial<APIMessage> & { channel_id: string; guild_id?: string }): Message {
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
