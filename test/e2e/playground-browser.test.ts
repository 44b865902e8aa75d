/**
 * The playground page in a real headless Chromium, against the whole service (real
 * Redis, BullMQ, workers) and the fake OpenAI server: type, press Enter, watch the
 * streamed reply; a second tab of the channel shows the same conversation.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import type { Logger } from '../../src/ports/index.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { launchChromium } from '../support/chromium.js';

/** Longest wait for one thing on the page. */
const UI_TIMEOUT_MS = 15_000;
/** Where the screenshot goes for a person to look at (not committed). */
const SCREENSHOT_PATH = '/tmp/playground.png';


const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const channelName = () => `ui-${randomBytes(4).toString('hex')}`;

async function startService(env: Record<string, string>) {
  return startApp(
    parseConfig({ REDIS_URL: testRedisUrl(), PORT: '0', QUEUE_PREFIX: uniquePrefix('ui'), ...env }),
    { log: silent },
  );
}

/** Opens the page on `channel` and waits until history is loaded and the event stream is open. */
async function openChannel(context: BrowserContext, url: string, channel: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  await page.goto(`${url}/#${channel}`);
  await expectText(page.locator('#channel-title'), `#${channel}`);
  await page.waitForFunction(() => document.querySelector('#connection')?.textContent === '');
  return page;
}

async function expectText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: UI_TIMEOUT_MS });
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

/** The final (no longer streaming) assistant message that contains `text`. */
const finalReply = (page: Page, text: string) => page.locator('li.msg.assistant:not(.streaming)').filter({ hasText: text });

describe('playground in a browser', () => {
  let fake: FakeOpenAI;
  let app: { url: string; stop(): Promise<void> };
  let browser: Browser;
  let context: BrowserContext;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fake = await createFakeOpenAI({ streamDelayMs: 15 });
    app = await startService({ OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test-key' });
    browser = await launchChromium(UI_TIMEOUT_MS);
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

  it('sends on Enter and shows the streamed reply; a second tab sees the same conversation', async () => {
    const channel = channelName();
    const first = await openChannel(context, app.url, channel);
    expect(await first.locator('#demo-banner').isHidden()).toBe(true);
    await expectText(first.locator('#model'), 'gpt-4o-mini');

    await send(first, 'hello from the browser');
    await expectText(first.locator('li.msg.user'), 'hello from the browser');
    expect(await first.getByLabel('Message', { exact: true }).inputValue()).toBe('');
    await finalReply(first, 'Echo: hello from the browser').waitFor();
    expect(await first.locator('li.msg').count()).toBe(2);

    // A second tab loads the conversation from history, then both see new turns live.
    const second = await openChannel(context, app.url, channel);
    await finalReply(second, 'Echo: hello from the browser').waitFor();
    await expectText(second.locator('li.msg.user'), 'hello from the browser');

    await send(second, 'and hello from tab two');
    for (const page of [first, second]) {
      await finalReply(page, 'Echo: and hello from tab two').waitFor();
      await expectText(page.locator('li.msg.user'), 'and hello from tab two');
      expect(await page.locator('li.msg').count()).toBe(4);
    }
    expect(await first.locator('#typing').isHidden()).toBe(true);

    // Shift+Enter is a new line, not a send.
    const box = first.getByLabel('Message', { exact: true });
    await box.fill('line one');
    await box.press('Shift+Enter');
    await box.pressSequentially('line two');
    expect(await box.inputValue()).toBe('line one\nline two');
    expect(await first.locator('li.msg').count()).toBe(4);
    await box.fill('');
    await second.close();
  });

  it('renders the model’s Markdown and never the model’s HTML', async () => {
    fake.chatReply = () =>
      [
        'Here is **bold**, *italic*, `inline <b>code</b>` and a [safe link](https://example.com/docs).',
        'Not a link: [bad](javascript:alert(1)) and raw <img src=x onerror="window.__pwned=1"> html.',
        '```ts',
        'const tag = "<script>alert(1)</script>";',
        '```',
      ].join('\n');
    try {
      const channel = channelName();
      const page = await openChannel(context, app.url, channel);
      // Notes whether the reply was ever on screen mid-stream (it streams over ~0.5 s).
      await page.evaluate(() => {
        const seen = window as unknown as { __sawStreaming?: boolean };
        new MutationObserver(() => {
          if (document.querySelector('li.msg.assistant.streaming')) seen.__sawStreaming = true;
        }).observe(document.getElementById('messages') as HTMLElement, { subtree: true, childList: true, attributes: true });
      });
      await send(page, 'show me some markdown');
      const reply = finalReply(page, 'Here is');
      await reply.waitFor();
      expect(await reply.locator('strong').first().textContent()).toBe('bold');
      expect(await reply.locator('em').first().textContent()).toBe('italic');
      expect(await reply.locator('code').first().textContent()).toBe('inline <b>code</b>');
      expect(await reply.locator('pre code').textContent()).toBe('const tag = "<script>alert(1)</script>";');
      const links = reply.locator('a');
      expect(await links.count()).toBe(1);
      expect(await links.first().getAttribute('href')).toBe('https://example.com/docs');
      expect(await reply.locator('img, script, b').count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.evaluate(() => (window as unknown as { __sawStreaming?: boolean }).__sawStreaming)).toBe(true);

      await page.screenshot({ path: SCREENSHOT_PATH });
      await page.close();
    } finally {
      fake.reset();
    }
  });

  it('shows "typing…" while the model works, and hides it when the reply comes', async () => {
    fake.enqueueFault({ kind: 'slow', path: '/chat/completions', delayMs: 1_500 });
    const page = await openChannel(context, app.url, channelName());
    await send(page, 'take your time');
    await page.locator('#typing').waitFor({ state: 'visible' });
    expect(await page.locator('#typing').textContent()).toContain('typing…');
    await finalReply(page, 'Echo: take your time').waitFor();
    await page.locator('#typing').waitFor({ state: 'hidden' });
    await page.close();
  });

  it('lists recent channels and opens a new one from the form', async () => {
    const page = await openChannel(context, app.url, channelName());
    const next = channelName();
    await page.getByLabel('New or existing channel').fill(`#${next.toUpperCase()}`);
    await page.getByRole('button', { name: 'Open' }).click();
    await expectText(page.locator('#channel-title'), `#${next}`);
    expect(page.url()).toContain(`#${next}`);
    await expectText(page.locator('#recent a[aria-current="page"]'), `#${next}`);
    await page.close();
  });

  it('logged no errors in the pages', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe('playground with the offline demo model', () => {
  let app: { url: string; stop(): Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    app = await startService({});
    browser = await launchChromium(UI_TIMEOUT_MS);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('says clearly that answers are canned', async () => {
    const context = await browser.newContext();
    const page = await openChannel(context, app.url, channelName());
    const banner = page.locator('#demo-banner');
    await banner.waitFor({ state: 'visible' });
    expect(await banner.textContent()).toContain(
      'Offline demo model — answers are canned. Set OPENAI_API_KEY or OPENAI_BASE_URL for real answers.',
    );
    await context.close();
  });
});
