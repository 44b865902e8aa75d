/**
 * Random HTTP requests for the playground fuzz test: messages with odd texts, ids, authors
 * and attachments, bodies that are not JSON or too large, wrong content types and methods,
 * bad channel names, uploads of random bytes under every media type, and reads of random
 * paths. The API: docs/playground.md, "HTTP API".
 */
import type { Random } from '../support/prng.js';
import type { RawRequest } from './fuzz-support.js';
import { oddText, randomJson, wrongValue } from './fuzz-support.js';

/** What a generated request is, for the tally in the test's report. */
export type RequestKind =
  | 'message'
  | 'message-odd'
  | 'message-attachment'
  | 'message-not-json'
  | 'message-too-large'
  | 'bad-channel'
  | 'upload'
  | 'upload-wrong-type'
  | 'upload-too-large'
  | 'read'
  | 'wrong-method'
  | 'events';

/** One request and how the test reads its answer. */
export interface FuzzRequest {
  readonly kind: RequestKind;
  readonly request: RawRequest;
  /** Send the headers and a Content-Length, and no body: the server must refuse it unread. */
  readonly declaredOnly?: boolean;
  /** An event stream: the answer is its headers; the test then hangs up. */
  readonly stream?: boolean;
}

/** About one request in twelve is a message the bot takes: each is a job, and jobs cost time. */
const WEIGHTS: Readonly<Record<RequestKind, number>> = {
  message: 2,
  'message-odd': 12,
  'message-attachment': 4,
  'message-not-json': 10,
  'message-too-large': 1,
  'bad-channel': 10,
  upload: 4,
  'upload-wrong-type': 6,
  'upload-too-large': 0.5,
  read: 25,
  'wrong-method': 8,
  events: 1,
};

/** The body limit of a message (adapters/web/web.http.ts) and of an upload (25 MB). */
const MESSAGE_BODY_LIMIT = 64 * 1024;
const UPLOAD_LIMIT = 25 * 1024 * 1024;

const AUDIO_TYPES = ['audio/ogg', 'audio/webm;codecs=opus', 'audio/mpeg', 'video/webm', 'video/mp4', 'audio/x-custom+thing'];
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
const WRONG_TYPES = ['image/svg+xml', 'text/html', 'application/json', 'application/octet-stream', 'application/x-msdownload', 'video/quicktime', 'audio/', 'image/png ;\tx=1', 'IMAGE/PNG', 'multipart/form-data; boundary=x', ''];
const BAD_CHANNELS = ['', 'UPPER', '-leading', 'a'.repeat(41), 'sp%20ace', 'dot.dot', '..', '%2e%2e', '%00', '%E0%A4%A', '%F0%9F%98%80', 'ch%2Fannel', encodeURIComponent('ünïcödé'), '__proto__', 'general%20', '%252e', '%ED%A0%80'];
const READ_PATHS = [
  '/',
  '/app.js',
  '/style.css',
  '/api/info',
  '/api/channels/general/history',
  '/api/channels/nope-never-used/history',
  '/api/files/00000000000000000000000000000000',
  '/api/files/not-an-id',
  '/api/files/',
  '/api/uploads',
  '/api/channels/general',
  '/api/channels/general/messages',
  '/api/channels/general/history/extra',
  '/api/admin/snapshot',
  '/admin',
  '/metrics',
  '/healthz',
  '/readyz',
  '/favicon.ico',
  '/../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/api/%00',
  '/api/channels/%E0%A4%A/history',
  '/index.html?x=%',
  '//api//info',
  '/api/info?'.padEnd(4000, 'q'),
];

