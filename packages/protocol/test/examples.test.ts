import { describe, expect, it } from 'vitest';
import {
  ClientMessageSchemas,
  ERROR_CODES,
  ErrorCode,
  FINALIZE_REASONS,
  MISSING_REASONS,
  NodeMessageSchemas,
  type ParseResult,
  parseClientFrame,
  parseNodeFrame,
  parseServerToClientFrame,
  parseServerToNodeFrame,
  ServerToClientMessageSchemas,
  ServerToNodeMessageSchemas,
} from '../src/index';
import { type Direction, protocolExamples, readProtocolDoc } from './support/protocol-doc';

const parsers: Record<Direction, (data: string | Uint8Array) => ParseResult<{ type: string }>> = {
  client: parseClientFrame,
  server_to_client: parseServerToClientFrame,
  node: parseNodeFrame,
  server_to_node: parseServerToNodeFrame,
};

const typesOf: Record<Direction, string[]> = {
  client: Object.keys(ClientMessageSchemas),
  server_to_client: Object.keys(ServerToClientMessageSchemas),
  node: Object.keys(NodeMessageSchemas),
  server_to_node: Object.keys(ServerToNodeMessageSchemas),
};

const doc = readProtocolDoc();
const examples = protocolExamples(doc);

describe('docs/protocol.md examples', () => {
  it('extracts every example block', () => {
    // 5 client, 7 server→client, 7 node (two job_result variants), 5 server→node.
    expect(examples.length).toBeGreaterThanOrEqual(24);
  });

  it.each(examples.map((e) => [e.direction, e.type, e] as const))(
    '%s %s parses',
    (direction, _type, example) => {
      const text = parsers[direction](example.frame);
      expect(text).toEqual({ ok: true, msg: JSON.parse(example.frame) });
      const binary = parsers[direction](new TextEncoder().encode(example.frame));
      expect(binary.ok).toBe(true);
    },
  );

  it.each(Object.keys(parsers) as Direction[])(
    '%s: every message type has a documented example',
    (direction) => {
      const documented = new Set(examples.filter((e) => e.direction === direction).map((e) => e.type));
      expect([...documented].sort()).toEqual([...typesOf[direction]].sort());
    },
  );

  it('documents both job_result variants', () => {
    const results = examples.filter((e) => e.type === 'job_result').map((e) => JSON.parse(e.frame).success);
    expect([...new Set(results)].sort()).toEqual([false, true]);
  });

  it('rejects the examples whose base64 placeholders are left unreplaced', () => {
    const withPlaceholder = examples.filter((e) => e.source.includes('"<base64'));
    expect(withPlaceholder.length).toBeGreaterThanOrEqual(4);
    for (const e of withPlaceholder) {
      const raw = JSON.stringify(JSON.parse(e.source, (k, v) => (v === '…' ? `example-${k}` : v)));
      const result = parsers[e.direction](raw);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(['data', 'audio', 'tts_audio']).toContain(result.field);
    }
  });
});

describe('docs/protocol.md enumerations', () => {
  it('ErrorCode contains every code listed in the contract plus the project additions', () => {
    const section = doc.slice(doc.indexOf('## Error codes'), doc.indexOf('## WebSocket close codes'));
    const listed = [...section.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!);
    expect(listed.length).toBeGreaterThanOrEqual(11);
    for (const code of listed) expect(ERROR_CODES).toContain(code);
    for (const code of [
      'SEQ_GAP',
      'SESSION_CLOSED',
      'NODE_NOT_REGISTERED',
      'JOB_NOT_HELD',
      'UNAVAILABLE',
      'DRAINING',
    ]) {
      expect(ErrorCode[code as keyof typeof ErrorCode]).toBe(code);
    }
  });

  it('FinalizeReason matches the documented utterance_accepted reasons', () => {
    const start = doc.indexOf('is one of', doc.indexOf('`reason` of `utterance_accepted`'));
    const bullet = doc.slice(start, doc.indexOf('.', start));
    const documented = [...bullet.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    expect(documented.sort()).toEqual([...FINALIZE_REASONS].sort());
  });

  it('MissingReason matches the documented missing_result reasons', () => {
    const line = doc.split('\n').find((l) => l.includes('"type":"missing_result"'))!;
    for (const reason of MISSING_REASONS) expect(line).toContain(reason);
  });
});
