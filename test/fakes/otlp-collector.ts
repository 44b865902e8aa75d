/**
 * A protocol-level fake of an OpenTelemetry collector's OTLP/HTTP traces receiver, on
 * 127.0.0.1: `POST /v1/traces` with an ExportTraceServiceRequest in binary protobuf
 * (`application/x-protobuf`, the SDK's default) or OTLP/JSON (`application/json`),
 * gzipped or not, as a collector takes them. It decodes every span into a flat record
 * (ids as lowercase hex, attributes as plain values, its process's resource), answers an
 * empty ExportTraceServiceResponse in the request's encoding, and records what a real
 * receiver would refuse in `violations`. It can refuse on demand (503, as a collector
 * under pressure does). Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp
 * Messages: https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/trace/v1/trace.proto
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

const TRACES_PATH = '/v1/traces';
/** A collector's default body limit is far larger; ours only has to hold a batch. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/** An attribute's value, decoded. */
export type OtlpValue = string | number | boolean | bigint | Uint8Array | OtlpValue[] | { [key: string]: OtlpValue } | null;

/** One span as the collector received it. */
export interface CollectedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Undefined for a root span. */
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, OtlpValue>>;
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Readonly<Record<string, OtlpValue>> }>;
  /** 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message: string };
  /** The exporting process's resource (service.name, process.pid…). */
  readonly resource: Readonly<Record<string, OtlpValue>>;
  /** The instrumentation scope's name (the tracer's). */
  readonly scope: string;
  readonly encoding: 'protobuf' | 'json';
}

export interface FakeCollector {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  readonly url: string;
  /** Every span received, in arrival order. */
  readonly spans: CollectedSpan[];
  /** Requests a real receiver would refuse, and spans it could not read. */
  readonly violations: string[];
  /** Export requests answered, refused ones included. */
  readonly requests: number;
  /** Spans accepted so far (also when they are not kept). */
  readonly received: number;
  /** Answers the next `times` exports 503 (their spans are not kept). */
  failNext(times: number): void;
  /** Accepts exports again, whatever failNext asked. */
  recover(): void;
  stop(): Promise<void>;
}

export interface FakeCollectorOptions {
  /** Keep every span in `spans` (default true); the benchmark only counts them. */
  readonly keepSpans?: boolean;
}

