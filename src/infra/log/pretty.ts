/**
 * Readable log lines for a person at a terminal (`npm start` on a TTY): pino-pretty turns
 * each JSON line into one line of time, level and message, the fields indented below it.
 * It reads the lines after logger.ts has redacted and scrubbed them, so a secret reaches a
 * terminal no more than a file. Anywhere else (a pipe, a file, Docker) lines stay JSON.
 * https://github.com/pinojs/pino-pretty
 */
import type { DestinationStream } from 'pino';

/** Fields every line carries that say nothing to a person reading one process's output. */
const HIDDEN_FIELDS = 'pid,hostname,service';
/** Local wall-clock time with milliseconds: the date is the terminal's business. */
const TIME_FORMAT = 'SYS:HH:MM:ss.l';

/** Whether a person reads this process's logs as they come: its stdout is a terminal. */
export function isTerminal(stream: { readonly isTTY?: boolean } = process.stdout): boolean {
  return stream.isTTY === true;
}

export interface PrettyOptions {
  /** Where the readable lines go; stdout by default. Tests pass a stream to read them. */
  readonly destination?: NodeJS.WritableStream;
  /** Colours; by default when the terminal supports them (and NO_COLOR is unset). */
  readonly colorize?: boolean;
}

/**
 * A pino destination that prints readable lines. pino-pretty is loaded here, on first
 * use, so processes whose logs stay JSON never load it.
 */
export async function createPrettyDestination(options: PrettyOptions = {}): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    ignore: HIDDEN_FIELDS,
    translateTime: TIME_FORMAT,
    ...(options.colorize === undefined ? {} : { colorize: options.colorize }),
    ...(options.destination === undefined ? {} : { destination: options.destination }),
  });
}
