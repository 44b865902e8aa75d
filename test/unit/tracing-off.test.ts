/**
 * Tracing off, the default (issue #16): nothing of the OpenTelemetry SDK is loaded, no
 * global tracer provider is registered, and the service's helpers make no span. And the
 * layers hold: workers and the domain know nothing of OpenTelemetry, adapters only the
 * Tracer port.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log/logger.js';
import { inSpan, NO_TRACER, startSpan, startTracing, TRACING_OFF, tracingOn } from '../../src/infra/tracing/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Packages only a traced process loads, by dynamic import. */
const SDK_PACKAGES = /['"](@opentelemetry\/sdk-[a-z-]+|@opentelemetry\/exporter-[a-z-]+|bullmq-otel)['"]/;

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourcesUnder(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}
const relative = (file: string): string => path.relative(ROOT, file);

describe('tracing off', () => {
  it('is the default, and starting it then loads and registers nothing', async () => {
    const config = parseConfig({});
    expect(config.tracing.enabled).toBe(false);
    const log = createLogger({ level: 'silent', secrets: [] });
    expect(await startTracing(config.tracing, { role: 'worker', log, scrub: (text) => text })).toBe(TRACING_OFF);
    expect(tracingOn()).toBe(false);
    // The API's global provider is still its no-op proxy's: no SDK registered one.
    expect(trace.getTracerProvider().constructor.name).toBe('ProxyTracerProvider');
    expect(trace.getTracer('switchboard').startSpan('x').isRecording()).toBe(false);
    expect(startSpan('anything', { a: 1 })).toBeUndefined();
    expect(await inSpan('anything', undefined, async (span) => span)).toBeUndefined();
    expect(await NO_TRACER.inSpan('anything', async (span) => (span.setAttribute('a', 1), 'done'))).toBe('done');
    expect(TRACING_OFF.queueTelemetry).toBeUndefined();
  });

  it('imports the SDK, its exporters and bullmq-otel only dynamically, in src/infra/tracing', () => {
    for (const file of [...sourcesUnder(path.join(ROOT, 'src')), ...sourcesUnder(path.join(ROOT, 'adapters'))]) {
      const source = readFileSync(file, 'utf8');
      for (const line of source.split('\n').filter((l) => SDK_PACKAGES.test(l))) {
        expect(`${relative(file)}: ${line.trim()}`).toMatch(/^src\/infra\/tracing\/[a-z-]+\.ts: (.*\bimport\(['"]|import type )/);
      }
    }
  });

  it('keeps OpenTelemetry out of the workers, the domain and the adapters (they have the Tracer port)', () => {
    const files = ['src/workers', 'src/domain', 'adapters'].flatMap((dir) => sourcesUnder(path.join(ROOT, dir)));
    expect(files.length).toBeGreaterThan(20);
    const offenders = files.filter((file) => /from ['"](@opentelemetry\/|bullmq-otel)/.test(readFileSync(file, 'utf8'))).map(relative);
    expect(offenders).toEqual([]);
  });
});