/** Starts the fake on a free port of 127.0.0.1. */
export async function createFakeCollector(options: FakeCollectorOptions = {}): Promise<FakeCollector> {
  const keep = options.keepSpans ?? true;
  const spans: CollectedSpan[] = [];
  const violations: string[] = [];
  let requests = 0;
  let received = 0;
  let failures = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests += 1;
    const path = new URL(req.url ?? '/', 'http://collector.invalid').pathname;
    if (path !== TRACES_PATH) {
      violations.push(`${req.method} ${path}: only traces are exported to this collector`);
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'POST') {
      violations.push(`${req.method} ${path}: OTLP/HTTP exports are POSTs`);
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== PROTOBUF && type !== JSON_TYPE) {
      violations.push(`content-type ${JSON.stringify(type)}: OTLP/HTTP is ${PROTOBUF} or ${JSON_TYPE}`);
      res.writeHead(415).end();
      return;
    }
    let body = await readBody(req);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    if (failures > 0) {
      failures -= 1;
      res.writeHead(503, { 'content-type': type }).end();
      return;
    }
    try {
      const decoded = type === PROTOBUF ? decodeProtobufRequest(body) : decodeJsonRequest(JSON.parse(body.toString('utf8')));
      for (const span of decoded) {
        const problem = checkSpan(span);
        if (problem) violations.push(`${span.name}: ${problem}`);
      }
      received += decoded.length;
      if (keep) spans.push(...decoded);
    } catch (error) {
      violations.push(`could not decode an export (${type}): ${String(error)}`);
      res.writeHead(400, { 'content-type': type }).end();
      return;
    }
    // An empty ExportTraceServiceResponse: everything accepted.
    if (type === PROTOBUF) res.writeHead(200, { 'content-type': PROTOBUF }).end();
    else res.writeHead(200, { 'content-type': JSON_TYPE }).end('{}');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      violations.push(`handler failed: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    violations,
    get requests() {
      return requests;
    },
    get received() {
      return received;
    },
    failNext(times) {
      failures += times;
    },
    recover() {
      failures = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`export body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function checkSpan(span: CollectedSpan): string | undefined {
  if (!/^[0-9a-f]{32}$/.test(span.traceId) || /^0+$/.test(span.traceId)) return `invalid trace id ${span.traceId}`;
  if (!/^[0-9a-f]{16}$/.test(span.spanId) || /^0+$/.test(span.spanId)) return `invalid span id ${span.spanId}`;
  if (span.parentSpanId !== undefined && !/^[0-9a-f]{16}$/.test(span.parentSpanId)) return `invalid parent span id ${span.parentSpanId}`;
  if (span.name === '') return 'a span needs a name';
  if (span.endNs < span.startNs) return 'ends before it starts';
  return undefined;
}

// ---- Binary protobuf (https://protobuf.dev/programming-guides/encoding/) ----

/** One field of a message: its number and its value (a varint, fixed bits, or bytes). */
interface Field {
  readonly number: number;
  readonly varint?: bigint;
  readonly bytes?: Uint8Array;
  readonly fixed64?: bigint;
  readonly fixed32?: number;
}

/** Splits a message into its fields. */
function fieldsOf(buffer: Uint8Array): Field[] {
  const fields: Field[] = [];
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= buffer.length) throw new Error('truncated varint');
      const byte = buffer[at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  while (at < buffer.length) {
    const key = Number(varint());
    const number = key >>> 3;
    const wire = key & 7;
    if (wire === 0) fields.push({ number, varint: varint() });
    else if (wire === 1) {
      if (at + 8 > buffer.length) throw new Error('truncated fixed64');
      fields.push({ number, fixed64: view.getBigUint64(at, true) });
      at += 8;
    } else if (wire === 2) {
      const length = Number(varint());
      if (at + length > buffer.length) throw new Error('truncated bytes');
      fields.push({ number, bytes: buffer.subarray(at, at + length) });
      at += length;
    } else if (wire === 5) {
      if (at + 4 > buffer.length) throw new Error('truncated fixed32');
      fields.push({ number, fixed32: view.getUint32(at, true) });
      at += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return fields;
}

const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? new Uint8Array()).toString('hex');
const all = (fields: Field[], number: number): Field[] => fields.filter((f) => f.number === number);
const one = (fields: Field[], number: number): Field | undefined => fields.findLast((f) => f.number === number);

function decodeProtobufRequest(body: Uint8Array): CollectedSpan[] {
  const spans: CollectedSpan[] = [];
  for (const resourceSpans of all(fieldsOf(body), 1)) {
    const rs = fieldsOf(resourceSpans.bytes!);
    const resourceField = one(rs, 1);
    const resource = resourceField ? keyValues(all(fieldsOf(resourceField.bytes!), 1)) : {};
    for (const scopeSpans of all(rs, 2)) {
      const ss = fieldsOf(scopeSpans.bytes!);
      const scopeField = one(ss, 1);
      const scope = scopeField ? text(one(fieldsOf(scopeField.bytes!), 1)?.bytes) : '';
      for (const spanField of all(ss, 2)) spans.push(protobufSpan(fieldsOf(spanField.bytes!), resource, scope));
    }
  }
  return spans;
}

function protobufSpan(s: Field[], resource: Record<string, OtlpValue>, scope: string): CollectedSpan {
  const parent = hex(one(s, 4)?.bytes);
  const statusField = one(s, 15);
  const status = statusField ? fieldsOf(statusField.bytes!) : [];
  return {
    traceId: hex(one(s, 1)?.bytes),
    spanId: hex(one(s, 2)?.bytes),
    parentSpanId: parent === '' ? undefined : parent,
    name: text(one(s, 5)?.bytes),
    kind: Number(one(s, 6)?.varint ?? 0n),
    startNs: one(s, 7)?.fixed64 ?? 0n,
    endNs: one(s, 8)?.fixed64 ?? 0n,
    attributes: keyValues(all(s, 9)),
    events: all(s, 11).map((field) => {
      const event = fieldsOf(field.bytes!);
      return { name: text(one(event, 2)?.bytes), attributes: keyValues(all(event, 3)) };
    }),
    status: { code: Number(one(status, 3)?.varint ?? 0n), message: text(one(status, 2)?.bytes) },
    resource,
    scope,
    encoding: 'protobuf',
  };
}

/** KeyValue { key = 1; AnyValue value = 2 } fields, as an object. */
function keyValues(fields: Field[]): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  for (const field of fields) {
    const kv = fieldsOf(field.bytes!);
    const value = one(kv, 2);
    out[text(one(kv, 1)?.bytes)] = value ? anyValue(fieldsOf(value.bytes!)) : null;
  }
  return out;
}

/** AnyValue: string 1, bool 2, int64 3, double 4, array 5, kvlist 6, bytes 7. */
function anyValue(fields: Field[]): OtlpValue {
  const field = fields.at(-1);
  if (field === undefined) return null;
  switch (field.number) {
    case 1:
      return text(field.bytes);
    case 2:
      return field.varint !== 0n;
    case 3:
      return BigInt.asIntN(64, field.varint ?? 0n);
    case 4: {
      const bits = new DataView(new ArrayBuffer(8));
      bits.setBigUint64(0, field.fixed64 ?? 0n, true);
      return bits.getFloat64(0, true);
    }
    case 5:
      return all(fieldsOf(field.bytes!), 1).map((v) => anyValue(fieldsOf(v.bytes!)));
    case 6:
      return keyValues(all(fieldsOf(field.bytes!), 1));
    case 7:
      return field.bytes ?? new Uint8Array();
    default:
      throw new Error(`unknown AnyValue field ${field.number}`);
  }
}

// ---- OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): ids in hex, 64-bit numbers as strings or numbers ----

interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}
interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
  kvlistValue?: { values?: JsonKeyValue[] };
  bytesValue?: string;
}
interface JsonSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: JsonKeyValue[];
  events?: Array<{ name?: string; attributes?: JsonKeyValue[] }>;
  status?: { code?: number; message?: string };
}
interface JsonRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: Array<{ scope?: { name?: string }; spans?: JsonSpan[] }>;
  }>;
}

