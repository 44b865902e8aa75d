/**
 * Voice notes, photos and `/image` on the playground page, in a real headless Chromium
 * against the whole service and the fake OpenAI server. Chromium's fake microphone
 * (`--use-fake-device-for-media-stream`, a beep) lets MediaRecorder record for real, and
 * `--use-fake-ui-for-media-stream` grants the microphone without a prompt.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { REPLIES } from '../../src/domain/replies.js';
import type { Logger } from '../../src/ports/index.js';
import { createFakeOpenAI, type FakeOpenAI, type MultipartFile } from '../fakes/openai.js';
import { createPng } from '../fakes/png.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { FAKE_MICROPHONE_ARGS, launchChromium } from '../support/chromium.js';

/** Longest wait for one thing on the page. */
const UI_TIMEOUT_MS = 15_000;
const TRANSCRIPT = 'hello from the microphone';
/** Where the screenshot goes for a person to look at (not committed). */
const SCREENSHOT_PATH = '/tmp/playground-media.png';


const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const channelName = () => `uim-${randomBytes(4).toString('hex')}`;

async function openChannel(context: BrowserContext, url: string, channel: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  await page.goto(`${url}/#${channel}`);
  await page.locator('#channel-title').filter({ hasText: `#${channel}` }).waitFor();
  await page.waitForFunction(() => document.querySelector('#connection')?.textContent === '');
  return page;
}

/** The final (no longer streaming) assistant message that contains `text`. */
const finalReply = (page: Page, text: string) => page.locator('li.msg.assistant:not(.streaming)').filter({ hasText: text });

/** Whether an image has loaded and has pixels (a broken one has naturalWidth 0). */
const loaded = (page: Page, selector: string) =>
  page.waitForFunction((s) => {
    const img = document.querySelector<HTMLImageElement>(s);
    return img !== null && img.complete && img.naturalWidth > 0;
  }, selector);

