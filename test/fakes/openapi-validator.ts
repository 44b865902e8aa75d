/**
 * Checks request bodies (and, in tests, the fake's own responses) against the official
 * OpenAI OpenAPI document in ../shared/specs/openai-openapi.yaml.
 * Spec: https://github.com/openai/openai-openapi, API: https://platform.openai.com/docs/api-reference
 *
 * The document is OpenAPI 3.1 but still uses 3.0 habits that JSON Schema 2020-12 does not
 * know (`nullable`, `discriminator` under `anyOf`, `x-*` keywords, the `unixtime` format).
 * We normalize those once, then compile with Ajv2020 in non-strict mode, so a spec quirk
 * never stops compilation while a real violation (wrong type, missing required field,
 * unknown enum value, unknown top-level parameter) is still caught.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

/** The repository root: this file is test/fakes/openapi-validator.ts. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the spec lives: `shared/specs` beside the repository (CI clones it there). */
export const OPENAI_SPEC_PATH = path.resolve(REPO_ROOT, '..', 'shared', 'specs', 'openai-openapi.yaml');

/**
 * Parsing the 3 MB YAML costs about a second per test process; the normalized document
 * is cached as JSON under node_modules/.cache, keyed by the spec's hash and this version
 * (bump it when `normalize` changes).
 */
const CACHE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'switchboard');
const CACHE_VERSION = '2';
/** The $id under which the normalized document is registered with Ajv. */
const SPEC_ID = 'https://switchboard.invalid/openai-openapi.json';
/** How many Ajv errors a violation line lists before eliding the rest. */
const MAX_ERRORS_IN_SUMMARY = 6;

/** Why one request body does not match its operation's schema. */
export interface RequestViolation {
  /** The spec's operationId, e.g. `createChatCompletion`. */
  readonly operation: string;
  /** One human-readable line: operation, then the Ajv errors. */
  readonly summary: string;
  /** An OpenAI-style message for the most relevant error. */
  readonly message: string;
  /** OpenAI-style param path (`messages.[0].role`), or null. */
  readonly param: string | null;
  /** OpenAI-style error code (`missing_required_parameter`, `invalid_type`, ...). */
  readonly code: string | null;
  /** The raw Ajv errors. */
  readonly errors: readonly ErrorObject[];
}

/** A file part of a multipart body, as the fake records it. */
export interface MultipartFile {
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  readonly bytes: Buffer;
}

interface LoadedSpec {
  readonly doc: OpenApiDocument;
  readonly primary: Ajv2020;
  /** Compiles what `primary` cannot (an unusual discriminator), without discriminators. */
  readonly fallback: Ajv2020;
  readonly loadMs: number;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation | undefined> | undefined>;
  components: { schemas: Record<string, SchemaNode> };
}
interface OpenApiOperation {
  operationId?: string;
  requestBody?: { content?: Record<string, { schema?: SchemaNode } | undefined> };
}
type SchemaNode = { [key: string]: unknown };

let loaded: LoadedSpec | undefined;
const compiled = new Map<string, ValidateFunction>();

/**
 * Parses, normalizes and registers the spec once per process; later calls are free.
 * `loadMs` is the one-time parse cost; each schema compiles on first use.
 */
export function loadOpenAISpec(): { readonly loadMs: number } {
  return { loadMs: spec().loadMs };
}

function spec(): LoadedSpec {
  if (loaded) return loaded;
  const started = performance.now();
  const doc = readNormalizedSpec();
  const root = { $id: SPEC_ID, components: { schemas: doc.components.schemas } };
  const primary = newAjv(true);
  primary.addSchema(root);
  const fallback = newAjv(false);
  fallback.addSchema(stripDiscriminators(root) as SchemaNode);
  loaded = { doc, primary, fallback, loadMs: performance.now() - started };
  return loaded;
}

function readNormalizedSpec(): OpenApiDocument {
  const text = readFileSync(OPENAI_SPEC_PATH, 'utf8');
  const key = createHash('sha256').update(CACHE_VERSION).update(text).digest('hex').slice(0, 16);
  const cacheFile = path.join(CACHE_DIR, `openai-openapi-${key}.json`);
  try {
    return JSON.parse(readFileSync(cacheFile, 'utf8')) as OpenApiDocument;
  } catch {
    // No cache yet (or unreadable): parse the YAML below.
  }
  // uniqueKeys:false skips an O(n²) duplicate-key check; the file is machine-generated.
  const parsed = parseYaml(text, { uniqueKeys: false }) as OpenApiDocument;
  const doc: OpenApiDocument = {
    paths: parsed.paths,
    components: { schemas: normalize(parsed.components.schemas) as Record<string, SchemaNode> },
  };
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    // Write then rename, so a parallel test process never reads half a file.
    const partial = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(doc));
    renameSync(partial, cacheFile);
    for (const name of readdirSync(CACHE_DIR)) {
      if (name.startsWith('openai-openapi-') && name.endsWith('.json') && name !== path.basename(cacheFile)) {
        rmSync(path.join(CACHE_DIR, name), { force: true });
      }
    }
  } catch {
    // A read-only checkout only loses the speed-up.
  }
  return doc;
}

