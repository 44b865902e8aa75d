/**
 * SSE decoding of streamed chat completions, on string fixtures only.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
import { describe, expect, it } from 'vitest';
import { AiApiError, AiStreamError } from '../../src/domain/errors.js';
import { createSseDecoder, decodeSse } from '../../src/infra/ai/sse.js';

const chunk = (content: string) => ({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] });

/** A realistic body: CRLF-free, with a comment, unicode, a usage chunk and [DONE]. */
const BODY =
  ': ping\n\n' +
  `data: ${JSON.stringify(chunk('Héllo 🦊'))}\n\n` +
  `data: ${JSON.stringify(chunk(' wörld'))}\n\n` +
  `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { total_tokens: 3 } })}\n\n` +
  'data: [DONE]\n\n';
const EXPECTED = [chunk('Héllo 🦊'), chunk(' wörld'), { object: 'chat.completion.chunk', choices: [], usage: { total_tokens: 3 } }];

/** Splits bytes into two pieces at every index, and into single bytes. */
function* splits(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let i = 0; i <= bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
  yield Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

describe('createSseDecoder', () => {
  it('decodes the same payloads wherever the bytes are split', () => {
    const bytes = new TextEncoder().encode(BODY);
    for (const pieces of splits(bytes)) {
      const { payloads, done } = decodeSse(pieces);
      expect(payloads).toEqual(EXPECTED);
      expect(done).toBe(true);
    }
  });

  it('handles CRLF and CR line endings, also split between \\r and \\n', () => {
    for (const eol of ['\r\n', '\r']) {
      const body = BODY.replaceAll('\n', eol);
      const bytes = new TextEncoder().encode(body);
      for (const pieces of splits(bytes)) expect(decodeSse(pieces).payloads).toEqual(EXPECTED);
    }
  });

  it('joins multi-line data with newlines and ignores comments, ids, event names and retry', () => {
    const body = ': keep-alive\nid: 7\nretry: 1000\nevent: message\ndata: {"a":\ndata: 1}\n\n: ping\n\ndata: [DONE]\n\n';
    expect(decodeSse([body])).toEqual({ payloads: [{ a: 1 }], done: true });
  });

  it('ignores everything after [DONE]', () => {
    const decoder = createSseDecoder();
    expect(decoder.push('data: {"n":1}\n\ndata: [DONE]\n\ndata: {"n":2}\n\n')).toEqual([{ n: 1 }]);
    expect(decoder.push('data: not json\n\n')).toEqual([]);
    expect(decoder.end()).toEqual([]);
    expect(decoder.done).toBe(true);
  });

  it('reports a body that ends without [DONE] as not done', () => {
    expect(decodeSse(['data: {"n":1}\n\n'])).toEqual({ payloads: [{ n: 1 }], done: false });
  });

  it('accepts a last event without its blank line at the end of the body', () => {
    expect(decodeSse(['data: {"n":1}\n\ndata: [DONE]'])).toEqual({ payloads: [{ n: 1 }], done: true });
    expect(decodeSse(['data: {"n":1}\n\ndata: [DONE]\n'])).toEqual({ payloads: [{ n: 1 }], done: true });
  });

  it('turns a mid-stream {"error": …} payload into AiApiError, after the payloads before it', () => {
    const decoder = createSseDecoder();
    expect(decoder.push('data: {"n":1}\n\n')).toEqual([{ n: 1 }]);
    const error = catchError(() =>
      decoder.push('data: {"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}\n\n'),
    );
    expect(error).toBeInstanceOf(AiApiError);
    expect(error).toMatchObject({ message: 'Rate limit reached', status: 429, apiCode: 'rate_limit_exceeded', apiType: 'requests' });
  });

  it('maps stream errors to a status: numeric code, invalid request, else 500', () => {
    const statusOf = (data: string) => (catchError(() => decodeSse([`data: ${data}\n\n`])) as AiApiError).status;
    expect(statusOf('{"error":{"message":"bad","type":"BadRequestError","code":400}}')).toBe(400);
    expect(statusOf('{"error":{"message":"bad","type":"invalid_request_error","code":null}}')).toBe(400);
    expect(statusOf('{"error":{"message":"boom","type":"server_error","code":null}}')).toBe(500);
    expect(statusOf('{"error":"overloaded"}')).toBe(500);
  });

  it('turns an `event: error` into AiApiError, with a JSON or plain-text body', () => {
    const json = catchError(() => decodeSse(['event: error\ndata: {"message":"The server had an error","type":"server_error","code":null,"param":null}\n\n']));
    expect(json).toBeInstanceOf(AiApiError);
    expect(json).toMatchObject({ message: 'The server had an error', status: 500, apiType: 'server_error' });
    const text = catchError(() => decodeSse(['event: error\r\ndata: upstream exploded\r\n\r\n']));
    expect(text).toBeInstanceOf(AiApiError);
    expect(text).toMatchObject({ message: 'upstream exploded' });
  });

  it('turns a payload that is not JSON into AiStreamError', () => {
    const error = catchError(() => decodeSse(['data: {"choices": [\n\n']));
    expect(error).toBeInstanceOf(AiStreamError);
    expect((error as Error).message).toContain('malformed');
    for (const data of ['null', '42', '"text"', '[1]']) {
      expect(catchError(() => decodeSse([`data: ${data}\n\n`]))).toBeInstanceOf(AiStreamError);
    }
  });

  it('decodes malformed UTF-8 as a TextDecoder does (U+FFFD), wherever the bytes are split', () => {
    const enc = new TextEncoder();
    const bytes = new Uint8Array([...enc.encode('data: {"t":"a'), 0xff, 0xc3, ...enc.encode('b'), 0xf0, 0x9f, ...enc.encode('c"}\n\ndata: [DONE]\n\n')]);
    const expected = JSON.parse(new TextDecoder().decode(bytes).split('\n')[0]!.slice('data: '.length));
    expect(expected.t).toBe('a\uFFFD\uFFFDb\uFFFDc');
    for (const pieces of splits(bytes)) expect(decodeSse(pieces).payloads).toEqual([expected]);
  });

  it('strips a UTF-8 byte-order mark', () => {
    expect(decodeSse(['\uFEFFdata: {"n":1}\n\ndata: [DONE]\n\n']).payloads).toEqual([{ n: 1 }]);
    const bytes = new TextEncoder().encode('\uFEFFdata: {"n":1}\n\ndata: [DONE]\n\n');
    expect(decodeSse([bytes.subarray(0, 1), bytes.subarray(1)]).payloads).toEqual([{ n: 1 }]);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
