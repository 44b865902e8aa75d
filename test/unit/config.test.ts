import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig, parseRole } from '../../src/config.js';

describe('parseConfig', () => {
  it('runs with no configuration at all: embedded Redis, offline demo model, playground on 127.0.0.1:8080', () => {
    const config = parseConfig({});
    expect(config.redis.url).toBeUndefined();
    expect(config.openai.demo).toBe(true);
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, exposed: false });
    expect(config.telegram).toBeUndefined();
    expect(config.discord).toBeUndefined();
  });

  it('uses the real endpoint when either OPENAI_API_KEY or OPENAI_BASE_URL is set', () => {
    expect(parseConfig({ OPENAI_API_KEY: 'sk-abcdef' }).openai).toMatchObject({ demo: false, baseUrl: 'https://api.openai.com/v1' });
    expect(parseConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/' }).openai).toMatchObject({
      demo: false,
      apiKey: undefined,
      baseUrl: 'http://127.0.0.1:11434/v1',
    });
  });

  it('reports every invalid variable at once, by name', () => {
    let error: unknown;
    try {
      parseConfig({
        PORT: 'eighty',
        REDIS_URL: 'localhost:6379',
        OPENAI_BASE_URL: 'ftp://example.com',
        LOG_LEVEL: 'loud',
        TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/tg',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = (error as ConfigError).problems.map((problem) => problem.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining(['PORT', 'REDIS_URL', 'OPENAI_BASE_URL', 'LOG_LEVEL', 'TELEGRAM_WEBHOOK_URL', 'TELEGRAM_WEBHOOK_SECRET']),
    );
    expect((error as ConfigError).message).toContain('PORT: expected a whole number from 0 to 65535');
  });

  it('is frozen', () => {
    const config = parseConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.openai)).toBe(true);
  });

  it('collects secrets, including a Redis password, for scrubbing', () => {
    const config = parseConfig({
      OPENAI_API_KEY: 'sk-test-123456',
      TELEGRAM_BOT_TOKEN: '123456:ABCDEF',
      REDIS_URL: 'redis://:hunter2hunter2@127.0.0.1:6379',
    });
    expect(config.secrets).toEqual(expect.arrayContaining(['sk-test-123456', '123456:ABCDEF', 'hunter2hunter2']));
  });

  it('knows when HOST is exposed, and which tokens guard the playground and /metrics (issue #17)', () => {
    const playgroundToken = 'pg-0123456789abcdef';
    const metricsToken = 'mt-0123456789abcdef';
    for (const host of ['127.0.0.1', '127.0.0.53', '::1', 'localhost']) expect(parseConfig({ HOST: host }).http.exposed, host).toBe(false);
    for (const host of ['0.0.0.0', '::', '192.0.2.2', 'switchboard.example.com']) expect(parseConfig({ HOST: host }).http.exposed, host).toBe(true);

    const config = parseConfig({ HOST: '0.0.0.0', PLAYGROUND_TOKEN: playgroundToken, METRICS_TOKEN: metricsToken, METRICS_PORT: '9464' });
    expect(config.http).toMatchObject({ exposed: true, playgroundToken, metricsToken, metricsListener: { host: '127.0.0.1', port: 9464 } });
    expect(config.secrets).toEqual(expect.arrayContaining([playgroundToken, metricsToken]));
    expect(parseConfig({ METRICS_HOST: '10.0.0.5', METRICS_PORT: '9464' }).http.metricsListener).toEqual({ host: '10.0.0.5', port: 9464 });

    let error: unknown;
    try {
      parseConfig({ PLAYGROUND_TOKEN: 'short', METRICS_TOKEN: 'also short', METRICS_HOST: '0.0.0.0', PORT: '9000' });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).problems).toEqual(
      expect.arrayContaining([
        'PLAYGROUND_TOKEN: use at least 16 characters',
        'METRICS_TOKEN: use at least 16 characters',
        'METRICS_HOST: set, but METRICS_PORT is not; /metrics gets a listener of its own only with a port',
      ]),
    );
    expect(() => parseConfig({ PORT: '9000', METRICS_PORT: '9000' })).toThrow(/METRICS_PORT: 9000 is PORT too/);
    expect(() => parseConfig({ METRICS_PORT: 'nine' })).toThrow(/METRICS_PORT: expected a port from 0 to 65535/);
  });

  it('traces only when an OTLP endpoint or a trace exporter is set, and never when told not to (issue #16)', () => {
    expect(parseConfig({}).tracing).toEqual({ enabled: false, serviceName: undefined, diagnostics: 'warn' });
    expect(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).tracing.enabled).toBe(true);
    expect(parseConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example.com/v1/traces' }).tracing.enabled).toBe(true);
    expect(parseConfig({ OTEL_TRACES_EXPORTER: 'console' }).tracing.enabled).toBe(true);
    expect(parseConfig({ OTEL_TRACES_EXPORTER: 'otlp, zipkin' }).tracing.enabled).toBe(true);
    expect(parseConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).tracing.enabled).toBe(false);
    expect(parseConfig({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).tracing.enabled).toBe(false);
    // Other OTEL_* variables alone (the SDK reads them) switch nothing on.
    expect(parseConfig({ OTEL_SERVICE_NAME: 'bot', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).tracing.enabled).toBe(false);
  });

  it('takes the service name from OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES, else leaves the role\'s default', () => {
    expect(parseConfig({ OTEL_SERVICE_NAME: 'chat-bot', OTEL_RESOURCE_ATTRIBUTES: 'service.name=other' }).tracing.serviceName).toBe('chat-bot');
    expect(parseConfig({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, service.name=chat%20bot' }).tracing.serviceName).toBe('chat bot');
    expect(parseConfig({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod' }).tracing.serviceName).toBeUndefined();
    expect(parseConfig({ OTEL_LOG_LEVEL: 'DEBUG' }).tracing.diagnostics).toBe('debug');
  });

  it('counts a collector\'s API key, in OTLP headers or an endpoint\'s user info, as a secret', () => {
    const config = parseConfig({
      OTEL_EXPORTER_OTLP_HEADERS: 'x-honeycomb-team=abc%3Ddef123456,x-small=12',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20trace-token-123',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:collector-password@collector.example.com',
    });
    expect(config.secrets).toEqual(expect.arrayContaining(['abc=def123456', 'Bearer trace-token-123', 'collector-password']));
    expect(config.secrets).not.toContain('12');
  });

  it('refuses OTEL_* values the SDK would not understand, by name', () => {
    let error: unknown;
    try {
      parseConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
        OTEL_TRACES_EXPORTER: 'otlp,jaeger',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http',
        OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign',
        OTEL_LOG_LEVEL: 'chatty',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'OTEL_TRACES_EXPORTER: expected none, or a comma-separated list of otlp, console, zipkin',
      'OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL',
      'OTEL_EXPORTER_OTLP_PROTOCOL: expected http/protobuf, http/json or grpc',
      'OTEL_EXPORTER_OTLP_HEADERS: expected key=value pairs separated by commas',
      'OTEL_LOG_LEVEL: expected none, error, warn, info, debug, verbose or all',
    ]);
    expect(() => parseConfig({ OTEL_TRACES_EXPORTER: 'none,otlp' })).toThrow(/OTEL_TRACES_EXPORTER: expected none, or/);
  });

  it('reads the reasoning and text-file settings, refusing values the spec does not list (issue #18)', () => {
    expect(parseConfig({}).chat).toMatchObject({ reasoningEffort: undefined, showReasoning: 'off', textFileMaxBytes: 102_400 });
    expect(parseConfig({ REASONING_EFFORT: ' High ', SHOW_REASONING: 'file', TEXT_FILE_MAX_BYTES: '5000' }).chat).toMatchObject({
      reasoningEffort: 'high',
      showReasoning: 'file',
      textFileMaxBytes: 5_000,
    });
    expect(() => parseConfig({ REASONING_EFFORT: 'extreme' })).toThrow(/REASONING_EFFORT: expected one of none, minimal, low, medium, high, xhigh, max/);
    expect(() => parseConfig({ SHOW_REASONING: 'chat' })).toThrow(/SHOW_REASONING: expected off or file/);
    expect(() => parseConfig({ TEXT_FILE_MAX_BYTES: '0' })).toThrow(/TEXT_FILE_MAX_BYTES/);
  });

  it('parses --role', () => {
    expect(parseRole([])).toBe('all');
    expect(parseRole(['--role', 'worker'])).toBe('worker');
    expect(parseRole(['--role=gateway'])).toBe('gateway');
    expect(() => parseRole(['--role', 'boss'])).toThrow(ConfigError);
  });

  it('documents every variable it reads in .env.example and docs/configuration.md', () => {
    const source = readFileSync(new URL('../../src/config.ts', import.meta.url), 'utf8');
    const schema = source.slice(source.indexOf('const envSchema'), source.indexOf('/** The parsed configuration'));
    const names = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(15);
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const name of names) {
      expect(example, `.env.example documents ${name}`).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
      expect(docs, `docs/configuration.md documents ${name}`).toContain(`\`${name}\``);
    }
  });
});
