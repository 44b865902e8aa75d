/**
 * The service logger: pino, JSON lines (made readable on a terminal by pretty.ts, after
 * this file's scrubbing), with secrets removed twice over — known secret
 * fields are redacted by path, and every configured secret value (API key, bot tokens,
 * webhook secret) is replaced wherever it appears in a line, which also covers Telegram
 * file URLs (they embed the bot token) inside error messages and stacks.
 * https://getpino.io/#/docs/redaction
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { traceFieldsOfLogLine } from '../tracing/spans.js';

/** What a secret is replaced with in log output. */
export const REDACTED = '[redacted]';

/** Field paths pino censors wherever they occur (one level deep and in headers). */
const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'headers["x-telegram-bot-api-secret-token"]',
  '*.headers["x-telegram-bot-api-secret-token"]',
];

export interface LoggerOptions {
  readonly level: string;
  /** Values that must never appear in a log line. */
  readonly secrets: readonly string[];
  /** Where lines go; stdout by default. Tests pass a stream to read what was logged. */
  readonly destination?: DestinationStream;
  readonly base?: Record<string, unknown>;
  /**
   * With tracing on: every line written inside a span carries its `trace_id` and
   * `span_id`, so a log line leads to its trace. Off, no line pays for looking.
   */
  readonly traceIds?: boolean;
}

/** Creates the root logger. */
export function createLogger(options: LoggerOptions): PinoLogger {
  const scrub = createScrubber(options.secrets);
  return pino(
    {
      level: options.level,
      base: { service: 'switchboard', ...options.base },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: { streamWrite: scrub },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
      ...(options.traceIds ? { mixin: traceFieldsOfLogLine } : {}),
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

/**
 * Returns a function that replaces every secret in a string, including its JSON-escaped
 * and URL-encoded forms (a token inside a serialized URL is written either way).
 */
export function createScrubber(secrets: readonly string[]): (text: string) => string {
  const variants = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 6) continue;
    variants.add(secret);
    variants.add(JSON.stringify(secret).slice(1, -1));
    variants.add(encodeURIComponent(secret));
  }
  if (variants.size === 0) return (text) => text;
  const pattern = new RegExp([...variants].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
  return (text) => text.replace(pattern, REDACTED);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
