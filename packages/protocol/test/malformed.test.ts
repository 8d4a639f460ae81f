import { describe, expect, it } from 'vitest';
import {
  type FrameData,
  type ParseOptions,
  type ParseResult,
  parseClientFrame,
  parseNodeFrame,
  parseServerToClientFrame,
  parseServerToNodeFrame,
} from '../src/index';
import {
  clientFixtures as C,
  jobResultFailure,
  mutate,
  nodeFixtures as N,
  serverToClientFixtures as SC,
  serverToNodeFixtures as SN,
} from './support/fixtures';

type Parser = (data: FrameData, opts?: ParseOptions) => ParseResult<unknown>;
const client: Parser = parseClientFrame;
const node: Parser = parseNodeFrame;
const toClient: Parser = parseServerToClientFrame;
const toNode: Parser = parseServerToNodeFrame;

const set = (base: Record<string, unknown> | undefined, path: string, value: unknown) =>
  JSON.stringify(mutate(base!, path, value));
const drop = (base: Record<string, unknown> | undefined, path: string) =>
  JSON.stringify(mutate(base!, path, undefined, true));

/** [description, parser, frame, expected field] — every one must be BAD_MESSAGE naming the field. */
const fieldCases: [string, Parser, string, string][] = [
  // envelope
  ['type missing', client, '{"seq":1}', 'type'],
  ['type is a number', client, '{"type":5}', 'type'],
  ['type is null', node, '{"type":null}', 'type'],
  ['unknown type', client, '{"type":"foo"}', 'type'],
  ['node type on the session socket', client, JSON.stringify(N.node_register), 'type'],
  ['session type on the node socket', node, JSON.stringify(C.session_init), 'type'],
  ['prototype key as type', client, '{"type":"__proto__"}', 'type'],
  ['constructor as type', node, '{"type":"constructor"}', 'type'],
  // audio_chunk / utterance / heartbeat
  ['seq is a string', client, set(C.audio_chunk, 'seq', '1'), 'seq'],
  ['seq is negative', client, set(C.audio_chunk, 'seq', -1), 'seq'],
  ['seq is a float', client, set(C.audio_chunk, 'seq', 1.5), 'seq'],
  ['seq missing', client, drop(C.audio_chunk, 'seq'), 'seq'],
  ['seq beyond safe integers', client, set(C.audio_chunk, 'seq', 2 ** 60), 'seq'],
  ['data is a number', client, set(C.audio_chunk, 'data', 123), 'data'],
  ['data has non-base64 chars', client, set(C.audio_chunk, 'data', 'not base64!'), 'data'],
  ['data has an impossible length', client, set(C.audio_chunk, 'data', 'AAAAA'), 'data'],
  ['data has misplaced padding', client, set(C.audio_chunk, 'data', 'AA=A'), 'data'],
  ['data is base64url', client, set(C.audio_chunk, 'data', 'ab-_'), 'data'],
  ['is_final is a string', client, set(C.audio_chunk, 'is_final', 'true'), 'is_final'],
  ['utterance data missing', client, drop(C.utterance, 'data'), 'data'],
  ['client_heartbeat ts is a string', client, set(C.client_heartbeat, 'ts', 'now'), 'ts'],
  ['client_heartbeat ts negative', client, set(C.client_heartbeat, 'ts', -5), 'ts'],
  // session_init
  ['src_lang missing', client, drop(C.session_init, 'src_lang'), 'src_lang'],
  ['src_lang empty', client, set(C.session_init, 'src_lang', ''), 'src_lang'],
  ['tgt_lang too long', client, set(C.session_init, 'tgt_lang', 'e'.repeat(17)), 'tgt_lang'],
  ['src_lang with a space', client, set(C.session_init, 'src_lang', 'z h'), 'src_lang'],
  ['tgt_lang is an array', client, set(C.session_init, 'tgt_lang', ['en']), 'tgt_lang'],
  ['sample_rate zero', client, set(C.session_init, 'sample_rate', 0), 'sample_rate'],
  ['sample_rate float', client, set(C.session_init, 'sample_rate', 16000.5), 'sample_rate'],
  ['sample_rate string', client, set(C.session_init, 'sample_rate', '16000'), 'sample_rate'],
  ['audio_format empty', client, set(C.session_init, 'audio_format', ''), 'audio_format'],
  ['audio_format too long', client, set(C.session_init, 'audio_format', 'x'.repeat(33)), 'audio_format'],
  ['features is a string', client, set(C.session_init, 'features', 'tts'), 'features'],
  ['features.tts is a string', client, set(C.session_init, 'features.tts', 'yes'), 'features.tts'],
  ['resume is a string', client, set(C.session_init, 'resume', 'abc'), 'resume'],
  ['resume.session_id is a number', client, set(C.session_init, 'resume.session_id', 5), 'resume.session_id'],
  ['resume.resume_token missing', client, drop(C.session_init, 'resume.resume_token'), 'resume.resume_token'],
  [
    'resume.last_result_index below -1',
    client,
    set(C.session_init, 'resume.last_result_index', -2),
    'resume.last_result_index',
  ],
  ['tenant_id with a hash-tag brace', client, set(C.session_init, 'tenant_id', '{acme}'), 'tenant_id'],
  // node_register
  ['node_id missing', node, drop(N.node_register, 'node_id'), 'node_id'],
  ['token is a number', node, set(N.node_register, 'token', 123), 'token'],
  ['services not an array', node, set(N.node_register, 'services', 'asr'), 'services'],
  ['services with an unknown service', node, set(N.node_register, 'services', ['asr', 'stt']), 'services[1]'],
  ['services empty', node, set(N.node_register, 'services', []), 'services'],
  ['services duplicated', node, set(N.node_register, 'services', ['asr', 'asr']), 'services'],
  ['asr_langs with a number', node, set(N.node_register, 'asr_langs', [1]), 'asr_langs[0]'],
  ['max_concurrent_jobs zero', node, set(N.node_register, 'max_concurrent_jobs', 0), 'max_concurrent_jobs'],
  [
    'max_concurrent_jobs too high',
    node,
    set(N.node_register, 'max_concurrent_jobs', 2048),
    'max_concurrent_jobs',
  ],
  [
    'max_concurrent_jobs float',
    node,
    set(N.node_register, 'max_concurrent_jobs', 1.5),
    'max_concurrent_jobs',
  ],
  ['hardware is a string', node, set(N.node_register, 'hardware', 'big'), 'hardware'],
  ['hardware.gpus is an object', node, set(N.node_register, 'hardware.gpus', {}), 'hardware.gpus'],
  [
    'hardware.gpus[0].memory_mb is a string',
    node,
    set(N.node_register, 'hardware.gpus', [{ name: 'A100', memory_mb: '40GB' }]),
    'hardware.gpus[0].memory_mb',
  ],
  [
    'hardware.gpus[1].name missing',
    node,
    set(N.node_register, 'hardware.gpus', [{ name: 'A100', memory_mb: 1 }, { memory_mb: 1 }]),
    'hardware.gpus[1].name',
  ],
  ['hardware.cpu_cores negative', node, set(N.node_register, 'hardware.cpu_cores', -1), 'hardware.cpu_cores'],
  // heartbeat / job messages
  ['running_jobs missing', node, drop(N.node_heartbeat, 'running_jobs'), 'running_jobs'],
  ['resource.cpu is a string', node, set(N.node_heartbeat, 'resource.cpu', 'high'), 'resource.cpu'],
  ['attempt zero', node, set(N.job_accepted, 'attempt', 0), 'attempt'],
  ['attempt is a string', node, set(N.job_accepted, 'attempt', '1'), 'attempt'],
  ['job_id empty', node, set(N.job_accepted, 'job_id', ''), 'job_id'],
  ['partial_text is a number', node, set(N.job_progress, 'partial_text', 5), 'partial_text'],
  ['job_result success missing', node, drop(N.job_result, 'success'), 'success'],
  ['job_result success is a string', node, set(N.job_result, 'success', 'true'), 'success'],
  ['job_result success without text_asr', node, drop(N.job_result, 'text_asr'), 'text_asr'],
  ['job_result tts_audio not base64', node, set(N.job_result, 'tts_audio', '%%%'), 'tts_audio'],
  ['job_result processing_ms negative', node, set(N.job_result, 'processing_ms', -1), 'processing_ms'],
  ['job_result failure without error', node, drop(jobResultFailure, 'error'), 'error'],
  ['job_result error.code is a number', node, set(jobResultFailure, 'error.code', 5), 'error.code'],
  [
    'job_result error.retryable is a string',
    node,
    set(jobResultFailure, 'error.retryable', 'yes'),
    'error.retryable',
  ],
  // server → client
  ['config.pause_ms zero', toClient, set(SC.session_init_ack, 'config.pause_ms', 0), 'config.pause_ms'],
  [
    'last_accepted_seq below -1',
    toClient,
    set(SC.session_init_ack, 'last_accepted_seq', -2),
    'last_accepted_seq',
  ],
  ['unknown finalize reason', toClient, set(SC.utterance_accepted, 'reason', 'timeout'), 'reason'],
  ['unknown missing reason', toClient, set(SC.missing_result, 'reason', 'lost'), 'reason'],
  ['translation_result timings missing', toClient, drop(SC.translation_result, 'timings'), 'timings'],
  [
    'timings.node_ms is a string',
    toClient,
    set(SC.translation_result, 'timings.node_ms', '1'),
    'timings.node_ms',
  ],
  ['error code missing', toClient, drop(SC.error, 'code'), 'code'],
  ['server_heartbeat ts is a string', toClient, set(SC.server_heartbeat, 'ts', 'x'), 'ts'],
  // server → node
  ['pools entry is not src:tgt', toNode, set(SN.node_register_ack, 'pools', ['zh:en', 'zh-en']), 'pools[1]'],
  ['job_assign audio not base64', toNode, set(SN.job_assign, 'audio', 'a b'), 'audio'],
  [
    'job_assign utterance_index negative',
    toNode,
    set(SN.job_assign, 'utterance_index', -1),
    'utterance_index',
  ],
  ['job_assign deadline_ms missing', toNode, drop(SN.job_assign, 'deadline_ms'), 'deadline_ms'],
  ['job_cancel attempt zero', toNode, set(SN.job_cancel, 'attempt', 0), 'attempt'],
];

