/**
 * Building blocks shared by every message schema. Limits live here so the gateway, the
 * SDKs and the exported JSON Schema agree on one definition of "valid".
 */
import { FormatRegistry, type Static, Type } from '@sinclair/typebox';

/** Largest value we accept for counters; beyond it `n + 1 === n` and gap checks break. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Standard base64 alphabet, padding optional. Deliberately a single character class: a
 * grouped `(?:[..]{4})*` pattern overflows V8's regexp stack on multi-megabyte strings.
 * The length rule (a lone trailing char is never valid) is checked in `isBase64`.
 */
export const BASE64_PATTERN = '^[A-Za-z0-9+/]*={0,2}$';
const BASE64_RE = new RegExp(BASE64_PATTERN);

export function isBase64(s: string): boolean {
  if (!BASE64_RE.test(s)) return false;
  const rem = s.length % 4;
  return s.charCodeAt(s.length - 1) === 61 /* = */ ? rem === 0 : rem !== 1;
}

/** Explains why `s` is not base64 (for error messages only; not on the hot path). */
export function base64Problem(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '=') {
      if (s.length - i > 2 || /[^=]/.test(s.slice(i))) return `misplaced '=' at offset ${i}`;
      break;
    }
    if (!/[A-Za-z0-9+/]/.test(c)) return `invalid base64 character ${JSON.stringify(c)} at offset ${i}`;
  }
  return `invalid base64 length ${s.length}`;
}

// TypeBox checks `format` through a process-wide registry at validation time.
if (!FormatRegistry.Has('base64')) FormatRegistry.Set('base64', isBase64);

export const Base64 = () => Type.String({ format: 'base64', contentEncoding: 'base64' });

/** Language code such as `zh`, `en`, `pt-BR`, `zh_Hant`. */
export const LangCode = () => Type.String({ minLength: 2, maxLength: 16, pattern: '^[A-Za-z0-9_-]+$' });

/**
 * Identifiers that end up inside Redis keys and metric labels (node, session, job,
 * instance, tenant ids). `{`/`}` are excluded on purpose: they would change the Redis
 * Cluster hash slot of keys built with hash tags.
 */
export const Id = () => Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' });

/** Opaque secrets (resume tokens): any non-empty string, bounded. */
export const Opaque = (maxLength = 1024) => Type.String({ minLength: 1, maxLength });

/** Open set of audio format names (`pcm16`, `opus`, ...): unknown ones pass through. */
export const AudioFormat = () => Type.String({ minLength: 1, maxLength: 32 });

/**
 * Real audio sample rates (v1.2: was 1..384000). Duration is computed from it, so an absurd
 * rate turned one chunk into a thousand utterances (docs/security.md, "Quotas and bounds").
 */
export const SAMPLE_RATE_MIN = 8000;
export const SAMPLE_RATE_MAX = 192_000;
export const SampleRate = () => Type.Integer({ minimum: SAMPLE_RATE_MIN, maximum: SAMPLE_RATE_MAX });

/** Declared byte rate of a non-pcm16 stream, bytes/s (v1.5): 8 kbit/s .. 192 kHz × 8 bytes. */
export const BYTE_RATE_MIN = 1000;
export const BYTE_RATE_MAX = 1_536_000;
export const ByteRate = () => Type.Number({ minimum: BYTE_RATE_MIN, maximum: BYTE_RATE_MAX });

/** Longest ASR / translated / partial text, in UTF-16 units (v1.5; a transcript, not a blob). */
export const MAX_TEXT_CHARS = 16_384;
export const ResultText = () => Type.String({ maxLength: MAX_TEXT_CHARS });

/** Languages a node may list per direction (v1.2: was 256; the registry always refused > 64). */
export const MAX_NODE_LANGS = 64;

export const NonNegInt = () => Type.Integer({ minimum: 0, maximum: MAX_SAFE });

/** Indexes where -1 means "none yet" (last_result_index, last_accepted_seq). */
export const IndexOrNone = () => Type.Integer({ minimum: -1, maximum: MAX_SAFE });

export const PositiveInt = () => Type.Integer({ minimum: 1, maximum: MAX_SAFE });

export const Attempt = () => Type.Integer({ minimum: 1, maximum: MAX_SAFE });

/** Durations and timestamps that may be fractional (client clocks, measured ms). */
export const NonNegNumber = () => Type.Number({ minimum: 0 });

/** Error codes on the wire are an open set (docs/protocol.md: "the project may add codes"). */
export const ErrorCodeString = () => Type.String({ minLength: 1, maxLength: 64 });

/** Pool name `src:tgt`, e.g. `zh:en`. */
export const PoolName = () =>
  Type.String({ minLength: 5, maxLength: 33, pattern: '^[A-Za-z0-9_-]{2,16}:[A-Za-z0-9_-]{2,16}$' });

export const ServiceSchema = Type.Union([Type.Literal('asr'), Type.Literal('nmt'), Type.Literal('tts')]);
export type Service = Static<typeof ServiceSchema>;
export const SERVICES: readonly Service[] = ['asr', 'nmt', 'tts'];

export const FinalizeReasonSchema = Type.Union([
  Type.Literal('is_final'),
  Type.Literal('pause'),
  Type.Literal('max_duration'),
  Type.Literal('max_length'),
  Type.Literal('session_close'),
]);
export type FinalizeReason = Static<typeof FinalizeReasonSchema>;
export const FINALIZE_REASONS: readonly FinalizeReason[] = [
  'is_final',
  'pause',
  'max_duration',
  'max_length',
  'session_close',
];

export const MissingReasonSchema = Type.Union([
  Type.Literal('timeout'),
  Type.Literal('failed'),
  Type.Literal('no_node'),
]);
export type MissingReason = Static<typeof MissingReasonSchema>;
export const MISSING_REASONS: readonly MissingReason[] = ['timeout', 'failed', 'no_node'];

/** Per-session feature switches; unknown switches are ignored. */
export const FeaturesSchema = Type.Object({
  tts: Type.Optional(Type.Boolean()),
  /** v1.8: the session receives `partial_result` frames while its utterances are worked on. */
  partial: Type.Optional(Type.Boolean()),
  /**
   * v1.11, in `job_assign` only: the job is of a two-way session; `src_lang`/`tgt_lang` are the
   * pair (lang_a, lang_b), the node detects which one was spoken and answers with the
   * direction in `job_result`. Set by the gateway from `session_init.mode`; ignored from clients.
   */
  two_way: Type.Optional(Type.Boolean()),
});
export type Features = Static<typeof FeaturesSchema>;