describe('playground voice notes, photos and images in a browser', () => {
  let fake: FakeOpenAI;
  let app: { url: string; stop(): Promise<void> };
  let browser: Browser;
  let context: BrowserContext;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fake = await createFakeOpenAI({ transcript: TRANSCRIPT });
    app = await startApp(
      parseConfig({
        REDIS_URL: testRedisUrl(),
        PORT: '0',
        QUEUE_PREFIX: uniquePrefix('uim'),
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'sk-test-key',
      }),
      { log: silent },
    );
    browser = await launchChromium(UI_TIMEOUT_MS, FAKE_MICROPHONE_ARGS);
    context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    context.on('page', (page) => {
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(message.text());
      });
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await fake?.stop();
  });

  it('records a voice note from the microphone, then shows the transcript and the answer', async () => {
    const page = await openChannel(context, app.url, channelName());
    const record = page.getByRole('button', { name: 'Record' });
    await record.click();
    const status = page.locator('#recording');
    await status.filter({ hasText: 'Recording' }).waitFor();
    const stop = page.getByRole('button', { name: 'Stop' });
    expect(await stop.getAttribute('aria-pressed')).toBe('true');
    // About a second and a half of the fake microphone's beep.
    await status.filter({ hasText: 'Recording 0:01' }).waitFor();
    await page.waitForTimeout(500);
    await stop.click();
    await status.waitFor({ state: 'hidden' });
    expect(await page.getByRole('button', { name: 'Record' }).getAttribute('aria-pressed')).toBe('false');

    // The voice note is in the user's bubble, playable; then what the bot heard, then its answer.
    const mine = page.locator('li.msg.user');
    await mine.locator('audio').waitFor();
    expect(await mine.locator('audio').getAttribute('aria-label')).toMatch(/^Voice note/);
    await finalReply(page, REPLIES.transcript(TRANSCRIPT)).waitFor();
    await finalReply(page, `Echo: ${TRANSCRIPT}`).waitFor();
    expect(await page.locator('li.msg').count()).toBe(3);
    await page.locator('li.msg.user:not(.pending)').waitFor();

    const [transcription] = fake.requestsTo('/audio/transcriptions');
    const file = (transcription?.body as { file: MultipartFile }).file;
    expect(file.filename).toMatch(/\.(webm|ogg|m4a)$/);
    expect(file.size).toBeGreaterThan(0);
    await page.close();
  });

  it('attaches a photo with a caption: the bubble shows it, another tab sees it, and the model answers', async () => {
    const channel = channelName();
    const other = await openChannel(context, app.url, channel);
    const page = await openChannel(context, app.url, channel);
    // The Attach button is a real, focusable button bound to the file input. The file goes
    // straight into that input: headless Chromium does not always raise the file chooser
    // for a tab in the background, which made this test flaky.
    const attach = page.getByRole('button', { name: 'Attach' });
    await attach.focus();
    expect(await attach.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.locator('#file').setInputFiles({ name: 'leaf.png', mimeType: 'image/png', buffer: createPng(16, 16, [40, 160, 60]) });
    await page.locator('#attachment-name').filter({ hasText: 'leaf.png' }).waitFor();
    const box = page.getByLabel('Message', { exact: true });
    await box.fill('what is in this picture?');
    await box.press('Enter');

    await loaded(page, 'li.msg.user .media img');
    await page.locator('li.msg.user').filter({ hasText: 'what is in this picture?' }).waitFor();
    await finalReply(page, 'Echo: what is in this picture?').waitFor();
    expect(await page.locator('#attachment').isHidden()).toBe(true);
    const chat = fake.requestsTo('/chat/completions').find((r) => JSON.stringify(r.body).includes('what is in this picture?'));
    expect(JSON.stringify(chat?.body)).toContain('data:image/png;base64,');

    // The other tab gets the photo from the playground's file route.
    await loaded(other, 'li.msg.user .media img');
    expect(await other.locator('li.msg.user .media img').getAttribute('src')).toMatch(/^\/api\/files\/[a-f0-9]{32}$/);
    await finalReply(other, 'Echo: what is in this picture?').waitFor();
    await other.close();
    await page.close();
  });

  it('says at once when a file cannot be sent, and sends nothing', async () => {
    const page = await openChannel(context, app.url, channelName());
    await page.locator('#file').setInputFiles({ name: 'archive.zip', mimeType: 'application/zip', buffer: Buffer.from('PK') });
    await page
      .locator('#error')
      .filter({ hasText: 'The playground takes voice notes, audio files and PNG, JPEG, WebP or GIF images' })
      .waitFor();
    expect(await page.locator('#attachment').isHidden()).toBe(true);
    expect(await page.locator('li.msg').count()).toBe(0);
    await page.close();
  });

  it('draws /image: says it is drawing, then shows the picture with its caption', async () => {
    fake.enqueueFault({ kind: 'slow', path: '/images/generations', delayMs: 1_500 });
    const page = await openChannel(context, app.url, channelName());
    const box = page.getByLabel('Message', { exact: true });
    await box.fill('/image a lighthouse at dawn');
    await box.press('Enter');
    await page.locator('#typing').filter({ hasText: 'is drawing…' }).waitFor();

    const picture = page.locator('li.msg.assistant').filter({ has: page.locator('img') });
    await picture.filter({ hasText: 'a lighthouse at dawn' }).waitFor();
    await loaded(page, 'li.msg.assistant .media img');
    expect(await picture.locator('img').getAttribute('alt')).toContain('a lighthouse at dawn');
    expect(await picture.locator('img').getAttribute('src')).toMatch(/^\/api\/files\/[a-f0-9]{32}$/);
    await page.locator('#typing').waitFor({ state: 'hidden' });
    await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
    await page.close();
  });

  it('logged no errors in the pages', () => {
    expect(pageErrors).toEqual([]);
  });
});