function newAjv(discriminator: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    discriminator,
    validateSchema: false,
    logger: false,
  });
  // ajv-formats is CommonJS: under NodeNext its default import is the module object.
  const plugin = (ajvFormats as unknown as { default: (a: Ajv2020) => Ajv2020 }).default;
  plugin(ajv);
  ajv.addFormat('unixtime', { type: 'number', validate: () => true });
  return ajv;
}

/**
 * Rewrites OpenAPI 3.0 leftovers into JSON Schema 2020-12: `nullable: true` becomes a
 * `null` type (and a `null` enum member); boolean `exclusiveMinimum`/`exclusiveMaximum`
 * become numbers; a `discriminator` without `oneOf` (Ajv only understands it there) is
 * dropped, `anyOf` still validates the variants.
 */
function normalize(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalize);
  if (node === null || typeof node !== 'object') return node;
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) out[key] = normalize(value);
  if (out['discriminator'] !== undefined && !Array.isArray(out['oneOf'])) delete out['discriminator'];
  exclusiveBoundToNumber(out, 'exclusiveMinimum', 'minimum');
  exclusiveBoundToNumber(out, 'exclusiveMaximum', 'maximum');
  if (!('nullable' in out)) return out;
  const nullable = out['nullable'] === true;
  delete out['nullable'];
  if (!nullable) return out;
  const type = out['type'];
  if (typeof type === 'string' || Array.isArray(type)) {
    const types = Array.isArray(type) ? type : [type];
    if (!types.includes('null')) out['type'] = [...types, 'null'];
    const allowed = out['enum'];
    if (Array.isArray(allowed) && !allowed.includes(null)) out['enum'] = [...allowed, null];
    return out;
  }
  const { description, ...rest } = out;
  return { description, anyOf: [rest, { type: 'null' }] };
}

/** OpenAPI 3.0's `minimum: 0, exclusiveMinimum: true` is 2020-12's `exclusiveMinimum: 0`. */
function exclusiveBoundToNumber(out: SchemaNode, exclusive: string, inclusive: string): void {
  if (typeof out[exclusive] !== 'boolean') return;
  if (out[exclusive] === true && typeof out[inclusive] === 'number') {
    out[exclusive] = out[inclusive];
    delete out[inclusive];
  } else {
    delete out[exclusive];
  }
}

function stripDiscriminators(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripDiscriminators);
  if (node === null || typeof node !== 'object') return node;
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'discriminator') out[key] = stripDiscriminators(value);
  }
  return out;
}

function compile(key: string, schema: SchemaNode): ValidateFunction {
  const cached = compiled.get(key);
  if (cached) return cached;
  const { primary, fallback } = spec();
  let validate: ValidateFunction;
  try {
    validate = primary.compile(schema);
  } catch {
    validate = fallback.compile(schema);
  }
  compiled.set(key, validate);
  return validate;
}

function refTo(schemaName: string): string {
  return `${SPEC_ID}#/components/schemas/${schemaName}`;
}

/**
 * Validates any value against a named schema of `components.schemas` (for example the
 * fake's own `CreateChatCompletionResponse`). Returns Ajv's errors; empty when valid.
 */
export function validateSchema(schemaName: string, value: unknown): ErrorObject[] {
  if (!spec().doc.components.schemas[schemaName]) throw new Error(`No schema ${schemaName} in the OpenAI spec`);
  const validate = compile(`schema:${schemaName}`, { $ref: refTo(schemaName) });
  return validate(value) ? [] : [...(validate.errors ?? [])];
}

/** The operationId and request schema of `method path` for a media type, from the spec. */
function requestSchemaOf(
  method: string,
  apiPath: string,
  mediaType: string,
): { operation: string; schemaName: string; schema: SchemaNode } {
  const operation = spec().doc.paths[apiPath]?.[method.toLowerCase()];
  const ref = operation?.requestBody?.content?.[mediaType]?.schema?.['$ref'];
  if (!operation?.operationId || typeof ref !== 'string') {
    throw new Error(`The OpenAI spec has no ${mediaType} body for ${method} ${apiPath}`);
  }
  const schemaName = ref.replace('#/components/schemas/', '');
  const schema = spec().doc.components.schemas[schemaName];
  if (!schema) throw new Error(`The OpenAI spec has no schema ${schemaName}`);
  return { operation: operation.operationId, schemaName, schema };
}