/** Draws one request; `uploads` are ids an earlier upload was given, to attach. */
export function playgroundRequest(random: Random, n: number, uploads: readonly { id: string; kind: string }[]): FuzzRequest {
  const kind = random.weighted(WEIGHTS);
  const channel = random.pick(['general', 'fuzz', `fuzz-${random.int(1, 50)}`, 'a', 'x'.repeat(40)]);
  const messageId = `fuzz-${n}-${random.int(0, 1e9)}`;
  const post = (path: string, body: string | Buffer, contentType = 'application/json'): RawRequest => ({
    method: 'POST',
    path,
    headers: contentType === '' ? {} : { 'content-type': contentType },
    body,
  });
  const messagePath = `/api/channels/${channel}/messages`;

  switch (kind) {
    case 'message':
      return { kind, request: post(messagePath, JSON.stringify({ id: messageId, text: `plain question ${n}`, author: `fuzzer ${n % 30}` })) };
    case 'message-odd': {
      const body: Record<string, unknown> = {
        id: random.chance(0.7) ? messageId : wrongValue(random),
        text: random.chance(0.8) ? oddText(random) : wrongValue(random),
        author: random.chance(0.6) ? oddText(random).slice(0, random.int(0, 60)) : wrongValue(random),
      };
      if (random.chance(0.2)) body['attachment'] = wrongValue(random);
      if (random.chance(0.1)) body[oddText(random)] = randomJson(random, 2);
      if (random.chance(0.1)) delete body[random.pick(['id', 'text', 'author'])];
      return { kind, request: post(messagePath, JSON.stringify(body)) };
    }
    case 'message-attachment': {
      const upload = uploads.length > 0 && random.chance(0.8) ? random.pick(uploads) : undefined;
      const attachment = random.pick<() => unknown>([
        () => ({ id: upload?.id ?? 'f'.repeat(32) }),
        () => ({ id: upload?.id ?? '0'.repeat(32), kind: random.pick(['voice', 'audio', 'image', 'file', 'VOICE', '', 42]) }),
        () => ({ id: upload?.id ?? 'a'.repeat(32), kind: upload?.kind }),
        () => ({ id: random.pick(['', 'x', 'A'.repeat(32), '../'.repeat(10), 'f'.repeat(33)]) }),
        () => ({ id: upload?.id, extra: true }),
      ])();
      const text = random.pick([undefined, null, '', oddText(random), '/image a cat']);
      return { kind, request: post(messagePath, JSON.stringify({ id: messageId, ...(text === undefined ? {} : { text }), author: 'fuzzer', attachment })) };
    }
    case 'message-not-json': {
      const body = random.pick<() => string | Buffer>([
        () => '',
        () => 'not json',
        () => '{"id":',
        () => 'null',
        () => '[]',
        () => '"text"',
        () => '42',
        () => `\uFEFF{"id":"${messageId}","text":"hi"}`,
        () => Buffer.from([0xff, 0xfe, 0xfd, 0x7b, 0x7d]),
        () => `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
        () => 'id=x&text=y',
        () => JSON.stringify({ id: messageId, text: 'hi' }),
      ])();
      const contentType = random.pick(['application/json', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'APPLICATION/JSON', 'application/jsonx', '']);
      return { kind, request: post(messagePath, body, contentType) };
    }
    case 'message-too-large': {
      if (random.chance(0.5)) {
        const declared = { 'content-type': 'application/json', 'content-length': MESSAGE_BODY_LIMIT + random.int(1, 10 * 1024 * 1024) };
        return { kind, request: { method: 'POST', path: messagePath, headers: declared }, declaredOnly: true };
      }
      // Larger than the limit and sent in full: drained, then refused. (Past the limit and
      // 1 MB the server stops reading and closes: a reset is then the design, not a hang.)
      const text = 'x'.repeat(MESSAGE_BODY_LIMIT + random.int(1, 900 * 1024));
      return { kind, request: post(messagePath, JSON.stringify({ id: messageId, text })) };
    }
    case 'bad-channel': {
      const bad = random.pick(BAD_CHANNELS);
      const action = random.pick(['messages', 'history', 'events']);
      const method = action === 'messages' ? 'POST' : 'GET';
      return { kind, request: { method, path: `/api/channels/${bad}/${action}`, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: JSON.stringify({ id: messageId, text: 'hi' }) } : {}) } };
    }
    case 'upload': {
      const type = random.chance(0.5) ? random.pick(AUDIO_TYPES) : random.pick(IMAGE_TYPES);
      const name = random.pick(['voice.webm', 'photo.png', '', oddText(random).slice(0, 300), '../../etc/passwd', 'a'.repeat(500), '%00.png']);
      const query = `?name=${encode(name)}${random.chance(0.3) ? '&voice=1' : ''}${random.chance(0.1) ? '&voice=yes&name=second' : ''}`;
      return { kind, request: post(`/api/uploads${query}`, randomBytes(random), type) };
    }
    case 'upload-wrong-type':
      // Refused unread, and the connection closed: kept small enough to be sent whole first.
      return { kind, request: post(`/api/uploads?name=file`, randomBytes(random).subarray(0, 16 * 1024), random.pick(WRONG_TYPES)) };
    case 'upload-too-large':
      return { kind, request: { ...post('/api/uploads?name=big.ogg', '', 'audio/ogg'), headers: { 'content-type': 'audio/ogg', 'content-length': UPLOAD_LIMIT + random.int(1, 10 * 1024 * 1024) } }, declaredOnly: true };
    case 'read': {
      const path = random.chance(0.8) ? random.pick(READ_PATHS) : `/${randomPath(random)}`;
      return { kind, request: { method: random.chance(0.9) ? 'GET' : 'HEAD', path } };
    }
    case 'wrong-method': {
      const method = random.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST', 'GET', 'TRACE']);
      const path = random.pick(['/', '/api/info', '/api/uploads', messagePath, `/api/channels/${channel}/history`, '/api/files/00000000000000000000000000000000', '/app.js']);
      const body = method === 'GET' || method === 'TRACE' ? undefined : JSON.stringify({ id: messageId, text: 'hi' });
      return { kind, request: { method, path, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body }) } };
    }
    case 'events':
      return { kind, request: { method: 'GET', path: `/api/channels/${channel}/events`, headers: { accept: 'text/event-stream' } }, stream: true };
  }
}

/** Random bytes for an upload: usually small, sometimes empty or up to 256 KB. */
function randomBytes(random: Random): Buffer {
  const size = random.pick([0, 1, 16, 1024, 8 * 1024, random.int(1, 64 * 1024), random.chance(0.05) ? random.int(64 * 1024, 256 * 1024) : 10]);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) out[i] = random.int(0, 255);
  return out;
}

/** A path of random segments, some percent-encoded garbage. */
function randomPath(random: Random): string {
  const segment = (): string =>
    random.pick<() => string>([
      () => 'api',
      () => 'channels',
      () => encode(oddText(random).slice(0, 40)),
      () => `%${random.pick(['', 'G', 'ZZ', 'E0', 'C3%28'])}`,
      () => String(random.int(0, 1e6)),
    ])();
  return Array.from({ length: random.int(0, 5) }, segment).join('/');
}

/** Percent-encodes text; a lone surrogate, which encodeURIComponent refuses, as the bytes of its UTF-8 replacement. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
  }
}
