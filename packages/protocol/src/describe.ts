/**
 * Turns a TypeBox `ValueError` into `{ field, message }` such as
 * `seq: expected integer >= 0, got string`. Only runs after a check failed.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { base64Problem, MAX_SAFE } from './schemas/common';

export interface FieldError {
  field?: string;
  message: string;
}

/** `/hardware/gpus/0/memory_mb` → `hardware.gpus[0].memory_mb` */
export function pointerToField(pointer: string): string | undefined {
  if (pointer === '' || pointer === '/') return undefined;
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

export type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean' | 'undefined' | 'other';

export function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  if (t === 'string' || t === 'number' || t === 'boolean' || t === 'object' || t === 'undefined') return t;
  return 'other';
}

function isLiteral(s: TSchema): boolean {
  return s[Kind] === 'Literal';
}

/** The JSON type a schema wants, when it wants exactly one. */
function wantedType(schema: TSchema): JsonType | undefined {
  switch (schema[Kind]) {
    case 'Integer':
    case 'Number':
      return 'number';
    case 'String':
      return 'string';
    case 'Boolean':
      return 'boolean';
    case 'Object':
      return 'object';
    case 'Array':
      return 'array';
    case 'Literal':
      return jsonTypeOf(schema.const);
    case 'Union': {
      const kinds = new Set((schema.anyOf as TSchema[]).map(wantedType));
      return kinds.size === 1 ? [...kinds][0] : undefined;
    }
    default:
      return undefined;
  }
}

function range(min: number | undefined, max: number | undefined): string {
  const hasMax = max !== undefined && max !== MAX_SAFE;
  if (min !== undefined && hasMax) return ` ${min}..${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (hasMax) return ` <= ${max}`;
  return '';
}

function describeString(schema: TSchema): string {
  if (schema.format === 'base64') return 'base64 string';
  const { minLength: lo, maxLength: hi } = schema;
  let s = 'string';
  if (lo !== undefined && hi !== undefined) s += ` of ${lo}..${hi} chars`;
  else if (lo !== undefined && lo > 0) s += ` of at least ${lo} chars`;
  else if (hi !== undefined) s += ` of at most ${hi} chars`;
  if (schema.pattern) s += ` matching ${schema.pattern}`;
  return s;
}

function describeArray(schema: TSchema): string {
  const { minItems: lo, maxItems: hi } = schema;
  let count = '';
  if (lo !== undefined && hi !== undefined) count = `${lo}..${hi}`;
  else if (lo !== undefined && lo > 0) count = `${lo}+`;
  else if (hi !== undefined) count = `at most ${hi}`;
  const words = [count, schema.uniqueItems ? 'unique' : ''].filter(Boolean).join(' ');
  return words ? `array of ${words} items` : 'array';
}

/** Human description of what a schema accepts: `integer >= 0`, `one of "asr" | "nmt"`. */
export function describeExpected(schema: TSchema): string {
  switch (schema[Kind]) {
    case 'Integer':
      return 'integer' + range(schema.minimum, schema.maximum);
    case 'Number':
      return 'number' + range(schema.minimum, schema.maximum);
    case 'Boolean':
      return 'boolean';
    case 'Object':
      return 'object';
    case 'Literal':
      return JSON.stringify(schema.const);
    case 'String':
      return describeString(schema);
    case 'Array':
      return describeArray(schema);
    case 'Union': {
      const members = schema.anyOf as TSchema[];
      if (members.every(isLiteral))
        return 'one of ' + members.map((m) => JSON.stringify(m.const)).join(' | ');
      return members.map(describeExpected).join(' or ');
    }
    default:
      return typeof schema.type === 'string' ? schema.type : 'valid value';
  }
}

function quote(s: string): string {
  return s.length <= 40 ? JSON.stringify(s) : `string of ${s.length} chars`;
}

/** What we got: a type name when the type is wrong, else the (truncated) offending value. */
export function describeGot(error: Pick<ValueError, 'type' | 'schema' | 'value'>): string {
  const { schema, value } = error;
  const have = jsonTypeOf(value);
  const want = wantedType(schema);
  if (want !== undefined && want !== have) return have;
  switch (have) {
    case 'number':
    case 'boolean':
      return String(value);
    case 'string':
      if (error.type === ValueErrorType.StringFormat && schema.format === 'base64') {
        return base64Problem(value as string);
      }
      return quote(value as string);
    case 'array':
      if (error.type === ValueErrorType.ArrayUniqueItems) return 'duplicate items';
      return `${(value as unknown[]).length} items`;
    default:
      return have;
  }
}

export function explainError(error: ValueError): FieldError {
  const field = pointerToField(error.path);
  const name = field ?? 'frame';
  if (error.type === ValueErrorType.ObjectRequiredProperty) {
    return { field, message: `${name}: missing, expected ${describeExpected(error.schema)}` };
  }
  return { field, message: `${name}: expected ${describeExpected(error.schema)}, got ${describeGot(error)}` };
}
