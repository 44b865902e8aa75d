/**
 * Voice translation, picture edits and variations in the playground (issue #14), over
 * HTTP against the whole service (real Redis, BullMQ, workers) and the fake OpenAI, which
 * checks every request against the spec: `/translate` with an audio file attached,
 * `/image <prompt>` and `/vary` with a picture attached. The channel's event stream is
 * what the page shows.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebMessage } from '../../adapters/web/index.js';
import { PICTURE_MAX_BYTES } from '../../src/domain/media.js';
import { REPLIES } from '../../src/domain/replies.js';
import type { MultipartFile } from '../fakes/openai.js';
import { finalAnswers, followChannel, sendFile, type ChannelStream } from '../support/playground-client.js';
import { usePlaygroundApp } from '../support/playground-app.js';

const API_KEY = 'sk-test-web-translate-pictures-42';
const h = usePlaygroundApp({ apiKey: API_KEY, label: 'wtp' });
const streams: ChannelStream[] = [];
afterEach(() => {
  for (const stream of streams.splice(0)) stream.close();
});

const channelName = () => `tp-${randomBytes(4).toString('hex')}`;
async function follow(url: string, channel: string): Promise<ChannelStream> {
  const stream = await followChannel(url, channel);
  streams.push(stream);
  return stream;
}
const jpeg = (): Promise<Buffer> => sharp({ create: { width: 50, height: 70, channels: 3, background: { r: 40, g: 160, b: 60 } } }).jpeg().toBuffer();
/** The bot's pictures, in order. */
const pictures = (messages: WebMessage[]) => messages.filter((m) => m.role === 'assistant' && m.attachment?.kind === 'image');

describe('playground: /translate, /image on a picture, /vary', () => {
  it('translates an attached audio file sent with /translate', async () => {
    h.fake.translationReply = () => 'thank you very much';
    const app = await h.start();
    const channel = channelName();
    const stream = await follow(app.url, channel);
    const audio = Buffer.concat([Buffer.from('OggS'), randomBytes(512)]);
    await sendFile(app.url, channel, { bytes: audio, type: 'audio/ogg', name: 'greeting.ogg' }, '/translate');
    const messages = await stream.waitFor((all) => finalAnswers(all).length === 1);
    expect(finalAnswers(messages)).toEqual([REPLIES.translation('thank you very much')]);
    expect(stream.activities).toContain('record_voice');
    const file = (h.fake.requestsTo('/audio/translations')[0]!.body as { file: MultipartFile }).file;
    expect(file.filename).toBe('greeting.ogg');
    expect(file.bytes.equals(audio)).toBe(true);
  });

  it('edits an attached picture sent with /image <prompt>, and shows it with the prompt', async () => {
    const app = await h.start();
    const channel = channelName();
    const stream = await follow(app.url, channel);
    await sendFile(app.url, channel, { bytes: await jpeg(), type: 'image/jpeg', name: 'garden.jpg' }, '/image add a rainbow');
    const messages = await stream.waitFor((all) => pictures(all).length === 1);
    const [edited] = pictures(messages);
    expect(edited).toMatchObject({ text: 'add a rainbow', final: true, attachment: { mimeType: 'image/png', url: expect.stringMatching(/^\/api\/files\/[a-f0-9]{32}$/) } });
    const served = await fetch(`${app.url}${edited!.attachment!.url!}`);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(h.fake.requestsTo('/images/edits')[0]!.body).toMatchObject({ model: 'gpt-image-1', prompt: 'add a rainbow' });
    expect(h.fake.requestsTo('/images/generations')).toEqual([]);
  });

  it('draws IMAGE_VARIATIONS variations of an attached picture sent with /vary, and counts each against the limit', async () => {
    const app = await h.start({ IMAGE_DAILY_LIMIT: '3' });
    const channel = channelName();
    const stream = await follow(app.url, channel);
    await sendFile(app.url, channel, { bytes: await jpeg(), type: 'image/jpeg', name: 'a.jpg' }, '/vary');
    const first = await stream.waitFor((all) => pictures(all).length === 2);
    expect(pictures(first).map((m) => m.replyTo)).toEqual([expect.any(String), expect.any(String)]);
    expect(new Set(pictures(first).map((m) => m.attachment!.url)).size).toBe(2);
    // One use left: the next /vary draws one; the one after is refused.
    await sendFile(app.url, channel, { bytes: await jpeg(), type: 'image/jpeg', name: 'b.jpg' }, '/vary');
    await stream.waitFor((all) => pictures(all).length === 3);
    await sendFile(app.url, channel, { bytes: await jpeg(), type: 'image/jpeg', name: 'c.jpg' }, '/vary');
    const quota = REPLIES.imageQuota(3, 0, 0).split('. ')[0]!;
    await stream.waitFor((all) => finalAnswers(all).some((text) => text.startsWith(quota)));
    expect(h.fake.requestsTo('/images/variations').map((r) => (r.body as { n: string }).n)).toEqual(['2', '1']);
  });

  it('refuses a picture over 20 MB without reading it, and /vary without a picture with how to use it', async () => {
    const app = await h.start();
    const channel = channelName();
    const stream = await follow(app.url, channel);
    const big = Buffer.alloc(PICTURE_MAX_BYTES + 1024, 1);
    big.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    await sendFile(app.url, channel, { bytes: big, type: 'image/png', name: 'huge.png' }, '/vary');
    await stream.waitFor((all) => finalAnswers(all).length === 1);
    const response = await fetch(`${app.url}/api/channels/${channel}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: `m-${randomBytes(6).toString('hex')}`, text: '/vary', author: 'Ann' }),
    });
    expect(response.status).toBe(202);
    const messages = await stream.waitFor((all) => finalAnswers(all).length === 2);
    expect(finalAnswers(messages)).toEqual([REPLIES.fileTooLarge('picture', big.length, PICTURE_MAX_BYTES), REPLIES.varyUsage]);
    expect(h.fake.requestsTo('/images/variations')).toEqual([]);
  });

  it('wrote no log line with the API key', () => {
    expect(h.logLines.length).toBeGreaterThan(0);
    expect(h.logLines.filter((line) => line.includes(API_KEY))).toEqual([]);
  });
});
