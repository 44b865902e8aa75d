/** A real service logger whose lines the test can read, to prove what never reaches a log. */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/infra/log/logger.js';

export interface CapturedLogs {
  readonly log: ReturnType<typeof createLogger>;
  /** Every line written so far. */
  readonly lines: string[];
}

/**
 * Creates a debug-level logger that records its lines. `secrets` are what the logger
 * scrubs; pass none to prove a component never writes a secret in the first place.
 */
export function captureLogs(secrets: readonly string[] = []): CapturedLogs {
  const lines: string[] = [];
  const log = createLogger({
    level: 'debug',
    secrets,
    destination: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    }),
  });
  return { log, lines };
}
