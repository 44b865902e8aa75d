import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger, createScrubber, REDACTED } from '../../src/infra/log/logger.js';
import { createPrettyDestination, isTerminal } from '../../src/infra/log/pretty.js';

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { stream, lines };
}

describe('logger', () => {
  const apiKey = 'sk-proj-0123456789abcdefghij';
  const botToken = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

  it('never writes a configured secret, wherever it appears', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'debug', secrets: [apiKey, botToken], destination: stream });
    log.info({ url: `https://api.telegram.org/file/bot${botToken}/voice/file_1.oga` }, 'downloading');
    log.error({ err: new Error(`request to https://api.telegram.org/bot${botToken}/getFile failed`) }, 'failed');
    log.warn({ headers: { authorization: `Bearer ${apiKey}` } }, 'upstream said no');
    log.info({ apiKey, token: botToken, nested: { note: `key=${encodeURIComponent(apiKey)}` } }, `using ${apiKey}`);
    const output = lines.join('');
    expect(lines.length).toBe(4);
    expect(output).not.toContain(apiKey);
    expect(output).not.toContain(botToken);
    expect(output).not.toContain('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw');
    expect(output).toContain(REDACTED);
    expect(output).toContain('downloading');
  });

  it('prints readable lines for a terminal, with no secret in them either', async () => {
    const { stream, lines } = capture();
    const destination = await createPrettyDestination({ destination: stream, colorize: false });
    const log = createLogger({ level: 'debug', secrets: [apiKey, botToken], destination });
    log.info({ url: `https://api.telegram.org/file/bot${botToken}/voice/file_1.oga` }, 'downloading');
    log.error({ err: new Error(`request to https://api.telegram.org/bot${botToken}/getFile failed`) }, 'failed');
    log.warn({ headers: { authorization: `Bearer ${apiKey}` }, token: botToken }, `upstream said no to ${apiKey}`);
    await expect.poll(() => lines.join('')).toContain('upstream said no');
    const output = lines.join('');
    // One readable line per entry (level and message first), not JSON.
    expect(output).not.toMatch(/^\{/m);
    expect(output).toMatch(/INFO.*: downloading/);
    expect(output).toMatch(/ERROR.*: failed/);
    expect(output).toContain(REDACTED);
    expect(output).not.toContain(apiKey);
    expect(output).not.toContain(botToken);
    expect(output).not.toContain('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw');
  });

  it('is readable only where a person reads it: a terminal', () => {
    expect(isTerminal({ isTTY: true })).toBe(true);
    expect(isTerminal({ isTTY: false })).toBe(false);
    expect(isTerminal({})).toBe(false);
  });

  it('scrubs JSON-escaped and URL-encoded forms', () => {
    const scrub = createScrubber(['a/b"c+d=e']);
    expect(scrub('x a/b"c+d=e y')).toBe(`x ${REDACTED} y`);
    expect(scrub(JSON.stringify({ v: 'a/b"c+d=e' }))).not.toContain('c+d=e');
    expect(scrub(encodeURIComponent('a/b"c+d=e'))).toBe(REDACTED);
  });
});
