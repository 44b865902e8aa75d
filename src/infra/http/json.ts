/**
 * JSON answers of the HTTP server and its routes (health, metrics, the playground's API):
 * one writer, so every JSON answer carries the same headers.
 */
import type { ServerResponse } from 'node:http';

/**
 * Writes a JSON answer that no cache keeps (every one is live state: health, a job id, a
 * history) and no browser sniffs as anything else; `headers` add to these or replace them.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(payload);
}
