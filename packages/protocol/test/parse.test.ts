import { describe, expect, it } from 'vitest';
import {
  type AudioChunk,
  type ClientMessage,
  ErrorCode,
  encodeFrame,
  errorFrame,
  errorMessage,
  isBase64,
  isErrorCode,
  type MessageOf,
  parseClientFrame,
  parseFailureFrame,
  parseNodeFrame,
  parseServerToClientFrame,
  parseServerToNodeFrame,
  utf8ByteLength,
  validateClientMessage,
  validateNodeMessage,
} from '../src/index';
import {
  B64,
  clientFixtures,
  jobResultFailure,
  mutate,
  nodeFixtures,
  serverToClientFixtures,
  serverToNodeFixtures,
} from './support/fixtures';

const directions = [
  ['client', parseClientFrame, clientFixtures],
  ['server_to_client', parseServerToClientFrame, serverToClientFixtures],
  ['node', parseNodeFrame, { ...nodeFixtures, job_result_failure: jobResultFailure }],
  ['server_to_node', parseServerToNodeFrame, serverToNodeFixtures],
] as const;

const cases = directions.flatMap(([dir, parse, fixtures]) =>
  Object.entries(fixtures).map(([name, msg]) => [`${dir} ${name}`, parse, msg] as const),
);

/** Adds unknown fields at the top level and inside every nested object. */
function withUnknownFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withUnknownFields);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = { x_future: { nested: [1, 'two', null] }, x_flag: true };
  for (const [k, v] of Object.entries(value)) out[k] = withUnknownFields(v);
  return out;
}

describe('valid frames', () => {
  it.each(cases)('%s parses', (_name, parse, msg) => {
    expect(parse(JSON.stringify(msg))).toEqual({ ok: true, msg });
  });

  it.each(cases)('%s ignores unknown fields at every level', (_name, parse, msg) => {
    const extended = withUnknownFields(msg);
    const result = parse(JSON.stringify(extended));
    expect(result).toEqual({ ok: true, msg: extended });
  });

  it('accepts frames with every optional field omitted', () => {
    const minimal: [typeof parseClientFrame | typeof parseNodeFrame, object][] = [
      [
        parseClientFrame,
        { type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 8000 },
      ],
      [parseClientFrame, { type: 'audio_chunk', seq: 0, data: B64 }],
      [parseClientFrame, { type: 'client_heartbeat' }],
      [
        parseNodeFrame,
        {
          type: 'node_register',
          node_id: 'n',
          services: ['asr'],
          asr_langs: [],
          tts_langs: [],
          max_concurrent_jobs: 1,
        },
      ],
      [parseNodeFrame, { type: 'node_heartbeat', running_jobs: 0 }],
      [parseNodeFrame, { type: 'job_progress', job_id: 'j', attempt: 1 }],
      [
        parseNodeFrame,
        { type: 'job_result', job_id: 'j', attempt: 1, success: true, text_asr: '', text_translated: '' },
      ],
      [
        parseNodeFrame,
        { type: 'job_result', job_id: 'j', attempt: 1, success: false, error: { code: 'X', message: '' } },
      ],
    ];
    for (const [parse, msg] of minimal) expect(parse(JSON.stringify(msg))).toEqual({ ok: true, msg });
  });

  it('passes unknown audio formats through', () => {
    const msg = mutate(clientFixtures.session_init!, 'audio_format', 'opus');
    expect(parseClientFrame(JSON.stringify(msg)).ok).toBe(true);
  });

  it('accepts unpadded and empty base64', () => {
    for (const data of ['', 'AAEC', 'AAE', 'AA', 'AA==', 'AAE=']) {
      expect(parseClientFrame(JSON.stringify({ type: 'audio_chunk', seq: 1, data })).ok).toBe(true);
    }
  });

  it('decodes every binary representation', () => {
    const text = JSON.stringify(clientFixtures.audio_chunk);
    const bytes = new TextEncoder().encode(text);
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes, 4);
    const inputs = [
      bytes,
      bytes.buffer,
      Buffer.from(text),
      new DataView(padded.buffer, 4, bytes.length),
      padded.subarray(4, 4 + bytes.length),
      new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]), // UTF-8 BOM is dropped
    ];
    for (const input of inputs)
      expect(parseClientFrame(input)).toEqual({ ok: true, msg: clientFixtures.audio_chunk });
  });

  it('narrows the union by type', () => {
    const result = parseClientFrame(JSON.stringify(clientFixtures.audio_chunk));
    if (!result.ok || result.msg.type !== 'audio_chunk') throw new Error('expected audio_chunk');
    const chunk: AudioChunk = result.msg;
    const same: MessageOf<ClientMessage, 'audio_chunk'> = chunk;
    expect(same.seq).toBe(0);
  });
});

