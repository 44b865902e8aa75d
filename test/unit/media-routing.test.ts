import { describe, expect, it } from 'vitest';
import type { InboundMessage } from '../../src/domain/inbound-message.js';
import { formatBytes, transcriptionFileName } from '../../src/domain/media.js';
import { REPLIES, formatWait } from '../../src/domain/replies.js';
import { imageLane, routeInbound } from '../../src/domain/routing.js';
import { commandAudio, commandPicture } from '../../src/domain/command-files.js';
import { acceptsImages } from '../../src/config.js';

const base: InboundMessage = {
  chat: { platform: 'telegram', id: '-100', kind: 'group' },
  author: { id: '7', displayName: 'Ann', isBot: false },
  messageId: '42',
  text: '',
  attachments: [],
  addressed: true,
  receivedAt: 0,
};
const voice = { kind: 'voice', fileRef: 'f1', mimeType: 'audio/ogg', sizeBytes: 1000 } as const;

describe('transcription file names', () => {
  it('sends Telegram voice notes (.oga, Ogg Opus) as .ogg', () => {
    expect(transcriptionFileName({ kind: 'voice', mimeType: 'audio/ogg', fileName: 'file_12.oga' })).toBe('file_12.ogg');
    expect(transcriptionFileName({ kind: 'voice', mimeType: 'audio/ogg' })).toBe('voice.ogg');
    expect(transcriptionFileName({ kind: 'voice' })).toBe('voice.ogg');
  });
  it('keeps an accepted extension and maps common types', () => {
    expect(transcriptionFileName({ kind: 'audio', mimeType: 'audio/mpeg', fileName: 'song.mp3' })).toBe('song.mp3');
    expect(transcriptionFileName({ kind: 'audio', mimeType: 'audio/mp4', fileName: 'memo' })).toBe('memo.m4a');
    expect(transcriptionFileName({ kind: 'audio', mimeType: 'audio/webm;codecs=opus' })).toBe('audio.webm');
    expect(transcriptionFileName({ kind: 'voice', mimeType: 'video/mp4', fileName: 'video_note.mp4' })).toBe('video_note.mp4');
    expect(transcriptionFileName({ kind: 'audio', mimeType: 'audio/x-wav', fileName: 'a b/c.WAV' })).toBe('a_b_c.wav');
  });
  it('has no name for formats the endpoint cannot read', () => {
    expect(transcriptionFileName({ kind: 'audio', mimeType: 'audio/midi', fileName: 'tune.mid' })).toBeUndefined();
    expect(transcriptionFileName({ kind: 'audio', mimeType: 'application/zip' })).toBeUndefined();
  });
});

