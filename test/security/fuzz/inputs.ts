/**
 * The fuzzer's inputs, as fast-check arbitraries:
 *  - raw HTTP requests and WebSocket upgrades over TCP (methods, paths, query strings with
 *    malformed escapes, headers, bodies: anything a socket can carry, not only what a
 *    well-behaved HTTP client would send);
 *  - WebSocket connections to /ws/session and /ws/node carrying a sequence of frames: valid
 *    frames generated from the JSON Schemas (schema-arb.ts), then mutated (wrong types, huge
 *    values, deep nesting, unicode, missing and extra fields) and sent as text, as binary, or
 *    replaced by garbage.
 * Everything is generated from a seed, so a run can be replayed exactly.
 */
import fc from 'fast-check';
import { type Direction, validFrame, validFrameOf } from './schema-arb';

export type WireFrame = { binary: false; text: string } | { binary: true; bytes: Uint8Array };

export interface WsCase {
  surface: 'session' | 'node';
  gateway: number;
  /** query string after `?` ('' = none) */
  query: string;
  frames: WireFrame[];
}

export interface RawCase {
  surface: 'http' | 'upgrade';
  gateway: number;
  request: Uint8Array;
}

export type FuzzCase = WsCase | RawCase;

/** Valid credentials to mix in when the cluster runs with auth (env-configured). */
export interface FuzzTokens {
  session?: string;
  node?: string;
  admin?: string;
}

/**
 * The pair the honest session uses. Fuzz nodes are never allowed to serve it: in open mode
 * anyone may register a node (issue 9, finding 2 — the auth work closes that), and a fuzz node
 * holding an honest job without answering would only measure that, not the gateway.
 */
export const HONEST_PAIR = { src: 'en', tgt: 'ja' } as const;

// ---------- value mutations ----------

const HUGE_STRING = fc.integer({ min: 10_000, max: 300_000 }).map((n) => 'A'.repeat(n));
const EDGE_NUMBERS = fc.constantFrom(
  -0,
  0.5,
  -1,
  2 ** 53,
  2 ** 64,
  1e308,
  -1e308,
  5e-324,
  1.7976931348623157e308,
);
const UNICODE = fc.oneof(
  fc.constantFrom(
    '\ud800',
    '\udfff',
    '\u0000',
    '\u202e',
    '\uffff',
    '\ufeff',
    '🦜🦜',
    'é',
    '\u200b',
    '%00',
    '\\',
  ),
  fc.string({ unit: 'binary', maxLength: 64 }),
);
const ANY_JSON = fc.jsonValue({ maxDepth: 3 });
const WRONG_TYPE = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 16 }),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }),
);
const EXTRA_KEYS = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'type2', ''),
  fc.string({ maxLength: 12 }),
);

/** Marker replaced after JSON.stringify by a deeply nested value (built as text: no recursion). */
const DEEP_MARK = '\u0000DEEP\u0000';
const deepText = (depth: number, kind: 'array' | 'object') =>
  kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

type Mutation = (frame: Record<string, unknown>) => string;