/** Frame-level failures: no field, an exact message. */
const frameCases: [string, Parser, FrameData, string][] = [
  ['invalid JSON', client, '{"type":', 'frame is not valid JSON'],
  ['empty frame', node, '', 'frame is not valid JSON'],
  ['JSON array', client, '[{"type":"session_close"}]', 'frame must be a JSON object'],
  ['JSON null', node, 'null', 'frame must be a JSON object'],
  ['JSON number', toClient, '42', 'frame must be a JSON object'],
  ['JSON string', toNode, '"session_close"', 'frame must be a JSON object'],
  ['binary invalid UTF-8', client, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'frame is not valid UTF-8'],
  ['neither text nor binary', client, 42 as unknown as FrameData, 'frame must be text or binary'],
];

describe('malformed frames', () => {
  it('covers at least 40 field-level cases', () => {
    expect(fieldCases.length + frameCases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(fieldCases)('%s → BAD_MESSAGE naming the field', (_name, parse, frame, field) => {
    const result = parse(frame);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('BAD_MESSAGE');
    expect(result.field).toBe(field);
    expect(result.message.startsWith(`${field}: `)).toBe(true);
    // The same frame as binary gives the same answer.
    expect(parse(new TextEncoder().encode(frame))).toEqual(result);
  });

  it.each(frameCases)('%s → BAD_MESSAGE without a field', (_name, parse, frame, message) => {
    const result = parse(frame);
    expect(result).toEqual({ ok: false, code: 'BAD_MESSAGE', message });
  });

  it('uses the documented message wording', () => {
    const msg = (r: ParseResult<unknown>) => (r.ok ? '' : r.message);
    expect(msg(parseClientFrame(set(C.audio_chunk, 'seq', 'x')))).toBe(
      'seq: expected integer >= 0, got string',
    );
    expect(msg(parseClientFrame(set(C.audio_chunk, 'seq', 1.5)))).toBe('seq: expected integer >= 0, got 1.5');
    expect(msg(parseClientFrame('{"type":"foo"}'))).toBe('type: unknown message type "foo"');
    expect(msg(parseClientFrame('{}'))).toBe('type: missing');
    expect(msg(parseNodeFrame(set(N.node_register, 'services', ['asr', 'stt'])))).toBe(
      'services[1]: expected one of "asr" | "nmt" | "tts", got "stt"',
    );
    expect(msg(parseNodeFrame(set(N.node_register, 'max_concurrent_jobs', 0)))).toBe(
      'max_concurrent_jobs: expected integer 1..1024, got 0',
    );
    expect(msg(parseNodeFrame(drop(N.job_result, 'success')))).toBe('success: missing, expected boolean');
    expect(msg(parseClientFrame(set(C.audio_chunk, 'data', 'AA!A')))).toContain(
      'invalid base64 character "!"',
    );
  });

  it('reports the message type of a recognized frame', () => {
    const result = parseClientFrame(set(C.audio_chunk, 'seq', -1));
    expect(result).toMatchObject({ ok: false, messageType: 'audio_chunk' });
  });

  it('truncates long offending values in messages', () => {
    const result = parseClientFrame(set(C.session_init, 'src_lang', 'x'.repeat(5000)));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message.length).toBeLessThan(200);
    const unknown = parseClientFrame(JSON.stringify({ type: 't'.repeat(5000) }));
    if (!unknown.ok) expect(unknown.message.length).toBeLessThan(120);
  });
});

describe('oversized frames', () => {
  const big = JSON.stringify({ ...C.audio_chunk, data: 'A'.repeat(2000) });

  it('rejects a text frame over maxBytes with PAYLOAD_TOO_LARGE', () => {
    const result = parseClientFrame(big, { maxBytes: 1024 });
    expect(result).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
    if (!result.ok) {
      expect(result.field).toBeUndefined();
      expect(result.message).toContain('1024');
    }
  });

  it('rejects a binary frame over maxBytes', () => {
    const result = parseNodeFrame(new TextEncoder().encode(big), { maxBytes: 1024 });
    expect(result).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('counts UTF-8 bytes, not UTF-16 units', () => {
    // 300 CJK characters = 900 bytes of UTF-8 but 300 string units.
    const frame = JSON.stringify({ ...N.job_progress, partial_text: '译'.repeat(300) });
    expect(frame.length).toBeLessThan(500);
    expect(parseNodeFrame(frame, { maxBytes: 500 })).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
    expect(parseNodeFrame(frame, { maxBytes: 1000 }).ok).toBe(true);
  });

  it('accepts a frame exactly at the limit', () => {
    const frame = JSON.stringify(C.session_close);
    expect(parseClientFrame(frame, { maxBytes: frame.length }).ok).toBe(true);
    expect(parseClientFrame(frame, { maxBytes: frame.length - 1 }).ok).toBe(false);
  });

  it('applies a default limit when none is given', () => {
    const huge = JSON.stringify({ ...C.utterance, data: 'A'.repeat(5 * 1024 * 1024) });
    expect(parseClientFrame(huge)).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
    expect(parseClientFrame(huge, { maxBytes: Number.POSITIVE_INFINITY }).ok).toBe(true);
  });
});
