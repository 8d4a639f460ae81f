/**
 * fast-check arbitraries generated from the protocol's published JSON Schemas (`schema/*.json`,
 * written by `npm run schema`): valid frames first, which the mutators in inputs.ts then break.
 * Supports the subset of JSON Schema the protocol uses (const, anyOf, string with
 * min/maxLength/pattern/format base64, integer/number with minimum/maximum, boolean, array with
 * items/min/maxItems/uniqueItems, object with properties/required).
 *
 * Field values are biased toward what the cluster serves (zh/en/ja, pcm16, 16 kHz, small seq
 * numbers) so valid frames reach deep code paths (segmenter, jobs, nodes), not only the schema
 * check; the schema-derived generator stays in the mix for everything else.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientMessageSchemas, NodeMessageSchemas } from '@lingua/protocol';
import fc from 'fast-check';

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema documents are untyped JSON
type JsonSchema = Record<string, any>;

const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../schema');

export function loadSchema(type: string): JsonSchema {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, `${type}.json`), 'utf8')) as JsonSchema;
}

/** Languages and formats the fuzz cluster's nodes serve, so some valid frames do real work. */
const KNOWN_LANGS = ['zh', 'en', 'ja'];

/** Domain bias by field name: a mix of realistic values and the schema-derived generator. */
function biased(field: string, generic: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  switch (field) {
    case 'src_lang':
    case 'tgt_lang':
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...KNOWN_LANGS) },
        { weight: 1, arbitrary: generic },
      );
    case 'asr_langs':
    case 'tts_langs':
      return fc.oneof(
        { weight: 3, arbitrary: fc.subarray(KNOWN_LANGS, { minLength: 1 }) },
        { weight: 1, arbitrary: generic },
      );
    case 'audio_format':
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('pcm16', 'opus') },
        { weight: 1, arbitrary: generic },
      );
    case 'sample_rate':
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(8000, 16000, 48000) },
        { weight: 1, arbitrary: generic },
      );
    case 'seq':
    case 'attempt':
    case 'running_jobs':
      return fc.oneof({ weight: 4, arbitrary: fc.nat(40) }, { weight: 1, arbitrary: generic });
    case 'max_concurrent_jobs':
      return fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) },
        { weight: 1, arbitrary: generic },
      );
    case 'services':
      return fc.oneof(
        { weight: 3, arbitrary: fc.constant(['asr', 'nmt', 'tts']) },
        { weight: 1, arbitrary: generic },
      );
    default:
      return generic;
  }
}

function stringArb(s: JsonSchema): fc.Arbitrary<string> {
  const minLength = s.minLength ?? 0;
  const maxLength = Math.min(s.maxLength ?? 48, 48);
  if (s.format === 'base64') {
    // valid base64 of up to 4 KB of bytes: audio and tts payloads
    return fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b).toString('base64'));
  }
  if (s.pattern) {
    return fc
      .stringMatching(new RegExp(s.pattern), { maxLength })
      .filter((x) => x.length >= minLength && x.length <= (s.maxLength ?? Number.POSITIVE_INFINITY));
  }
  return fc.oneof(
    fc.string({ minLength, maxLength, unit: 'grapheme' }),
    fc.string({ minLength, maxLength, unit: 'binary' }),
  );
}

function numberArb(s: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = s.minimum ?? -Number.MAX_SAFE_INTEGER;
  const max = s.maximum ?? Number.MAX_SAFE_INTEGER;
  if (integer) {
    return fc.oneof(
      fc.integer({ min, max: Math.min(max, min + 1000) }),
      fc.integer({
        min: Math.max(min, -Number.MAX_SAFE_INTEGER),
        max: Math.min(max, Number.MAX_SAFE_INTEGER),
      }),
    );
  }
  return fc.double({ min, max: Number.isFinite(max) ? max : 1e15, noNaN: true, noDefaultInfinity: true });
}

/** Arbitrary of JSON values valid against `s` (with the bias above for known field names). */
export function fromSchema(s: JsonSchema, field = ''): fc.Arbitrary<unknown> {
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.anyOf)) return fc.oneof(...s.anyOf.map((x: JsonSchema) => fromSchema(x, field)));
  let generic: fc.Arbitrary<unknown>;
  switch (s.type) {
    case 'string':
      generic = stringArb(s);
      break;
    case 'integer':
      generic = numberArb(s, true);
      break;
    case 'number':
      generic = numberArb(s, false);
      break;
    case 'boolean':
      generic = fc.boolean();
      break;
    case 'array': {
      const items = fromSchema(s.items ?? {}, `${field}[]`);
      const c = { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 6, 6) };
      generic = s.uniqueItems
        ? fc.uniqueArray(items, { ...c, selector: (v) => JSON.stringify(v) })
        : fc.array(items, c);
      break;
    }
    case 'object': {
      const props: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) {
        props[k] = fromSchema(v, k);
      }
      generic = fc.record(props, { requiredKeys: (s.required ?? []) as string[] });
      break;
    }
    default:
      generic = fc.jsonValue({ maxDepth: 2 });
  }
  return biased(field, generic);
}

export type Direction = 'session' | 'node';

export const FRAME_TYPES: Record<Direction, string[]> = {
  session: Object.keys(ClientMessageSchemas),
  node: Object.keys(NodeMessageSchemas),
};

/** Audio-carrying frames weigh more, so initialized sessions reach the segmenter and jobs. */
const WEIGHTS: Record<string, number> = { audio_chunk: 5, utterance: 4, job_result: 3 };

/** One valid frame of any type of a direction, generated from schema/<type>.json. */
export function validFrame(direction: Direction): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    ...FRAME_TYPES[direction].map((t) => ({
      weight: WEIGHTS[t] ?? 1,
      arbitrary: fromSchema(loadSchema(t)) as fc.Arbitrary<Record<string, unknown>>,
    })),
  );
}

/** One valid frame of a given type. */
export function validFrameOf(type: string): fc.Arbitrary<Record<string, unknown>> {
  return fromSchema(loadSchema(type)) as fc.Arbitrary<Record<string, unknown>>;
}