function decodeJsonRequest(body: unknown): CollectedSpan[] {
  const request = body as JsonRequest;
  if (typeof request !== 'object' || request === null || !Array.isArray(request.resourceSpans)) throw new Error('no resourceSpans array');
  const spans: CollectedSpan[] = [];
  for (const rs of request.resourceSpans) {
    const resource = jsonKeyValues(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: (s.traceId ?? '').toLowerCase(),
          spanId: (s.spanId ?? '').toLowerCase(),
          parentSpanId: s.parentSpanId ? s.parentSpanId.toLowerCase() : undefined,
          name: s.name ?? '',
          kind: s.kind ?? 0,
          startNs: BigInt(s.startTimeUnixNano ?? 0),
          endNs: BigInt(s.endTimeUnixNano ?? 0),
          attributes: jsonKeyValues(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name ?? '', attributes: jsonKeyValues(e.attributes) })),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          resource,
          scope: ss.scope?.name ?? '',
          encoding: 'json',
        });
      }
    }
  }
  return spans;
}

function jsonKeyValues(list: JsonKeyValue[] | undefined): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  for (const kv of list ?? []) out[kv.key] = kv.value === undefined ? null : jsonAnyValue(kv.value);
  return out;
}

function jsonAnyValue(value: JsonAnyValue): OtlpValue {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return BigInt(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(jsonAnyValue);
  if (value.kvlistValue !== undefined) return jsonKeyValues(value.kvlistValue.values);
  if (value.bytesValue !== undefined) return Buffer.from(value.bytesValue, 'base64');
  return null;
}

/** Every text in a span a reader could see: attributes, event names and attributes, status, resource. */
export function textsOf(span: CollectedSpan): string[] {
  const out: string[] = [span.name, span.status.message];
  const walk = (value: OtlpValue): void => {
    if (value === null) return;
    if (typeof value === 'string') out.push(value);
    else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object') for (const [key, inner] of Object.entries(value)) (out.push(key), walk(inner));
    else out.push(String(value));
  };
  for (const attributes of [span.attributes, span.resource, ...span.events.map((e) => e.attributes)]) walk(attributes as OtlpValue);
  out.push(...span.events.map((e) => e.name));
  return out;
}