/**
 * Validates a JSON request body for `method apiPath` (apiPath without `/v1`, as in the
 * spec). Unknown top-level parameters are violations too, as the live API refuses them.
 */
export function validateJsonRequest(method: string, apiPath: string, body: unknown): RequestViolation | null {
  const { operation, schemaName } = requestSchemaOf(method, apiPath, 'application/json');
  const validate = compile(`json:${schemaName}`, { $ref: refTo(schemaName), unevaluatedProperties: false });
  if (validate(body)) return null;
  return violationOf(operation, [...(validate.errors ?? [])], body);
}

/**
 * Validates a multipart request for `method apiPath`. Form fields arrive as strings, so
 * they are first coerced by the schema's declared types (`include[]` → array, numbers,
 * booleans, JSON objects); file parts must be files where the schema says `binary`.
 */
export function validateMultipartRequest(
  method: string,
  apiPath: string,
  fields: Record<string, unknown>,
): RequestViolation | null {
  const { operation, schemaName, schema } = requestSchemaOf(method, apiPath, 'multipart/form-data');
  const properties = (schema['properties'] ?? {}) as Record<string, SchemaNode>;
  const value: Record<string, unknown> = {};
  const errors: ErrorObject[] = [];
  for (const [rawKey, raw] of Object.entries(fields)) {
    const key = rawKey.endsWith('[]') ? rawKey.slice(0, -2) : rawKey;
    const property = properties[key];
    const values = Array.isArray(raw) ? raw : [raw];
    if (property?.['format'] === 'binary') {
      const file = values[0];
      if (!isFile(file)) errors.push(syntheticError(`/${key}`, 'type', `must be a file, not a text field`));
      value[key] = isFile(file) ? file.filename : '';
      continue;
    }
    value[key] = coerceField(property, values.map((v) => (isFile(v) ? v.filename : String(v))), rawKey !== key);
  }
  const validate = compile(`multipart:${schemaName}`, { $ref: refTo(schemaName) });
  if (!validate(value)) errors.push(...(validate.errors ?? []));
  return errors.length === 0 ? null : violationOf(operation, errors, value);
}

function isFile(value: unknown): value is MultipartFile {
  return typeof value === 'object' && value !== null && Buffer.isBuffer((value as MultipartFile).bytes);
}

function coerceField(property: SchemaNode | undefined, values: string[], bracketed: boolean): unknown {
  const kinds = declaredTypes(property);
  if (kinds.has('array') || bracketed) return values.map((v) => coerceScalar(itemTypes(property), v));
  return coerceScalar(kinds, values[0] ?? '');
}

