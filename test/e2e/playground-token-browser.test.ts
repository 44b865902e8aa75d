/**
 * Issue #17 in a real headless Chromium, against the whole service with PLAYGROUND_TOKEN
 * set (required whenever it is, so 127.0.0.1 serves: the exposed bind itself is tested in
 * test/e2e/exposed.test.ts): the page asks for the token, refuses a wrong one, then works
 * (messages, the event stream, a drawn picture); the token never appears in the DOM or
 * in any URL the page requests, only in the Authorization header and the tab's session
 * storage; and the Content-Security-Policy blocks an injected inline script.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { launchChromium } from '../support/chromium.js';
import { captureLogs } from '../support/logs.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

/** Longest wait for one thing on the page. */
const UI_TIMEOUT_MS = 15_000;
const TOKEN = `pg-${randomBytes(16).toString('hex')}`;
const WRONG_TOKEN = `pg-${randomBytes(16).toString('hex')}`;
/** Where the page keeps the token (this tab only). */
const TOKEN_KEY = 'switchboard.playgroundToken';

const { log, lines: logLines } = captureLogs([], { forbidden: [TOKEN, WRONG_TOKEN] });
const channelName = () => `tok-${randomBytes(4).toString('hex')}`;

/** The final (no longer streaming) assistant message that contains `text`. */
const finalReply = (page: Page, text: string) => page.locator('li.msg.assistant:not(.streaming)').filter({ hasText: text });

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Playground token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Waits until the channel is open: its history loaded and its event stream connected. */
async function channelOpen(page: Page, channel: string): Promise<void> {
  await page.locator('#channel-title').filter({ hasText: `#${channel}` }).waitFor();
  await page.waitForFunction(() => document.querySelector('#connection')?.textContent === '');
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

/** Everything of the page a script or a person could read the token from, but its storage. */
function pageText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const values = Array.from(document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input, textarea'), (el) => el.value);
    return [document.documentElement.outerHTML, location.href, document.title, ...values].join('\n');
  });
}