const pickKey = (frame: Record<string, unknown>, i: number) => {
  const keys = Object.keys(frame);
  return keys.length ? keys[i % keys.length]! : 'type';
};

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // missing field
  fc.nat().map((i) => (f: Record<string, unknown>) => {
    const c = { ...f };
    delete c[pickKey(f, i)];
    return JSON.stringify(c);
  }),
  // wrong type
  fc.tuple(fc.nat(), WRONG_TYPE).map(
    ([i, v]) =>
      (f: Record<string, unknown>) =>
        JSON.stringify({ ...f, [pickKey(f, i)]: v }),
  ),
  // huge value
  fc
    .tuple(
      fc.nat(),
      fc.oneof(HUGE_STRING, EDGE_NUMBERS, fc.constant(Array.from({ length: 20_000 }, (_, k) => k))),
    )
    .map(
      ([i, v]) =>
        (f: Record<string, unknown>) =>
          JSON.stringify({ ...f, [pickKey(f, i)]: v }),
    ),
  // deep nesting in a field (e.g. features) or as the whole frame
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom(64, 1000, 20_000, 100_000),
      fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>,
      fc.boolean(),
    )
    .map(([i, depth, kind, whole]) => (f: Record<string, unknown>) => {
      if (whole) return deepText(depth, kind);
      const key = pickKey({ ...f, features: 1 }, i);
      return JSON.stringify({ ...f, [key]: DEEP_MARK }).replace(
        JSON.stringify(DEEP_MARK),
        deepText(depth, kind),
      );
    }),
  // unicode in a field
  fc.tuple(fc.nat(), UNICODE).map(
    ([i, v]) =>
      (f: Record<string, unknown>) =>
        JSON.stringify({ ...f, [pickKey(f, i)]: v }),
  ),
  // extra fields
  fc
    .array(fc.tuple(EXTRA_KEYS, ANY_JSON), { minLength: 1, maxLength: 4 })
    .map((extra) => (f: Record<string, unknown>) => {
      let text = JSON.stringify(f);
      for (const [k, v] of extra)
        text = `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(v)}}`;
      return text;
    }),
  // edge numbers in numeric fields
  fc.tuple(fc.nat(), EDGE_NUMBERS).map(
    ([i, v]) =>
      (f: Record<string, unknown>) =>
        JSON.stringify({ ...f, [pickKey(f, i)]: v }),
  ),
  // duplicate keys: the last one wins in JSON.parse
  fc
    .constantFrom('session_init', 'node_register', 'audio_chunk', 'job_result', 'x')
    .map((t) => (f: Record<string, unknown>) => {
      const text = JSON.stringify(f);
      return `{"type":${JSON.stringify(t)},${text.slice(1)}`;
    }),
);

const garbageText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    'null',
    '[]',
    '{}',
    '"str"',
    '42',
    'true',
    '{',
    '{"type":',
    '{"type":"session_init"',
    '\u0000',
  ),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
);

/** One frame on the wire: valid, mutated, or garbage; as text or binary. */
function wireFrame(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<WireFrame> {
  const asText = (t: string): WireFrame => ({ binary: false, text: t });
  return fc.oneof(
    { weight: 5, arbitrary: valid.map((f) => asText(JSON.stringify(f))) },
    { weight: 6, arbitrary: fc.tuple(valid, mutation).map(([f, m]) => asText(m(f))) },
    { weight: 2, arbitrary: garbageText.map(asText) },
    {
      weight: 1,
      arbitrary: valid.map(
        (f): WireFrame => ({ binary: true, bytes: new TextEncoder().encode(JSON.stringify(f)) }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 2048 }).map((b): WireFrame => ({ binary: true, bytes: b })),
    },
  );
}

/** Keeps fuzz nodes off the honest pair and off the simulated nodes' ids. */
function sanitizeNodeFrame(f: Record<string, unknown>): Record<string, unknown> {
  if (f.type !== 'node_register') return f;
  const out = { ...f };
  if (typeof out.node_id === 'string') out.node_id = `fz-${out.node_id}`.slice(0, 128);
  if (
    Array.isArray(out.asr_langs) &&
    out.asr_langs.includes(HONEST_PAIR.src) &&
    Array.isArray(out.tts_langs)
  ) {
    out.tts_langs = out.tts_langs.filter((l) => l !== HONEST_PAIR.tgt);
  }
  return out;
}

/** Renumbers seq fields 0, 1, 2… so the segmenter sees in-order audio (half of the cases). */
function renumber(frames: Record<string, unknown>[]): Record<string, unknown>[] {
  let seq = 0;
  return frames.map((f) => ('seq' in f && typeof f.seq === 'number' ? { ...f, seq: seq++ } : f));
}

function wsCase(surface: Direction, tokens: FuzzTokens): fc.Arbitrary<WsCase> {
  const sanitize = surface === 'node' ? sanitizeNodeFrame : (f: Record<string, unknown>) => f;
  const valid = validFrame(surface).map(sanitize);
  const first = fc
    .tuple(validFrameOf(surface === 'session' ? 'session_init' : 'node_register'), fc.nat(9))
    // a resume of an invented session is answered SESSION_NOT_FOUND: keep it to 1 in 10
    .map(([f, n]) => {
      if (n === 0 || !('resume' in f)) return f;
      const { resume: _, ...rest } = f;
      return rest;
    })
    .map(sanitize)
    .map((f) =>
      surface === 'node' && tokens.node !== undefined && f.type === 'node_register'
        ? { ...f, token: tokens.node }
        : f,
    );
  const body = fc.array(valid, { maxLength: 24 });
  const query = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constant(
        tokens.session && surface === 'session' ? `token=${encodeURIComponent(tokens.session)}` : '',
      ),
    },
    { weight: 1, arbitrary: queryString },
  );
  return fc
    .record({
      gateway: fc.nat(1),
      query,
      opener: fc.option(first, { freq: 4, nil: undefined }), // valid init/register first in 3 of 4 cases
      frames: body,
      ordered: fc.boolean(),
      wire: fc.array(fc.tuple(fc.nat(99), wireFrame(valid)), { maxLength: 24 }),
    })
    .map(({ gateway, query: q, opener, frames, ordered, wire }) => {
      const objs = ordered ? renumber(frames) : frames;
      const out: WireFrame[] = [];
      if (opener) out.push({ binary: false, text: JSON.stringify(opener) });
      // valid in-order frames interleaved with mutated/garbage ones at random positions
      const mixed: WireFrame[] = objs.map((f) => ({ binary: false, text: JSON.stringify(f) }));
      for (const [pos, w] of wire) mixed.splice(pos % (mixed.length + 1), 0, w);
      out.push(...mixed);
      return { surface, gateway, query: q, frames: out.slice(0, 32) };
    });
}