describe('never throws', () => {
  const garbage: unknown[] = [
    undefined,
    null,
    42,
    {},
    [],
    Symbol('x'),
    new ArrayBuffer(0),
    '\u0000',
    '{"type":"audio_chunk","seq":1e999,"data":""}',
    '{"type":"session_init","resume":{"session_id":{"__proto__":{"x":1}}}}',
    `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    `{"type":"audio_chunk","seq":0,"data":"${'A'.repeat(3_000_001)}"}`,
    '\ud800',
  ];
  it.each(garbage.map((g, i) => [i, g] as const))('garbage #%i', (_i, input) => {
    for (const parse of [
      parseClientFrame,
      parseNodeFrame,
      parseServerToClientFrame,
      parseServerToNodeFrame,
    ]) {
      const result = parse(input as string, { maxBytes: 10_000_000 });
      expect(typeof result.ok).toBe('boolean');
      if (!result.ok) expect(result.message.length).toBeGreaterThan(0);
    }
  });
});

describe('validate* for already-decoded values', () => {
  it('validates objects without a JSON round trip', () => {
    expect(validateClientMessage(clientFixtures.session_close)).toEqual({
      ok: true,
      msg: { type: 'session_close' },
    });
    expect(validateNodeMessage({ type: 'job_accepted', job_id: 'j', attempt: 0 })).toMatchObject({
      ok: false,
      field: 'attempt',
    });
    expect(validateClientMessage('nope')).toMatchObject({
      ok: false,
      message: 'frame must be a JSON object',
    });
  });
});

describe('encoding', () => {
  it('encodeFrame is JSON that parses back', () => {
    const msg = serverToNodeFixtures.job_assign!;
    expect(parseServerToNodeFrame(encodeFrame(msg as { type: string }))).toEqual({ ok: true, msg });
  });

  it('errorFrame builds a valid error frame for both directions', () => {
    const frame = errorFrame(ErrorCode.NO_POOL_FOR_LANG_PAIR, 'no pool for zh:xx');
    const expected = { type: 'error', code: 'NO_POOL_FOR_LANG_PAIR', message: 'no pool for zh:xx' };
    expect(JSON.parse(frame)).toEqual(expected);
    expect(parseServerToClientFrame(frame)).toEqual({ ok: true, msg: expected });
    expect(parseServerToNodeFrame(frame)).toEqual({ ok: true, msg: expected });
    expect(errorMessage(ErrorCode.BAD_MESSAGE, 'x', 'seq')).toEqual({
      type: 'error',
      code: 'BAD_MESSAGE',
      message: 'x',
      field: 'seq',
    });
  });

  it('parseFailureFrame answers a rejected frame', () => {
    const failure = parseClientFrame('{"type":"audio_chunk","seq":"1","data":""}');
    if (failure.ok) throw new Error('expected failure');
    const answer = parseServerToClientFrame(parseFailureFrame(failure));
    expect(answer).toEqual({
      ok: true,
      msg: {
        type: 'error',
        code: 'BAD_MESSAGE',
        message: 'seq: expected integer >= 0, got string',
        field: 'seq',
      },
    });
  });

  it('isErrorCode knows ours and rejects others', () => {
    expect(isErrorCode('SEQ_GAP')).toBe(true);
    expect(isErrorCode('MODEL_NOT_AVAILABLE')).toBe(false);
    expect(isErrorCode(5)).toBe(false);
  });
});

describe('helpers', () => {
  it('utf8ByteLength matches Buffer.byteLength', () => {
    for (const s of ['', 'abc', 'é', '译文', '😀', 'a\ud800b', '\udc00', `x${'😀'.repeat(10)}y`]) {
      expect(utf8ByteLength(s)).toBe(Buffer.byteLength(s, 'utf8'));
    }
  });

  it('isBase64 agrees with a Buffer round trip on canonical input', () => {
    for (let n = 0; n < 40; n++) {
      const b64 = Buffer.alloc(n, n).toString('base64');
      expect(isBase64(b64)).toBe(true);
      expect(isBase64(b64.replace(/=+$/, ''))).toBe(true);
    }
    for (const bad of ['A', 'AAAAA', '====', 'A===', 'AA=A', 'AA==AA==', 'AA AA', 'ä', 'AA\n']) {
      expect(isBase64(bad)).toBe(false);
    }
  });

  it('validates multi-megabyte base64 without a regexp stack overflow', () => {
    const data = Buffer.alloc(12 * 1024 * 1024, 1).toString('base64');
    const frame = JSON.stringify({ type: 'utterance', data });
    expect(parseClientFrame(frame, { maxBytes: 32 * 1024 * 1024 }).ok).toBe(true);
  });
});
