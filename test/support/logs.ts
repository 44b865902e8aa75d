/**
 * A real service logger whose lines the test can read, to prove what never reaches a log.
 * Every captured line is also appended to the run's log directory, and every secret a
 * test names is registered there, so the global teardown (test/support/global-setup.ts)
 * can check every line the whole suite logged against every secret any test used.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inject } from 'vitest';
import { createLogger } from '../../src/infra/log/logger.js';

export interface CapturedLogs {
  readonly log: ReturnType<typeof createLogger>;
  /** Every line written so far. */
  readonly lines: string[];
}

/** The run's log directory, when the global setup provided one. */
function logDir(): string | undefined {
  try {
    return inject('logDir');
  } catch {
    return undefined;
  }
}

/** Registers values that must never appear in any log line of the run (checked at the end). */
export function forbidInLogs(...secrets: readonly string[]): void {
  const dir = logDir();
  if (!dir) return;
  for (const secret of secrets) if (secret.length >= 6) appendFileSync(path.join(dir, 'secrets.txt'), `${JSON.stringify(secret)}\n`);
}

/**
 * Returns a function that adds a log line another process wrote (a service process the
 * test started) to the run's lines, so the run-wide secret check reads it too.
 */
export function runLogAppender(name: string): (line: string) => void {
  const dir = logDir();
  if (!dir) return () => undefined;
  const file = path.join(dir, `lines-${process.pid}-${name}.log`);
  return (line) => appendFileSync(file, line.endsWith('\n') ? line : `${line}\n`);
}

/**
 * Creates a debug-level logger that records its lines. `secrets` are what the logger
 * scrubs; pass none to prove a component never writes a secret in the first place (and
 * name it with `forbidden`, or forbidInLogs, so the run-wide check knows it).
 */
export function captureLogs(secrets: readonly string[] = [], options: { readonly forbidden?: readonly string[] } = {}): CapturedLogs {
  const lines: string[] = [];
  const dir = logDir();
  const file = dir === undefined ? undefined : path.join(dir, `lines-${process.pid}.log`);
  forbidInLogs(...secrets, ...(options.forbidden ?? []));
  const log = createLogger({
    level: 'debug',
    secrets,
    destination: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const line = chunk.toString();
        lines.push(line);
        if (file) appendFileSync(file, line.endsWith('\n') ? line : `${line}\n`);
        callback();
      },
    }),
  });
  return { log, lines };
}
