/**
 * Picture variations and voice translation on the playground page (issue #14), in a real
 * headless Chromium against the whole service and the fake OpenAI server: attach a
 * picture and send `/vary`, and two pictures appear; type `/translate`, record, and the
 * English translation appears. Chromium's fake microphone records for real.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { REPLIES } from '../../src/domain/replies.js';
import type { Logger } from '../../src/ports/index.js';
import { createFakeOpenAI, type FakeOpenAI, type MultipartFile } from '../fakes/openai.js';
import { FAKE_MICROPHONE_ARGS, launchChromium } from '../support/chromium.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

/** Longest wait for one thing on the page. */
const UI_TIMEOUT_MS = 15_000;
const TRANSLATION = 'good evening, how are you';
/** Where the screenshot goes for a person to look at (not committed). */
const SCREENSHOT_PATH = '/tmp/playground-pictures.png';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const channelName = () => `pic-${randomBytes(4).toString('hex')}`;

async function openChannel(context: BrowserContext, url: string, channel: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  await page.goto(`${url}/#${channel}`);
  await page.locator('#channel-title').filter({ hasText: `#${channel}` }).waitFor();
  await page.waitForFunction(() => document.querySelector('#connection')?.textContent === '');
  return page;
}

describe('playground pictures and translation in a browser', () => {
  let fake: FakeOpenAI;
  let app: { url: string; stop(): Promise<void> };
  let browser: Browser;
  let context: BrowserContext;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fake = await createFakeOpenAI();
    fake.translationReply = () => TRANSLATION;
    app = await startApp(
      parseConfig({ REDIS_URL: testRedisUrl(), PORT: '0', QUEUE_PREFIX: uniquePrefix('uip'), OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test-key' }),
      { log: silent },
    );
    browser = await launchChromium(UI_TIMEOUT_MS, FAKE_MICROPHONE_ARGS);
    context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
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

  it('attaches a picture, sends /vary, and shows the two variations', async () => {
    const page = await openChannel(context, app.url, channelName());
    const photo = await sharp({ create: { width: 120, height: 80, channels: 3, background: { r: 200, g: 60, b: 120 } } }).png().toBuffer();
    await page.locator('#file').setInputFiles({ name: 'flower.png', mimeType: 'image/png', buffer: photo });
    await page.locator('#attachment-name').filter({ hasText: 'flower.png' }).waitFor();
    const box = page.getByLabel('Message', { exact: true });
    await box.fill('/vary');
    await box.press('Enter');

    // The user's bubble with the picture, then two pictures from the bot, both loaded.
    await page.locator('li.msg.user').filter({ hasText: '/vary' }).locator('img').waitFor();
    const drawn = page.locator('li.msg.assistant .media img');
    await expect.poll(() => drawn.count(), { timeout: UI_TIMEOUT_MS }).toBe(2);
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('li.msg.assistant .media img')).every((img) => img.complete && img.naturalWidth > 0));
    const sources = await drawn.evaluateAll((images) => images.map((img) => img.getAttribute('src')));
    expect(sources).toEqual([expect.stringMatching(/^\/api\/files\/[a-f0-9]{32}$/), expect.stringMatching(/^\/api\/files\/[a-f0-9]{32}$/)]);
    expect(new Set(sources).size).toBe(2);
    expect(fake.requestsTo('/images/variations')[0]!.body).toMatchObject({ model: 'dall-e-2', n: '2' });
    await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
    await page.close();
  });

  it('with /translate in the box, records a voice note and shows its English translation', async () => {
    const page = await openChannel(context, app.url, channelName());
    await page.getByLabel('Message', { exact: true }).fill('/translate');
    await page.getByRole('button', { name: 'Record' }).click();
    const status = page.locator('#recording');
    await status.filter({ hasText: 'Recording 0:01' }).waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await status.waitFor({ state: 'hidden' });

    await page.locator('li.msg.user').filter({ hasText: '/translate' }).locator('audio').waitFor();
    await page.locator('li.msg.assistant:not(.streaming)').filter({ hasText: REPLIES.translation(TRANSLATION) }).waitFor();
    expect(await page.getByLabel('Message', { exact: true }).inputValue()).toBe('');
    const file = (fake.requestsTo('/audio/translations')[0]!.body as { file: MultipartFile }).file;
    expect(file.filename).toMatch(/\.(webm|ogg|m4a)$/);
    expect(fake.requestsTo('/audio/transcriptions')).toEqual([]);
    await page.close();
  });

  it('logged no errors in the pages', () => {
    expect(pageErrors).toEqual([]);
  });
});