describe('playground with PLAYGROUND_TOKEN in a browser', () => {
  let fake: FakeOpenAI;
  let app: RunningApp;
  let browser: Browser;
  let context: BrowserContext;
  const requests: Request[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fake = await createFakeOpenAI({ streamDelayMs: 10 });
    app = await startApp(
      parseConfig({ REDIS_URL: testRedisUrl(), PORT: '0', QUEUE_PREFIX: uniquePrefix('uitok'), OPENAI_BASE_URL: fake.url, PLAYGROUND_TOKEN: TOKEN }),
      { log },
    );
    browser = await launchChromium(UI_TIMEOUT_MS);
    context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    context.on('request', (request) => requests.push(request));
    context.on('page', (page) => {
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      page.on('console', (message) => {
        // A refused token is a 401 the browser reports; the page shows it in words.
        if (message.type() === 'error' && !/status of 401/.test(message.text())) pageErrors.push(message.text());
      });
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await fake?.stop();
    expect(logLines.filter((line) => line.includes(TOKEN) || line.includes(WRONG_TOKEN))).toEqual([]);
  });

  it('asks for the token, refuses a wrong one, then works; the token is in no URL and nowhere in the page', async () => {
    const channel = channelName();
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    await page.goto(`${app.url}/#${channel}`);
    await page.getByLabel('Playground token').waitFor();
    expect(await page.locator('#layout').isHidden()).toBe(true);

    await signIn(page, WRONG_TOKEN);
    await page.locator('#token-error').filter({ hasText: 'That token was not accepted.' }).waitFor();
    expect(await page.locator('#layout').isHidden()).toBe(true);
    expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBeNull();

    await signIn(page, TOKEN);
    await channelOpen(page, channel);
    expect(await page.getByLabel('Playground token').isHidden()).toBe(true);
    await page.locator('#model').filter({ hasText: 'gpt-4o-mini' }).waitFor();
    await send(page, 'hello with a token');
    await finalReply(page, 'Echo: hello with a token').waitFor();

    // A picture the bot drew is fetched with the token (an <img> cannot send it) into a blob: URL.
    await send(page, '/image a red fox');
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('li.msg.assistant .media img');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    expect(await page.locator('li.msg.assistant .media img').getAttribute('src')).toMatch(/^blob:/);

    // Kept for this tab only, and nowhere a person or a URL could see it.
    expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBe(TOKEN);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(TOKEN);
    expect(await pageText(page)).not.toContain(TOKEN);
    expect(requests.filter((r) => r.url().includes(TOKEN) || r.url().includes(WRONG_TOKEN)).map((r) => r.url())).toEqual([]);
    // Every API call the page made after signing in carried it as a Bearer token, the event stream included.
    const api = requests.filter((r) => new URL(r.url()).pathname.startsWith('/api/'));
    const signedIn = api.slice(api.findLastIndex((r) => r.headers()['authorization'] === `Bearer ${WRONG_TOKEN}`) + 1);
    expect(signedIn.map((r) => new URL(r.url()).pathname)).toEqual(
      expect.arrayContaining(['/api/info', `/api/channels/${channel}/events`, `/api/channels/${channel}/history`, `/api/channels/${channel}/messages`]),
    );
    expect(signedIn.some((r) => new URL(r.url()).pathname.startsWith('/api/files/'))).toBe(true);
    for (const request of signedIn) expect(request.headers()['authorization'], request.url()).toBe(`Bearer ${TOKEN}`);

    // A reload keeps the tab signed in, and the conversation comes back from history.
    await page.reload();
    await channelOpen(page, channel);
    await finalReply(page, 'Echo: hello with a token').waitFor();
    expect(await page.getByLabel('Playground token').isHidden()).toBe(true);
    await page.close();
  });

  it('asks again in another session, and when the kept token is no longer accepted', async () => {
    const other = await browser.newContext();
    try {
      const page = await other.newPage();
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      await page.goto(`${app.url}/`);
      await page.getByLabel('Playground token').waitFor();

      // A token kept from before that the server no longer takes (it was changed).
      await page.evaluate(([key, token]) => sessionStorage.setItem(key!, token!), [TOKEN_KEY, WRONG_TOKEN]);
      await page.reload();
      await page.locator('#token-error').filter({ hasText: 'The token is no longer accepted. Enter it again.' }).waitFor();
      expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBeNull();
    } finally {
      await other.close();
    }
  });

  it('signs out once when the token is refused while open, and a late refusal keeps what the sign-in form says and holds', async () => {
    const other = await browser.newContext();
    try {
      const channel = channelName();
      const page = await other.newPage();
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      await page.goto(`${app.url}/#${channel}`);
      await signIn(page, TOKEN);
      await channelOpen(page, channel);

      // The token changes on the server: every API call is refused from now on.
      await page.route('**/api/**', (route) =>
        route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unauthorized', message: 'no' } }) }),
      );
      await send(page, 'hello after the token changed');
      await page.locator('#token-error').filter({ hasText: 'The token is no longer accepted. Enter it again.' }).waitFor();
      await page.getByLabel('Playground token').fill('half-typed');

      // A request still in flight when the token was refused (a picture, the event stream) is refused too.
      await page.evaluate(() => window.dispatchEvent(new Event('switchboard:unauthorized')));
      expect(await page.getByLabel('Playground token').inputValue()).toBe('half-typed');
      expect(await page.locator('#token-error').textContent()).toBe('The token is no longer accepted. Enter it again.');
      expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBeNull();
    } finally {
      await other.close();
    }
  });

  it('blocks an injected inline script with its Content-Security-Policy', async () => {
    const channel = channelName();
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    const response = await page.goto(`${app.url}/#${channel}`);
    const csp = (await response?.allHeaders())?.['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    // A new tab has its own session storage: it asks again.
    await signIn(page, TOKEN);
    await channelOpen(page, channel);

    await page.evaluate(() => {
      const seen = window as unknown as { __violations: string[] };
      seen.__violations = [];
      document.addEventListener('securitypolicyviolation', (event) => seen.__violations.push(event.effectiveDirective));
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true;';
      document.body.append(script);
      const holder = document.createElement('div');
      holder.innerHTML = '<img src="data:," onerror="window.__handlerRan = true">';
      document.body.append(holder);
    });
    await page.waitForFunction(() => (window as unknown as { __violations: string[] }).__violations.length >= 2);
    const outcome = await page.evaluate(() => {
      const w = window as unknown as { __inlineRan?: boolean; __handlerRan?: boolean; __violations: string[] };
      return { inline: w.__inlineRan ?? false, handler: w.__handlerRan ?? false, violations: w.__violations };
    });
    expect(outcome.inline).toBe(false);
    expect(outcome.handler).toBe(false);
    expect(outcome.violations.every((directive) => directive.startsWith('script-src'))).toBe(true);
    await page.close();
  });

  it('logged no errors in the pages but the refused inline script', () => {
    expect(pageErrors.filter((text) => !/Content Security Policy/.test(text))).toEqual([]);
  });
});
