import { describe, expect, it } from 'vitest';
import { MAX_FRAME_DEPTH, parseClientFrame, parseNodeFrame, withinDepth } from '../src';

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('frame nesting bound', () => {
  it('withinDepth counts object and array levels without recursing', () => {
    expect(withinDepth(1)).toBe(true);
    expect(withinDepth({ a: [{ b: 1 }] }, 3)).toBe(true);
    expect(withinDepth({ a: [{ b: 1 }] }, 2)).toBe(false);
    // a million levels: no stack overflow, just false
    expect(withinDepth(JSON.parse(nested(1_000_000)))).toBe(false);
  });

  it('a session_init whose features nest 100k deep is BAD_MESSAGE, not a crash later', () => {
    const frame = `{"type":"session_init","src_lang":"zh","tgt_lang":"en","audio_format":"pcm16","sample_rate":16000,"features":${nested(100_000)}}`;
    const r = parseClientFrame(frame, { maxBytes: 4_000_000 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('BAD_MESSAGE');
      expect(r.message).toContain(`deeper than ${MAX_FRAME_DEPTH}`);
    }
  });

  it('arrays nested deep in a node frame are refused; normal frames pass', () => {
    const deep = `{"type":"node_heartbeat","x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    expect(parseNodeFrame(deep, { maxBytes: 1_000_000 }).ok).toBe(false);
    expect(parseNodeFrame('{"type":"node_heartbeat","running_jobs":1}').ok).toBe(true);
    const atLimit = JSON.parse(`{"x":${'['.repeat(MAX_FRAME_DEPTH - 1)}${']'.repeat(MAX_FRAME_DEPTH - 1)}}`);
    expect(withinDepth(atLimit)).toBe(true);
    expect(withinDepth({ y: atLimit })).toBe(false);
  });
});