// ---------- HTTP / upgrade surface ----------

const percentJunk = fc.constantFrom(
  '%',
  '%%',
  '%G1',
  '%zz',
  '%E0%A4%A',
  '%00',
  '%ff',
  '%2e%2e%2f',
  '%u0041',
  '%C0%AF',
  '%',
);
const queryString: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc
        .tuple(
          fc.constantFrom('token', 'a', '', 'session', '__proto__'),
          fc.oneof(percentJunk, fc.string({ maxLength: 20 })),
        )
        .map(([k, v]) => `${k}=${v}`),
      percentJunk,
      fc.string({ maxLength: 30 }),
      fc.constant(`token=${'%41'.repeat(2000)}`),
    ),
    { maxLength: 5 },
  )
  .map((parts) => parts.join('&'));

const KNOWN_PATHS = [
  '/',
  '/health',
  '/ready',
  '/metrics',
  '/api/v1/cluster',
  '/api/v1/jobs/abc.1',
  '/api/v1/jobs/',
  '/api/v1/events',
  '/dashboard',
  '/dashboard/',
  '/ws/session',
  '/ws/node',
  '/ws/',
  '//',
  '/..',
  '/%2e%2e/%2e%2e/etc/passwd',
];
const pathArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_PATHS) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(fc.webSegment(), percentJunk, fc.string({ maxLength: 10 })), { maxLength: 6 })
      .map((s) => `/${s.join('/')}`),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => `/${'a'.repeat(n)}`) },
  { weight: 1, arbitrary: fc.constantFrom('*', '', 'http://evil.example/', 'no-slash', '/\u00e9\u0000') },
);
const methodArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'GET',
      'POST',
      'PUT',
      'DELETE',
      'HEAD',
      'OPTIONS',
      'PATCH',
      'TRACE',
      'CONNECT',
    ),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme-ascii' }) },
  { weight: 1, arbitrary: fc.constantFrom('G ET', 'get', '', 'GET\u0000') },
);
const headerValue = fc.oneof(
  fc.string({ maxLength: 40, unit: 'grapheme-ascii' }),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.integer({ min: 500, max: 20_000 }).map((n) => 'x'.repeat(n)),
);
const headerArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(
    fc.constant('Authorization'),
    fc.oneof(
      headerValue.map((v) => `Bearer ${v}`),
      headerValue,
    ),
  ),
  fc.tuple(fc.constant('Cookie'), headerValue),
  fc.tuple(
    fc.constant('Content-Length'),
    fc.oneof(fc.constantFrom('-1', '99999999999', 'abc', '0', '5'), headerValue),
  ),
  fc.tuple(fc.constant('Transfer-Encoding'), fc.constantFrom('chunked', 'gzip, chunked', 'x')),
  fc.tuple(fc.constant('Sec-WebSocket-Protocol'), headerValue),
  fc.tuple(
    fc.constant('Sec-WebSocket-Extensions'),
    fc.oneof(fc.constant('permessage-deflate; client_max_window_bits'), headerValue),
  ),
  fc.tuple(fc.constant('Accept'), headerValue),
  fc.tuple(fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme-ascii' }), headerValue),
);

