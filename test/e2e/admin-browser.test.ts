/**
 * The operator page (/admin) in a real headless Chromium, against the whole service (real
 * Redis, BullMQ, workers), the fake OpenAI and the fake Telegram Bot API: sign in with the
 * token, see the queue depths, the worker count and a failed job with its reason, watch
 * the page refresh by itself; the token never appears in any URL the page requests.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import type { OpsSnapshot } from '../../src/ports/index.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { createFakeTelegram, type FakeChat, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import { captureLogs } from '../support/logs.js';
import { postMessage } from '../support/playground-client.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { launchChromium } from '../support/chromium.js';

/** Longest wait for one thing on the page (the page refreshes every 5 s). */
const UI_TIMEOUT_MS = 15_000;
/** Where the screenshot goes for a person to look at (not committed). */
const SCREENSHOT_PATH = '/tmp/admin.png';
const ADMIN_TOKEN = `adm-${randomBytes(16).toString('hex')}`;
const TELEGRAM_TOKEN = '135791:ADMIN-browser-token';
const REASON = 'Telegram sendMessage failed: 403 Forbidden: bot was blocked by the user';
const ann: FakeUser = { id: 5151, is_bot: false, first_name: 'Ann' };
const dm: FakeChat = { id: 5151, type: 'private', first_name: 'Ann' };


const { log, lines: logLines } = captureLogs([], { forbidden: [ADMIN_TOKEN, TELEGRAM_TOKEN] });

async function startService(env: Record<string, string>, role: 'all' | 'gateway'): Promise<RunningApp> {
  return startApp(
    parseConfig({ REDIS_URL: testRedisUrl(), PORT: '0', QUEUE_PREFIX: uniquePrefix('adminui'), ADMIN_TOKEN, ...env }),
    { log, role },
  );
}

async function openAdmin(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  await page.goto(`${url}/admin`);
  return page;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Show' }).click();
}

/** The cell of `state` in the row of job kind `kind` in the queues table. */
const depth = (page: Page, kind: string, state: string) => page.locator(`#queues tr[data-kind="${kind}"] td[data-state="${state}"]`);

async function expectText(locator: ReturnType<Page['locator']>, text: string | RegExp): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: UI_TIMEOUT_MS });
}

describe('operator page in a browser', () => {
  let openai: FakeOpenAI;
  let telegram: FakeTelegram;
  let app: RunningApp;
  let gateway: RunningApp;
  let browser: Browser;
  let context: BrowserContext;
  const pageErrors: string[] = [];
  const requestedUrls: string[] = [];

  beforeAll(async () => {
    openai = await createFakeOpenAI();
    telegram = await createFakeTelegram({ token: TELEGRAM_TOKEN });
    app = await startService(
      { OPENAI_BASE_URL: openai.url, TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN, TELEGRAM_API_ROOT: telegram.url, JOB_ATTEMPTS: '1' },
      'all',
    );
    gateway = await startService({ OPENAI_BASE_URL: openai.url }, 'gateway');
    browser = await launchChromium(UI_TIMEOUT_MS);
    context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    context.on('request', (request) => requestedUrls.push(request.url()));
    context.on('page', (page) => {
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      page.on('console', (message) => {
        // The wrong token's 401 is logged by Chromium as a failed resource; that one is expected.
        if (message.type() === 'error' && !/status of 401/.test(message.text())) pageErrors.push(message.text());
      });
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await gateway?.stop();
    await telegram?.stop();
    await openai?.stop();
    expect(logLines.filter((line) => line.includes(ADMIN_TOKEN))).toEqual([]);
  });

  it('signs in with the token, shows depths, workers and a failure with its reason, and refreshes by itself', async () => {
    // A job that fails for good: the user blocked the bot, and there is one attempt.
    telegram.failNext({ method: 'sendMessage', error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    telegram.message({ chat: dm, from: ann, text: 'hello?' });
    await vi.waitFor(async () => {
      const response = await fetch(`${app.url}/api/admin/snapshot`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(((await response.json()) as OpsSnapshot).failures).toHaveLength(1);
    }, { timeout: UI_TIMEOUT_MS, interval: 50 });

    const page = await openAdmin(context, app.url);
    const field = page.getByLabel('Admin token');
    await expect.poll(() => field.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await page.locator('#dashboard').isHidden()).toBe(true);

    await signIn(page, `${ADMIN_TOKEN.slice(0, -1)}x`);
    await expectText(page.getByRole('alert'), 'That token was not accepted.');
    expect(await page.locator('#dashboard').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await signIn(page, ADMIN_TOKEN);
    await expectText(page.locator('#workers'), '1 worker process connected.');
    expect(await page.locator('#sign-in').isHidden()).toBe(true);
    await expectText(depth(page, 'chat', 'failed'), /^1$/);
    expect(await depth(page, 'chat', 'workers').textContent()).toBe('1');
    expect(await depth(page, 'moderate', 'workers').textContent()).toBe('1');
    const failure = page.locator('#failures tbody tr');
    await expect.poll(() => failure.count()).toBe(1);
    const cells = await failure.first().locator('td').allTextContents();
    // No trace id: this process does not trace.
    expect(cells.slice(1)).toEqual(['chat', `telegram ${dm.id}`, expect.stringMatching(/^telegram:5151:\d+$/), '1', REASON, '—']);
    expect(await page.locator('#no-failures').isHidden()).toBe(true);

    // The page asks again every few seconds: a message answered meanwhile shows up as completed.
    expect(await depth(page, 'chat', 'completed').textContent()).toBe('0');
    expect((await postMessage(app.url, 'ops-check', 'are you there?')).status).toBe(202);
    await expectText(depth(page, 'chat', 'completed'), /^1$/);
    await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });

    // The token lives in this tab's session: a reload needs no sign-in; forgetting it does.
    await page.reload();
    await expectText(page.locator('#workers'), '1 worker process connected.');
    expect(await page.locator('#sign-in').isHidden()).toBe(true);
    await page.getByRole('button', { name: 'Forget token' }).click();
    expect(await page.locator('#sign-in').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.close();
  });

  it('shows jobs waiting, and that no worker is connected, under a gateway alone', async () => {
    for (const text of ['first', 'second']) expect((await postMessage(gateway.url, 'queued', text)).status).toBe(202);
    const page = await openAdmin(context, gateway.url);
    await signIn(page, ADMIN_TOKEN);
    await expectText(page.locator('#workers'), 'No worker process is connected');
    expect(await depth(page, 'chat', 'waiting').textContent()).toBe('2');
    expect(await depth(page, 'chat', 'workers').textContent()).toBe('0');
    expect(await page.locator('#no-failures').isVisible()).toBe(true);
    expect(await page.locator('#failures').isHidden()).toBe(true);
    await page.close();
  });

  it('never puts the token in a URL and runs without page errors', () => {
    expect(requestedUrls.length).toBeGreaterThan(0);
    expect(requestedUrls.filter((url) => url.includes(ADMIN_TOKEN))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