describe('routing', () => {
  const options = { transcribeAllVoice: false };
  it('sends image requests to the image lane, voice to transcribe, the rest to chat', () => {
    const image = routeInbound({ ...base, text: '/image fox', command: { name: 'image', args: 'fox' } }, options);
    expect(image).toMatchObject({ kind: 'image', jobId: 'telegram:-100:42', payload: { prompt: 'fox', conversation: imageLane('telegram:-100') } });
    expect(routeInbound({ ...base, attachments: [voice] }, options)).toMatchObject({ kind: 'transcribe', payload: { conversation: 'telegram:-100' } });
    expect(routeInbound({ ...base, text: 'hi' }, options)).toMatchObject({ kind: 'chat' });
    expect(routeInbound({ ...base, attachments: [{ kind: 'image', fileRef: 'p' }] }, options)).toMatchObject({ kind: 'chat' });
  });
  it('sends /image on a picture, and /vary, to the picture job in the image lane; /translate to translate', () => {
    const photo = { kind: 'image', fileRef: 'p', mimeType: 'image/jpeg' } as const;
    const edit = routeInbound({ ...base, attachments: [photo], command: { name: 'image', args: 'add a hat' } }, options);
    expect(edit).toMatchObject({ kind: 'picture', jobId: 'telegram:-100:42', payload: { mode: 'edit', prompt: 'add a hat', conversation: imageLane('telegram:-100') } });
    // The picture of the message replied to counts as the command's own.
    const replying = { ...base, replyTo: { messageId: '41', authorIsBot: false, attachments: [photo] } };
    expect(routeInbound({ ...replying, command: { name: 'image', args: 'add a hat' } }, options)).toMatchObject({ kind: 'picture', payload: { mode: 'edit' } });
    expect(routeInbound({ ...replying, command: { name: 'vary', args: 'ignored' } }, options)).toMatchObject({ kind: 'picture', payload: { mode: 'vary', prompt: '' } });
    // Without a picture, /vary still goes to its worker (which says how to use it); /image draws from the prompt.
    expect(routeInbound({ ...base, command: { name: 'vary', args: '' } }, options)).toMatchObject({ kind: 'picture' });
    expect(routeInbound({ ...base, replyTo: { messageId: '41', authorIsBot: false }, command: { name: 'image', args: 'x' } }, options)).toMatchObject({ kind: 'image' });
    const translate = routeInbound({ ...base, replyTo: { messageId: '41', authorIsBot: false, attachments: [voice] }, command: { name: 'translate', args: '' } }, options);
    expect(translate).toMatchObject({ kind: 'translate', payload: { conversation: 'telegram:-100' } });
    // A caption command on the voice note itself is a translation, not a transcription.
    expect(routeInbound({ ...base, attachments: [voice], command: { name: 'translate', args: '' } }, options)?.kind).toBe('translate');
    expect(routeInbound({ ...base, addressed: false, attachments: [photo], command: { name: 'vary', args: '' } }, options)).toBeUndefined();
  });
  it('finds the file a command is about: its own first, else the replied-to message’s', () => {
    const own = { kind: 'audio', fileRef: 'own' } as const;
    const replied = { kind: 'voice', fileRef: 'replied' } as const;
    expect(commandAudio({ attachments: [own], replyTo: { messageId: '1', authorIsBot: false, attachments: [replied] } })?.fileRef).toBe('own');
    expect(commandAudio({ attachments: [{ kind: 'image', fileRef: 'p' }], replyTo: { messageId: '1', authorIsBot: false, attachments: [replied] } })?.fileRef).toBe('replied');
    expect(commandPicture({ attachments: [own] })).toBeUndefined();
  });
  it('ignores unaddressed messages, except voice notes in groups with TRANSCRIBE_ALL_VOICE', () => {
    const unaddressed = { ...base, addressed: false, attachments: [voice] };
    expect(routeInbound(unaddressed, options)).toBeUndefined();
    expect(routeInbound(unaddressed, { transcribeAllVoice: true })).toMatchObject({ kind: 'transcribe' });
    expect(routeInbound({ ...unaddressed, attachments: [{ ...voice, kind: 'audio' }] }, { transcribeAllVoice: true })).toBeUndefined();
    expect(routeInbound({ ...base, addressed: false, text: 'hello' }, { transcribeAllVoice: true })).toBeUndefined();
  });
});

describe('words for users', () => {
  it('formats sizes and waits', () => {
    expect(formatBytes(20 * 1024 * 1024)).toBe('20 MB');
    expect(formatBytes(3.45 * 1024 * 1024)).toBe('3.5 MB');
    expect(formatBytes(2048)).toBe('2 KB');
    expect(formatWait(30_000)).toBe('30 s');
    expect(formatWait(12 * 60_000)).toBe('12 min');
    expect(formatWait(200 * 60_000)).toBe('3 h 20 min');
    expect(REPLIES.fileTooLarge('voice note', 23 * 1024 * 1024, 20 * 1024 * 1024)).toBe('That voice note is 23 MB, more than the 20 MB I can take.');
  });
  it('quotes a translation like a transcript', () => {
    expect(REPLIES.translation('good morning')).toBe('🌐 “good morning”');
    expect(REPLIES.translation('word '.repeat(500)).endsWith('…”')).toBe(true);
  });
  it('quotes a long transcript short', () => {
    const quoted = REPLIES.transcript('word '.repeat(500));
    expect(quoted.length).toBeLessThan(620);
    expect(quoted.endsWith('…”')).toBe(true);
  });
  it('knows which models see images', () => {
    for (const model of ['gpt-4o-mini', 'gpt-4.1', 'gpt-5-mini', 'o3', 'switchboard-demo']) expect(acceptsImages(model), model).toBe(true);
    for (const model of ['gpt-3.5-turbo', 'o3-mini', 'llama-3-8b']) expect(acceptsImages(model), model).toBe(false);
  });
});