function coerceScalar(kinds: Set<string>, value: string): unknown {
  if ((kinds.has('number') || kinds.has('integer')) && value.trim() !== '' && !Number.isNaN(Number(value))) {
    return Number(value);
  }
  if (kinds.has('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  if (kinds.has('object') && value.trim().startsWith('{')) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

/** The JSON types a property may take, looking through `anyOf`/`oneOf` and local `$ref`s. */
function declaredTypes(node: SchemaNode | undefined, depth = 0): Set<string> {
  const types = new Set<string>();
  if (!node || depth > 8) return types;
  const ref = node['$ref'];
  if (typeof ref === 'string') {
    const target = spec().doc.components.schemas[ref.replace('#/components/schemas/', '')];
    for (const t of declaredTypes(target, depth + 1)) types.add(t);
  }
  const type = node['type'];
  for (const t of Array.isArray(type) ? type : [type]) if (typeof t === 'string') types.add(t);
  if (node['properties'] !== undefined) types.add('object');
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const branches = node[key];
    if (Array.isArray(branches)) for (const b of branches) for (const t of declaredTypes(b as SchemaNode, depth + 1)) types.add(t);
  }
  return types;
}

function itemTypes(node: SchemaNode | undefined): Set<string> {
  const items = node?.['items'];
  return typeof items === 'object' && items !== null ? declaredTypes(items as SchemaNode) : new Set(['string']);
}

function syntheticError(instancePath: string, keyword: string, message: string): ErrorObject {
  return { instancePath, schemaPath: '#/multipart', keyword, params: {}, message };
}

/** Errors that only say "some branch failed" carry no detail of their own. */
const SUMMARY_KEYWORDS = new Set(['anyOf', 'oneOf', 'allOf', 'if', 'not']);

function violationOf(operation: string, errors: ErrorObject[], body: unknown): RequestViolation {
  const detailed = errors.filter((e) => !SUMMARY_KEYWORDS.has(e.keyword));
  // The shallowest error is the one a person fixes first (the branch errors of a oneOf
  // over message roles are deeper than a missing top-level field).
  const best = [...(detailed.length > 0 ? detailed : errors)].sort(
    (a, b) => depthOf(a) - depthOf(b) || rankOf(a) - rankOf(b),
  )[0] as ErrorObject;
  const lines = errors
    .slice(0, MAX_ERRORS_IN_SUMMARY)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}${paramsText(e)}`);
  const more = errors.length > MAX_ERRORS_IN_SUMMARY ? ` (+${errors.length - MAX_ERRORS_IN_SUMMARY} more)` : '';
  return {
    operation,
    summary: `${operation}: ${lines.join('; ')}${more}`,
    ...openaiStyle(best, body),
    errors,
  };
}

/** Keywords whose error is about a child of the instance it is reported on. */
const CHILD_KEYWORDS = new Set(['required', 'additionalProperties', 'unevaluatedProperties']);
/** At equal depth: a missing field first, then wrong types and values, unknown params last. */
const KEYWORD_RANK = ['required', 'type', 'discriminator', 'enum', 'const'];

function depthOf(error: ErrorObject): number {
  return (error.instancePath.match(/\//g)?.length ?? 0) + (CHILD_KEYWORDS.has(error.keyword) ? 1 : 0);
}

function rankOf(error: ErrorObject): number {
  const rank = KEYWORD_RANK.indexOf(error.keyword);
  return rank === -1 ? KEYWORD_RANK.length + (error.keyword.endsWith('Properties') ? 1 : 0) : rank;
}

function paramsText(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (Array.isArray(params['allowedValues'])) return ` (${params['allowedValues'].map((v) => JSON.stringify(v)).join(', ')})`;
  const extra = params['unevaluatedProperty'] ?? params['additionalProperty'];
  if (typeof extra === 'string') return ` (${extra})`;
  return '';
}

/** `/messages/0/role` → `messages.[0].role`, the way the live API names params. */
function paramOf(instancePath: string, child?: string): string | null {
  const parts = instancePath.split('/').filter((p) => p !== '');
  if (child !== undefined) parts.push(child);
  if (parts.length === 0) return null;
  return parts.map((p) => (/^\d+$/.test(p) ? `[${p}]` : p.replace(/~1/g, '/').replace(/~0/g, '~'))).join('.');
}

function valueAt(body: unknown, instancePath: string): unknown {
  let current = body;
  for (const part of instancePath.split('/').filter((p) => p !== '')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  return `a ${typeof value}`;
}

/** Wording after the live API's 400s, e.g. "Missing required parameter: 'messages'.". */
function openaiStyle(error: ErrorObject, body: unknown): Pick<RequestViolation, 'message' | 'param' | 'code'> {
  const params = error.params as Record<string, unknown>;
  const param = paramOf(error.instancePath);
  switch (error.keyword) {
    case 'required': {
      const missing = paramOf(error.instancePath, String(params['missingProperty']));
      return { message: `Missing required parameter: '${missing}'.`, param: missing, code: 'missing_required_parameter' };
    }
    case 'unevaluatedProperties':
    case 'additionalProperties': {
      const extra = String(params['unevaluatedProperty'] ?? params['additionalProperty']);
      const name = paramOf(error.instancePath, extra);
      return { message: `Unknown parameter: '${name}'.`, param: name, code: 'unknown_parameter' };
    }
    case 'type': {
      const actual = jsonTypeOf(valueAt(body, error.instancePath));
      const expected = String(params['type'] ?? 'another type');
      return {
        message: `Invalid type for '${param}': expected ${expected}, but got ${actual} instead.`,
        param,
        code: 'invalid_type',
      };
    }
    case 'enum':
    case 'const': {
      const allowed = Array.isArray(params['allowedValues']) ? params['allowedValues'] : [params['allowedValue']];
      const actual = JSON.stringify(valueAt(body, error.instancePath));
      return {
        message: `Invalid value: ${actual}. Supported values are: ${allowed.map((v) => `'${String(v)}'`).join(', ')}.`,
        param,
        code: 'invalid_value',
      };
    }
    case 'discriminator': {
      const tagParam = paramOf(error.instancePath, String(params['tag']));
      return { message: `Invalid value: '${String(params['tagValue'])}' for '${tagParam}'.`, param: tagParam, code: 'invalid_value' };
    }
    default:
      return { message: `Invalid '${param ?? 'body'}': ${error.message ?? error.keyword}.`, param, code: 'invalid_value' };
  }
}