function rawRequest(
  method: string,
  target: string,
  headers: [string, string][],
  body: string,
  lineEnd: string,
): Uint8Array {
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(`${head.join(lineEnd)}${lineEnd}${lineEnd}${body}`, 'utf8');
}

function rawCase(tokens: FuzzTokens): fc.Arbitrary<RawCase> {
  const lineEnd = fc.oneof(
    { weight: 8, arbitrary: fc.constant('\r\n') },
    { weight: 1, arbitrary: fc.constantFrom('\n', '\r') },
  );
  const adminAuth: [string, string][] = tokens.admin ? [['Authorization', `Bearer ${tokens.admin}`]] : [];
  const http = fc
    .record({
      gateway: fc.nat(1),
      method: methodArb,
      path: pathArb,
      query: fc.option(queryString, { nil: undefined }),
      headers: fc.array(headerArb, { maxLength: 6 }),
      admin: fc.boolean(),
      body: fc.oneof(fc.constant(''), fc.string({ maxLength: 200 })),
      lineEnd,
    })
    .map(
      (c): RawCase => ({
        surface: 'http',
        gateway: c.gateway,
        request: rawRequest(
          c.method,
          c.query === undefined ? c.path : `${c.path}?${c.query}`,
          [...(c.admin ? adminAuth : []), ...c.headers],
          c.body,
          c.lineEnd,
        ),
      }),
    );
  const upgrade = fc
    .record({
      gateway: fc.nat(1),
      path: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('/ws/session', '/ws/node') },
        { weight: 1, arbitrary: pathArb },
      ),
      query: queryString,
      key: fc.oneof(
        {
          weight: 4,
          arbitrary: fc
            .uint8Array({ minLength: 16, maxLength: 16 })
            .map((b) => Buffer.from(b).toString('base64')),
        },
        { weight: 1, arbitrary: headerValue },
      ),
      version: fc.oneof({ weight: 4, arbitrary: fc.constant('13') }, { weight: 1, arbitrary: headerValue }),
      headers: fc.array(headerArb, { maxLength: 4 }),
      lineEnd,
    })
    .map(
      (c): RawCase => ({
        surface: 'upgrade',
        gateway: c.gateway,
        request: rawRequest(
          'GET',
          `${c.path}?${c.query}`,
          [
            ['Upgrade', 'websocket'],
            ['Connection', 'Upgrade'],
            ['Sec-WebSocket-Key', c.key],
            ['Sec-WebSocket-Version', c.version],
            ...c.headers,
          ],
          '',
          c.lineEnd,
        ),
      }),
    );
  return fc.oneof({ weight: 3, arbitrary: http }, { weight: 2, arbitrary: upgrade });
}

/** The whole input space; `inputs` of a case = its frames (WebSocket) or 1 (raw request). */
export function fuzzCase(tokens: FuzzTokens = {}): fc.Arbitrary<FuzzCase> {
  return fc.oneof(
    { weight: 3, arbitrary: wsCase('session', tokens) },
    { weight: 2, arbitrary: wsCase('node', tokens) },
    { weight: 3, arbitrary: rawCase(tokens) },
  );
}

export function inputsOf(c: FuzzCase): number {
  return 'frames' in c ? c.frames.length : 1;
}
