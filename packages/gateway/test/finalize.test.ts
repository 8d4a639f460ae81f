import { describe, expect, it } from 'vitest';
import {
  type ChunkOutcome,
  type FinalizeConfigInput,
  type Finalized,
  UtteranceSegmenter,
} from '../src/finalize';

/** Deterministic PRNG so property-style tests are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A byte stream where byte k is k % 251, so every slice is recognisable. */
class Stream {
  private pos = 0;
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (this.pos + i) % 251;
    this.pos += n;
    return out;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Fields that must not depend on delivery timing. */
function shape(u: Finalized) {
  return `${u.index} ${u.reason} ${u.lastChunkSeq} ${Buffer.from(u.audio).toString('hex')}`;
}

// Small numbers: 1 byte per ms, limits in the tens/hundreds of bytes (no 1 s cut floor here;
// the floor has its own tests below).
const base: FinalizeConfigInput = {
  pauseMs: 3000,
  maxDurationMs: 100,
  maxUtteranceBytes: 1000,
  bytesPerMs: 1,
  frameBytes: 2,
  maxReorder: 4,
  minCutMs: 0,
};

function seg(over: Partial<FinalizeConfigInput> = {}, start = {}) {
  return new UtteranceSegmenter({ ...base, ...over }, start);
}

describe('UtteranceSegmenter: finalize reasons', () => {
  it('is_final finalizes after appending the chunk', () => {
    const s = new Stream();
    const g = seg();
    const a = s.take(10);
    const b = s.take(20);
    expect(g.onChunk(0, a, false, 1000)).toEqual({ status: 'accepted', expectedSeq: 1, utterances: [] });
    const out = g.onChunk(1, b, true, 1040);
    expect(out.status).toBe('accepted');
    expect(out.utterances).toEqual([
      {
        index: 0,
        audio: concat([a, b]),
        reason: 'is_final',
        lastChunkSeq: 1,
        durationMs: 30,
        firstChunkAt: 1000,
        finalizedAt: 1040,
      },
    ]);
    expect(g.bufferedBytes).toBe(0);
    expect(g.lastAcceptedSeq).toBe(1);
    expect(g.nextIndex).toBe(1);
    expect(g.nextDeadline()).toBeNull();
  });

  it('pause: deadline math, refreshed by audio, fires at exactly pauseMs', () => {
    const g = seg({ pauseMs: 3000 });
    expect(g.nextDeadline()).toBeNull();
    g.onChunk(0, new Uint8Array(4), false, 100);
    expect(g.nextDeadline()).toBe(3100);
    g.onChunk(1, new Uint8Array(4), false, 900);
    expect(g.nextDeadline()).toBe(3900);
    expect(g.onTick(3899)).toEqual([]);
    const [u, ...rest] = g.onTick(3900);
    expect(rest).toEqual([]);
    expect(u).toMatchObject({
      index: 0,
      reason: 'pause',
      lastChunkSeq: 1,
      firstChunkAt: 100,
      finalizedAt: 3900,
    });
    expect(u?.audio.length).toBe(8);
    expect(g.nextDeadline()).toBeNull();
    expect(g.onTick(100_000)).toEqual([]);
  });

  it('an empty chunk is not audio: it does not refresh the pause deadline', () => {
    const g = seg({ pauseMs: 1000 });
    g.onChunk(0, new Uint8Array(4), false, 0);
    g.onChunk(1, new Uint8Array(0), false, 500);
    expect(g.nextDeadline()).toBe(1000);
    expect(g.onTick(1000)[0]).toMatchObject({ reason: 'pause', lastChunkSeq: 1 });
  });

  it('a late tick is caught up by the next chunk: pause first, then the chunk starts a new utterance', () => {
    const g = seg({ pauseMs: 1000 });
    g.onChunk(0, new Uint8Array(4), false, 0);
    const out = g.onChunk(1, new Uint8Array(6), true, 5000);
    expect(out.utterances.map((u) => [u.index, u.reason, u.lastChunkSeq, u.audio.length])).toEqual([
      [0, 'pause', 0, 4],
      [1, 'is_final', 1, 6],
    ]);
  });

  it('max_duration cuts at the chunk boundary, keeps the rest, last_chunk_seq exact', () => {
    const s = new Stream();
    const g = seg({ maxDurationMs: 100 }); // 100 bytes at 1 byte/ms
    const chunks = [s.take(30), s.take(30), s.take(30), s.take(30)];
    expect(g.onChunk(0, chunks[0]!, false, 0).utterances).toEqual([]);
    expect(g.onChunk(1, chunks[1]!, false, 10).utterances).toEqual([]);
    expect(g.onChunk(2, chunks[2]!, false, 20).utterances).toEqual([]);
    const out = g.onChunk(3, chunks[3]!, false, 30);
    expect(out.utterances).toHaveLength(1);
    expect(out.utterances[0]).toMatchObject({
      index: 0,
      reason: 'max_duration',
      lastChunkSeq: 2,
      durationMs: 90,
    });
    expect(out.utterances[0]?.audio).toEqual(concat(chunks.slice(0, 3)));
    expect(g.lastAcceptedSeq).toBe(2);
    expect(g.bufferedBytes).toBe(30);
    const [rest] = g.onClose(40);
    expect(rest).toMatchObject({ index: 1, reason: 'session_close', lastChunkSeq: 3, firstChunkAt: 30 });
    expect(rest?.audio).toEqual(chunks[3]);
    expect(g.lastAcceptedSeq).toBe(3);
  });

  it('reaching the limit exactly is not over it', () => {
    const g = seg({ maxDurationMs: 100 });
    g.onChunk(0, new Uint8Array(50), false, 0);
    expect(g.onChunk(1, new Uint8Array(50), false, 0).utterances).toEqual([]);
    expect(g.bufferedBytes).toBe(100);
    const out = g.onChunk(2, new Uint8Array(2), false, 0);
    expect(out.utterances.map((u) => [u.reason, u.audio.length, u.lastChunkSeq])).toEqual([
      ['max_duration', 100, 1],
    ]);
  });

  it('max_length applies as a byte guard', () => {
    const g = seg({ maxUtteranceBytes: 50, maxDurationMs: 1_000_000 });
    g.onChunk(0, new Uint8Array(40), false, 0);
    const out = g.onChunk(1, new Uint8Array(20), false, 0);
    expect(out.utterances.map((u) => [u.reason, u.audio.length, u.lastChunkSeq])).toEqual([
      ['max_length', 40, 0],
    ]);
  });

  it('both limits: the smaller one is hit first and names the reason; a tie is max_length', () => {
    const cut = (over: Partial<FinalizeConfigInput>) => {
      const g = seg(over);
      g.onChunk(0, new Uint8Array(200), false, 0);
      return g.onChunk(1, new Uint8Array(200), false, 0).utterances.map((u) => u.reason);
    };
    expect(cut({ maxUtteranceBytes: 300, maxDurationMs: 250 })).toEqual(['max_duration']);
    expect(cut({ maxUtteranceBytes: 250, maxDurationMs: 300 })).toEqual(['max_length']);
    expect(cut({ maxUtteranceBytes: 300, maxDurationMs: 300 })).toEqual(['max_length']);
  });

  it('session_close flushes the buffer; an empty buffer yields nothing', () => {
    const g = seg();
    expect(g.onClose(0)).toEqual([]);
    g.onChunk(0, new Uint8Array(6), false, 0);
    expect(g.onClose(10).map((u) => [u.reason, u.lastChunkSeq, u.audio.length])).toEqual([
      ['session_close', 0, 6],
    ]);
    expect(g.onClose(20)).toEqual([]);
  });

  it('session_close after the pause deadline reports pause (as if ticked on time)', () => {
    const g = seg({ pauseMs: 1000 });
    g.onChunk(0, new Uint8Array(6), false, 0);
    expect(g.onClose(1000).map((u) => u.reason)).toEqual(['pause']);
  });

  it('session_close discards held chunks beyond a gap', () => {
    const g = seg();
    g.onChunk(0, new Uint8Array(4), false, 0);
    g.onChunk(2, new Uint8Array(4), false, 0);
    expect(g.heldChunks).toBe(1);
    expect(g.onClose(1).map((u) => [u.lastChunkSeq, u.audio.length])).toEqual([[0, 4]]);
    expect(g.heldChunks).toBe(0);
  });
});

describe('UtteranceSegmenter: giant chunks', () => {
  it('a single chunk over the limit is split into frame-aligned pieces; the remainder stays', () => {
    const s = new Stream();
    // maxUtteranceBytes 101 with frameBytes 2 → limit 100 (never split a sample).
    const g = seg({ maxUtteranceBytes: 101, maxDurationMs: 1_000_000 });
    const head = s.take(10);
    const giant = s.take(350);
    g.onChunk(0, head, false, 0);
    const out = g.onChunk(1, giant, false, 5);
    expect(out.utterances.map((u) => [u.index, u.reason, u.audio.length, u.lastChunkSeq])).toEqual([
      [0, 'max_length', 10, 0], // the buffer before the giant chunk is cut at its boundary
      [1, 'max_length', 100, 0], // pieces: chunk 1 is not fully accepted yet
      [2, 'max_length', 100, 0],
      [3, 'max_length', 100, 0],
    ]);
    for (const u of out.utterances) expect(u.audio.length % 2).toBe(0);
    expect(g.bufferedBytes).toBe(50);
    expect(g.lastAcceptedSeq).toBe(0);
    const [last] = g.onClose(6);
    expect(last).toMatchObject({ index: 4, reason: 'session_close', lastChunkSeq: 1 });
    expect(concat([...out.utterances.map((u) => u.audio), last!.audio])).toEqual(concat([head, giant]));
  });

  it('an exact multiple of the limit keeps one full piece buffered', () => {
    const g = seg({ maxDurationMs: 100 });
    const out = g.onChunk(0, new Uint8Array(200), false, 0);
    expect(out.utterances.map((u) => [u.reason, u.audio.length, u.lastChunkSeq])).toEqual([
      ['max_duration', 100, -1],
    ]);
    expect(g.bufferedBytes).toBe(100);
  });

  it('is_final on a giant chunk finalizes the remainder with the chunk seq', () => {
    const g = seg({ maxDurationMs: 100 });
    const out = g.onChunk(0, new Uint8Array(250), true, 0);
    expect(out.utterances.map((u) => [u.reason, u.audio.length, u.lastChunkSeq])).toEqual([
      ['max_duration', 100, -1],
      ['max_duration', 100, -1],
      ['is_final', 50, 0],
    ]);
    expect(g.lastAcceptedSeq).toBe(0);
  });

  it('the duration limit is aligned down to frameBytes', () => {
    // 11 ms * 3 bytes/ms = 33 bytes → 32 with frameBytes 2.
    const g = seg({ bytesPerMs: 3, maxDurationMs: 11 });
    const out = g.onChunk(0, new Uint8Array(70), true, 0);
    expect(out.utterances.map((u) => u.audio.length)).toEqual([32, 32, 6]);
  });
});

describe('UtteranceSegmenter: sequencing', () => {
  it('drops duplicates (seq below expected, or already held)', () => {
    const g = seg();
    g.onChunk(0, new Uint8Array(2), false, 0);
    g.onChunk(1, new Uint8Array(2), false, 0);
    expect(g.onChunk(0, new Uint8Array(2), false, 0)).toEqual({
      status: 'duplicate',
      expectedSeq: 2,
      utterances: [],
    });
    expect(g.onChunk(3, new Uint8Array(2), false, 0).status).toBe('buffered');
    expect(g.onChunk(3, new Uint8Array(2), false, 0).status).toBe('duplicate');
    expect(g.onChunk(-1, new Uint8Array(2), false, 0).status).toBe('duplicate');
    expect(g.bufferedBytes).toBe(4);
  });

  it('reorders chunks within the window; is_final on a held chunk applies when it is applied', () => {
    const s = new Stream();
    const c = [s.take(4), s.take(4), s.take(4), s.take(4)];
    const g = seg();
    expect(g.onChunk(0, c[0]!, false, 0).status).toBe('accepted');
    expect(g.onChunk(2, c[2]!, true, 1)).toEqual({ status: 'buffered', expectedSeq: 1, utterances: [] });
    expect(g.onChunk(3, c[3]!, false, 2).status).toBe('buffered');
    expect(g.heldChunks).toBe(2);
    const out = g.onChunk(1, c[1]!, false, 3);
    expect(out.status).toBe('accepted');
    expect(out.expectedSeq).toBe(4);
    expect(out.utterances.map((u) => [u.reason, u.lastChunkSeq])).toEqual([['is_final', 2]]);
    expect(out.utterances[0]?.audio).toEqual(concat(c.slice(0, 3)));
    expect(g.bufferedBytes).toBe(4);
    expect(g.heldChunks).toBe(0);
  });

  it('held chunks keep the pause from firing; the held chunk arrival time is its firstChunkAt', () => {
    const g = seg({ pauseMs: 1000 });
    g.onChunk(0, new Uint8Array(2), true, 0);
    g.onChunk(2, new Uint8Array(2), false, 500);
    expect(g.nextDeadline()).toBeNull(); // nothing buffered, chunk 2 is only held
    g.onChunk(1, new Uint8Array(0), false, 900);
    expect(g.nextDeadline()).toBe(1500);
    const [u] = g.onClose(1200);
    expect(u).toMatchObject({ reason: 'session_close', firstChunkAt: 500, lastChunkSeq: 2 });
  });

  it('gap overflow drops the chunk and reports the expected seq; the resend fills the gap', () => {
    const g = seg({ maxReorder: 2 });
    g.onChunk(0, new Uint8Array(2), false, 0);
    expect(g.onChunk(2, new Uint8Array(2), false, 0).status).toBe('buffered');
    expect(g.onChunk(3, new Uint8Array(2), false, 0).status).toBe('buffered');
    expect(g.onChunk(4, new Uint8Array(2), false, 0)).toEqual({
      status: 'gap_overflow',
      expectedSeq: 1,
      utterances: [],
    });
    // The client resends from expectedSeq.
    expect(g.onChunk(1, new Uint8Array(2), false, 0)).toMatchObject({ status: 'accepted', expectedSeq: 4 });
    expect(g.onChunk(2, new Uint8Array(2), false, 0).status).toBe('duplicate');
    expect(g.onChunk(3, new Uint8Array(2), false, 0).status).toBe('duplicate');
    expect(g.onChunk(4, new Uint8Array(2), false, 0)).toMatchObject({ status: 'accepted', expectedSeq: 5 });
    expect(g.bufferedBytes).toBe(10);
  });

  it('maxReorder 0 holds nothing', () => {
    const g = seg({ maxReorder: 0 });
    expect(g.onChunk(1, new Uint8Array(2), false, 0).status).toBe('gap_overflow');
    expect(g.heldChunks).toBe(0);
  });

  it('resume construction: starts at nextIndex / nextSeq', () => {
    const g = seg({}, { nextIndex: 5, nextSeq: 18 });
    expect(g.nextIndex).toBe(5);
    expect(g.expectedSeq).toBe(18);
    expect(g.lastAcceptedSeq).toBe(17);
    expect(g.onChunk(17, new Uint8Array(2), false, 0).status).toBe('duplicate');
    const out = g.onChunk(18, new Uint8Array(2), true, 0);
    expect(out.utterances.map((u) => [u.index, u.lastChunkSeq])).toEqual([[5, 18]]);
    expect(g.nextIndex).toBe(6);
  });
});

describe('UtteranceSegmenter: edge cases', () => {
  it('empty audio never makes an utterance', () => {
    const g = seg();
    const out = g.onChunk(0, new Uint8Array(0), true, 0);
    expect(out).toEqual({ status: 'accepted', expectedSeq: 1, utterances: [] });
    expect(g.onUtterance(new Uint8Array(0), 0)).toEqual([]);
    expect(g.onTick(1_000_000)).toEqual([]);
    expect(g.nextIndex).toBe(0);
    expect(g.nextDeadline()).toBeNull();
  });

  it('onUtterance appends to the buffer and finalizes is_final with the last applied seq', () => {
    const s = new Stream();
    const g = seg();
    const a = s.take(6);
    const b = s.take(8);
    g.onChunk(0, a, false, 0);
    const [u, ...rest] = g.onUtterance(b, 10);
    expect(rest).toEqual([]);
    expect(u).toMatchObject({
      index: 0,
      reason: 'is_final',
      lastChunkSeq: 0,
      firstChunkAt: 0,
      finalizedAt: 10,
    });
    expect(u?.audio).toEqual(concat([a, b]));
    const [v] = g.onUtterance(new Uint8Array(4), 20);
    expect(v).toMatchObject({ index: 1, lastChunkSeq: 0, durationMs: 4 });
  });

  it('onUtterance over the limit is cut like chunks', () => {
    const g = seg({ maxDurationMs: 100 });
    g.onChunk(0, new Uint8Array(50), false, 0);
    const out = g.onUtterance(new Uint8Array(120), 1);
    expect(out.map((u) => [u.reason, u.audio.length, u.lastChunkSeq])).toEqual([
      ['max_duration', 50, 0],
      ['max_duration', 100, 0],
      ['is_final', 20, 0],
    ]);
  });

  it('bytesPerMs null: no duration cut, durationMs null, max_length still applies', () => {
    const g = seg({ bytesPerMs: null, maxDurationMs: 1, maxUtteranceBytes: 500, frameBytes: 1 });
    g.onChunk(0, new Uint8Array(300), false, 0);
    expect(g.onChunk(1, new Uint8Array(199), false, 0).utterances).toEqual([]);
    const out = g.onChunk(2, new Uint8Array(2), true, 0);
    expect(out.utterances.map((u) => [u.reason, u.audio.length, u.durationMs, u.lastChunkSeq])).toEqual([
      ['max_length', 499, null, 1],
      ['is_final', 2, null, 2],
    ]);
  });

  it('finalized audio is a copy of the chunk bytes', () => {
    const g = seg();
    const data = new Uint8Array([1, 2, 3, 4]);
    const [u] = g.onChunk(0, data, true, 0).utterances;
    data[0] = 9;
    expect(Array.from(u!.audio)).toEqual([1, 2, 3, 4]);
  });

  it('rejects invalid config', () => {
    expect(() => seg({ frameBytes: 0 })).toThrow(RangeError);
    expect(() => seg({ pauseMs: 0 })).toThrow(RangeError);
    expect(() => seg({ maxUtteranceBytes: 1 })).toThrow(RangeError); // < frameBytes 2
    expect(() => seg({ bytesPerMs: 0 })).toThrow(RangeError);
    expect(() => seg({ maxReorder: -1 })).toThrow(RangeError);
    expect(() => seg({}, { nextSeq: -1 })).toThrow(RangeError);
    expect(() => seg().onChunk(1.5, new Uint8Array(2), false, 0)).toThrow(RangeError);
  });

  it('defaults: pause 3000 ms, max duration 20 s (pcm16 16 kHz = 640000 bytes)', () => {
    const g = new UtteranceSegmenter({ maxUtteranceBytes: 10_000_000, bytesPerMs: 32, frameBytes: 2 });
    g.onChunk(0, new Uint8Array(640_000), false, 0);
    expect(g.nextDeadline()).toBe(3000);
    const out = g.onChunk(1, new Uint8Array(2), false, 1);
    expect(out.utterances.map((u) => [u.reason, u.durationMs])).toEqual([['max_duration', 20_000]]);
  });
});

describe('UtteranceSegmenter: reordering is invisible (property)', () => {
  interface Chunk {
    seq: number;
    data: Uint8Array;
    isFinal: boolean;
  }

  function makeChunks(rand: () => number, n: number): Chunk[] {
    const s = new Stream();
    const chunks: Chunk[] = [];
    for (let seq = 0; seq < n; seq++) {
      const r = rand();
      // Even sizes (pcm16), some empty, a few giant ones that must be split.
      const size = r < 0.05 ? 0 : r < 0.1 ? 2 * Math.floor(150 + rand() * 200) : 2 * Math.floor(rand() * 40);
      chunks.push({ seq, data: s.take(size), isFinal: rand() < 0.1 });
    }
    return chunks;
  }

  const cfg: Partial<FinalizeConfigInput> = {
    pauseMs: 1e9,
    maxDurationMs: 250,
    maxUtteranceBytes: 301,
    bytesPerMs: 1,
    frameBytes: 2,
    maxReorder: 8,
  };

  function run(
    g: UtteranceSegmenter,
    deliveries: Chunk[],
  ): { outcomes: ChunkOutcome[]; utterances: Finalized[] } {
    const outcomes = deliveries.map((c, t) => g.onChunk(c.seq, c.data, c.isFinal, t));
    const utterances = outcomes.flatMap((o) => o.utterances);
    utterances.push(...g.onClose(deliveries.length));
    return { outcomes, utterances };
  }

  it('shuffled (within the window) and duplicated delivery gives the in-order utterances', () => {
    for (let trial = 0; trial < 60; trial++) {
      const rand = mulberry32(1000 + trial);
      const chunks = makeChunks(rand, 150);
      const reference = run(seg(cfg), chunks).utterances;

      // Displacement < maxReorder + 1, so at most maxReorder chunks are ever held.
      const window = cfg.maxReorder! + 1;
      const keyed = chunks.map((c) => ({ c, key: c.seq + rand() * window }));
      // Resends: some chunks arrive a second time, later.
      for (const c of chunks) if (rand() < 0.15) keyed.push({ c, key: c.seq + rand() * 3 * window });
      keyed.sort((a, b) => a.key - b.key);
      const shuffled = run(
        seg(cfg),
        keyed.map((k) => k.c),
      );

      const statuses = new Set(shuffled.outcomes.map((o) => o.status));
      expect(statuses.has('gap_overflow')).toBe(false);
      expect(statuses.has('buffered') && statuses.has('duplicate')).toBe(true); // the test does reorder
      expect(shuffled.utterances.map(shape)).toEqual(reference.map(shape));

      // Invariants of the reference run itself (plain checks: expect() per item is slow).
      const all = Buffer.from(concat(chunks.map((c) => c.data)));
      expect(all.equals(concat(reference.map((u) => u.audio)))).toBe(true);
      const broken = reference.filter(
        (u, i) =>
          u.index !== i ||
          u.audio.length === 0 ||
          u.audio.length > 250 ||
          u.audio.length % 2 !== 0 ||
          (i > 0 && u.lastChunkSeq < reference[i - 1]!.lastChunkSeq),
      );
      expect(broken).toEqual([]);
    }
  });
});

describe('UtteranceSegmenter: bounds against hostile input (docs/security.md)', () => {
  it('a max_duration cut is never shorter than 1 s of audio, whatever maxDurationMs says', () => {
    // pcm16 at 8 kHz = 16 bytes/ms; maxDurationMs 100 would cut every 1600 bytes.
    const g = new UtteranceSegmenter({
      maxDurationMs: 100,
      maxUtteranceBytes: 10_000_000,
      bytesPerMs: 16,
      frameBytes: 2,
    });
    const out = g.onChunk(0, new Uint8Array(40_000), false, 0);
    expect(out.utterances.map((u) => [u.audio.length, u.reason])).toEqual([
      [16_000, 'max_duration'],
      [16_000, 'max_duration'],
    ]);
    expect(g.bufferedBytes).toBe(8000);
  });

  it('finding 4: the rate a client declares cannot turn one 40 KB chunk into 1,000 jobs', () => {
    // sample_rate 1 is refused by the schema now (8000..192000); the floor holds even for the
    // smallest byte rate the schema allows (1000 bytes/s => 1 s = 1000 bytes).
    const g = new UtteranceSegmenter({ maxUtteranceBytes: 2_000_000, bytesPerMs: 1, frameBytes: 1 });
    const out = g.onChunk(0, new Uint8Array(40_000), true, 0);
    expect(out.utterances.length).toBe(2); // 20 s cuts of 20000 bytes, not 1,000
  });

  it('finding 5: the reorder buffer is bounded in bytes as well as in chunks', () => {
    const g = seg({ maxReorder: 32, maxReorderBytes: 1000 });
    expect(g.onChunk(1, new Uint8Array(600), false, 0).status).toBe('buffered');
    expect(g.onChunk(2, new Uint8Array(400), false, 0).status).toBe('buffered');
    expect(g.heldChunkBytes).toBe(1000);
    expect(g.onChunk(3, new Uint8Array(2), false, 0)).toMatchObject({
      status: 'gap_overflow',
      expectedSeq: 0,
    });
    expect(g.heldChunks).toBe(2);
    // Filling the gap releases the held bytes.
    expect(g.onChunk(0, new Uint8Array(2), false, 0).status).toBe('accepted');
    expect(g.heldChunkBytes).toBe(0);
    expect(g.onChunk(3, new Uint8Array(2), false, 0).status).toBe('accepted');
  });

  it('a single chunk larger than the byte bound is never held', () => {
    const g = seg({ maxReorderBytes: 100 });
    expect(g.onChunk(1, new Uint8Array(101), false, 0).status).toBe('gap_overflow');
    expect(g.heldChunkBytes).toBe(0);
  });

  it('rollback() undoes a frame completely: the same frame later gives the same utterances', () => {
    const g = seg();
    g.onChunk(0, new Uint8Array([1, 2]), false, 0);
    g.onChunk(2, new Uint8Array([5, 6]), true, 0);
    const before = [
      g.expectedSeq,
      g.nextIndex,
      g.heldChunks,
      g.heldChunkBytes,
      g.bufferedBytes,
      g.lastAcceptedSeq,
    ];
    const mark = g.checkpoint();
    const out = g.onChunk(1, new Uint8Array([3, 4]), false, 0);
    expect(out.utterances.map((u) => [...u.audio])).toEqual([[1, 2, 3, 4, 5, 6]]);
    g.rollback(mark);
    expect([
      g.expectedSeq,
      g.nextIndex,
      g.heldChunks,
      g.heldChunkBytes,
      g.bufferedBytes,
      g.lastAcceptedSeq,
    ]).toEqual(before);
    const again = g.onChunk(1, new Uint8Array([3, 4]), false, 0);
    expect(again.utterances.map((u) => [u.index, u.lastChunkSeq, [...u.audio]])).toEqual([
      [0, 2, [1, 2, 3, 4, 5, 6]],
    ]);
  });

  it('checkpoint/rollback (property): any refused frame leaves no trace', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = mulberry32(seed);
      const ops = Array.from({ length: 60 }, (_, i) => ({
        seq: Math.max(0, i + Math.floor(rnd() * 5) - 2),
        len: Math.floor(rnd() * 300),
        fin: rnd() < 0.2,
        refuse: rnd() < 0.4,
        now: i * 100 + (rnd() < 0.1 ? 5000 : 0),
      }));
      // a: applies only the frames that are not refused; b: applies every frame, rolling back the refused ones.
      const a = seg({ maxReorder: 8 });
      const b = seg({ maxReorder: 8 });
      const stream = new Stream();
      const outA: string[] = [];
      const outB: string[] = [];
      for (const op of ops) {
        const data = stream.take(op.len);
        const mark = b.checkpoint();
        const rb = b.onChunk(op.seq, data, op.fin, op.now);
        if (op.refuse) {
          b.rollback(mark);
          continue;
        }
        outB.push(...rb.utterances.map(shape));
        outA.push(...a.onChunk(op.seq, data, op.fin, op.now).utterances.map(shape));
      }
      outA.push(...a.onClose(1e9).map(shape));
      outB.push(...b.onClose(1e9).map(shape));
      expect(outB).toEqual(outA);
    }
  });

  it('rejects a negative byte bound or cut floor', () => {
    expect(() => seg({ maxReorderBytes: -1 })).toThrow(RangeError);
    expect(() => seg({ minCutMs: -1 })).toThrow(RangeError);
  });
});
