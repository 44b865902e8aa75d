/**
 * Errors of the Discord adapter. Each says which side failed (STYLE.md): Discord refused
 * the request (with its status and JSON error code), or the network failed. They carry
 * the route template, never the URL: interaction webhook URLs embed a token, and nothing
 * here ever sees the bot token in text form.
 * https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
 */
import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';

/** Discord answered a REST call with an error status. */
export class DiscordApiError extends Error {
  override readonly name = 'DiscordApiError';
  constructor(
    message: string,
    readonly status: number,
    /** Discord's JSON error code, e.g. 50035 (Invalid Form Body), or undefined. */
    readonly discordCode: number | undefined,
    /** What was called, e.g. `POST /channels/:id/messages`. */
    readonly route: string,
  ) {
    super(message);
  }
}

/** A REST call to Discord did not get an answer (DNS, refused, reset, timeout). */
export class DiscordNetworkError extends Error {
  override readonly name = 'DiscordNetworkError';
  constructor(
    message: string,
    readonly route: string,
  ) {
    super(message);
  }
}

/**
 * Maps whatever @discordjs/rest threw into one of our classes. The original error is not
 * kept as `cause`: its `url` would put an interaction token into the logs.
 */
export function toDiscordError(error: unknown, route: string): DiscordApiError | DiscordNetworkError {
  if (error instanceof DiscordAPIError) {
    const code = typeof error.code === 'number' ? error.code : undefined;
    return new DiscordApiError(`Discord refused ${route}: ${error.status} ${error.message}`, error.status, code, route);
  }
  if (error instanceof HTTPError) {
    return new DiscordApiError(`Discord answered ${route} with ${error.status} ${error.name}`, error.status, undefined, route);
  }
  if (error instanceof RateLimitError) {
    return new DiscordApiError(`Discord rate limited ${route} for ${error.retryAfter} ms`, 429, undefined, route);
  }
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new DiscordNetworkError(`Could not reach Discord for ${route} (${reason})`, route);
}
