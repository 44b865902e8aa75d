/**
 * Checks Bot API call parameters against the machine-readable spec in
 * ../shared/specs/telegram-bot-api.json (methods → fields with types and `required`).
 * Form and multipart values must be read as typed values (numbers, booleans, JSON) first.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SPEC_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/specs/telegram-bot-api.json');

interface SpecField { readonly name: string; readonly types: readonly string[]; readonly required: boolean; readonly description?: string }

/**
 * A subtype's fixed `type`, as the spec words it ("Scope type, must be
 * all_chat_administrators", "Type of the reaction, always “emoji”"): which subtype an
 * object is depends on it, so a wrong one is caught.
 */
const FIXED_TYPE = /(?:must be|always) [“"]?([a-z0-9_]+)[”"]?\s*\.?\s*$/;
interface SpecEntry { readonly fields?: readonly SpecField[]; readonly subtypes?: readonly string[] }
interface Spec { readonly methods: Record<string, SpecEntry>; readonly types: Record<string, SpecEntry> }

let spec: Spec | undefined;
function loadSpec(): Spec {
  spec ??= JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Spec;
  return spec;
}

/** True when the spec documents `method`. */
export function isKnownMethod(method: string): boolean {
  return Object.hasOwn(loadSpec().methods, method);
}

/** Problems with a call's parameters; empty when they match the spec. */
export function checkCall(method: string, params: Record<string, unknown>): string[] {
  const entry = loadSpec().methods[method];
  if (entry === undefined) return [`${method}: not a Bot API method`];
  return checkFields(method, entry.fields ?? [], params);
}

function checkFields(where: string, fields: readonly SpecField[], value: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const field of fields) {
    if (field.required && value[field.name] === undefined) problems.push(`${where}.${field.name}: required`);
  }
  for (const [name, inner] of Object.entries(value)) {
    if (inner === undefined) continue;
    const field = fields.find((f) => f.name === name);
    if (field === undefined) {
      problems.push(`${where}.${name}: not a documented parameter`);
      continue;
    }
    const results = field.types.map((type) => checkType(`${where}.${name}`, type, inner));
    if (!results.some((r) => r.length === 0)) problems.push(...(results[0] ?? []));
    const fixed = name === 'type' ? FIXED_TYPE.exec(field.description ?? '')?.[1] : undefined;
    if (fixed !== undefined && inner !== fixed) problems.push(`${where}.type: must be ${fixed}, got ${JSON.stringify(inner)}`);
  }
  return problems;
}

function checkType(where: string, type: string, value: unknown): string[] {
  if (type.startsWith('Array of ')) {
    if (!Array.isArray(value)) return [`${where}: expected ${type}`];
    return value.flatMap((item, i) => checkType(`${where}[${i}]`, type.slice('Array of '.length), item));
  }
  switch (type) {
    case 'Integer':
      return Number.isInteger(value) ? [] : [`${where}: expected Integer, got ${JSON.stringify(value)}`];
    case 'Float':
      return typeof value === 'number' ? [] : [`${where}: expected Float`];
    case 'String':
      return typeof value === 'string' ? [] : [`${where}: expected String, got ${JSON.stringify(value)}`];
    case 'Boolean':
    case 'True':
      return typeof value === 'boolean' ? [] : [`${where}: expected Boolean`];
    case 'InputFile':
      return typeof value === 'object' && value !== null && 'filename' in value ? [] : [`${where}: expected an uploaded file`];
  }
  const entry = loadSpec().types[type];
  if (entry === undefined) return [`${where}: unknown type ${type}`];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${where}: expected ${type} object`];
  if (entry.subtypes && entry.subtypes.length > 0) {
    const results = entry.subtypes.map((sub) => checkType(where, sub, value));
    return results.some((r) => r.length === 0) ? [] : [`${where}: matches none of ${entry.subtypes.join(', ')}`];
  }
  return checkFields(where, entry.fields ?? [], value as Record<string, unknown>);
}
