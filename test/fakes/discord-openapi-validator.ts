/**
 * Checks request bodies the fake Discord receives against Discord's official OpenAPI
 * document in ../shared/specs/discord-openapi.json (https://github.com/discord/discord-api-spec).
 *
 * The document is OpenAPI 3.1 with plain JSON Schema 2020-12 schemas, so unlike the OpenAI
 * spec (test/fakes/openapi-validator.ts) it needs no rewriting: we register its component
 * schemas once with Ajv2020 in non-strict mode (its custom formats such as `snowflake` and
 * `int64` are accepted as any string or number) and compile each operation's request
 * schema on first use.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the spec lives: `shared/specs` beside the repository. */
export const DISCORD_SPEC_PATH = path.resolve(REPO_ROOT, '..', 'shared', 'specs', 'discord-openapi.json');
const SPEC_ID = 'https://switchboard.invalid/discord-openapi.json';
/** Formats the spec uses that Ajv does not know; any value of the right type passes. */
const CUSTOM_FORMATS = ['snowflake', 'int64', 'int32', 'nonce', 'uri', 'date-time', 'double', 'float', 'uuid', 'email'];
const MAX_ERRORS_IN_SUMMARY = 6;

type SchemaNode = Record<string, unknown>;
interface DiscordSpec {
  paths: Record<string, Record<string, { operationId?: string; requestBody?: { content?: Record<string, { schema?: SchemaNode }> } }>>;
  components: { schemas: Record<string, SchemaNode> };
}

let loaded: { doc: DiscordSpec; ajv: Ajv2020 } | undefined;
const compiled = new Map<string, ValidateFunction>();

function spec(): { doc: DiscordSpec; ajv: Ajv2020 } {
  if (loaded) return loaded;
  const doc = JSON.parse(readFileSync(DISCORD_SPEC_PATH, 'utf8')) as DiscordSpec;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, logger: false });
  for (const format of CUSTOM_FORMATS) ajv.addFormat(format, () => true);
  ajv.addSchema({ $id: SPEC_ID, components: { schemas: doc.components.schemas } });
  loaded = { doc, ajv };
  return loaded;
}

/** `#/components/...` refs point into the registered document. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (node === null || typeof node !== 'object') return node;
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${SPEC_ID}${value}` : rebase(value);
  }
  return out;
}

/**
 * Validates a JSON request body for the operation at `pathTemplate` (as written in the
 * spec, e.g. `/channels/{channel_id}/messages`) and `method`. Returns a one-line summary
 * of every problem, or undefined when the body is valid.
 */
export function validateDiscordRequest(method: string, pathTemplate: string, body: unknown): string | undefined {
  const key = `${method.toLowerCase()} ${pathTemplate}`;
  let validate = compiled.get(key);
  if (!validate) {
    const { doc, ajv } = spec();
    const operation = doc.paths[pathTemplate]?.[method.toLowerCase()];
    if (!operation) return `${key}: no such operation in the Discord OpenAPI spec`;
    const schema = operation.requestBody?.content?.['application/json']?.schema;
    if (!schema) return body === undefined ? undefined : `${key}: the operation takes no body`;
    validate = ajv.compile(rebase(schema) as SchemaNode);
    compiled.set(key, validate);
  }
  if (validate(body)) return undefined;
  const errors = (validate.errors ?? []).slice(0, MAX_ERRORS_IN_SUMMARY);
  return `${key}: ${errors.map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`).join('; ')}`;
}
