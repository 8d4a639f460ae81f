/** The room drill's pure accounting: each kind of failure it must catch, and its recovery figure. */
import { describe, expect, it } from 'vitest';
import {
  type RoomFrameSeen,
  type RoomMemberView,
  roomLatency,
  roomRecovery,
  roomSettled,
  tallyRoom,
} from '../../packages/cli/src/drill/room-analysis';
import { expectedRoomText, roomMembers } from '../../packages/cli/src/drill/room-load';

type View = RoomMemberView & { heard: RoomFrameSeen[]; disconnects: number[]; reconnects: number[] };

const specs = roomMembers(3); // zh→en hears en, en→zh hears zh, zh→ja hears ja

/** Three members, each got utterances 0..n-1 accepted, sent at 1000 + 100·k. */
function views(n: number): View[] {
  return specs.map((m, i) => ({
    name: m.name,
    sessionId: `s${i}`,
    src: m.src,
    listen: m.listen,
    accepted: new Set(Array.from({ length: n }, (_, k) => k)),
    sentAt: Array.from({ length: n }, (_, k) => 1000 + 100 * k),
    heard: [],
    disconnects: [],
    reconnects: [],
  }));
}

function frame(speaker: number, index: number, listenLang: string, at: number): RoomFrameSeen {
  const e = expectedRoomText(specs[speaker]!.src, speaker, index, listenLang);
  return {
    type: 'room_result',
    speaker: `s${speaker}`,
    index,
    at,
    src_lang: specs[speaker]!.src,
    tgt_lang: listenLang,
    ...e,
  };
}

/** Every listener hears every other member's utterances in order, 50 ms after each was sent. */
function perfect(n: number): View[] {
  const vs = views(n);
  for (const [l, v] of vs.entries()) {
    const heard: RoomFrameSeen[] = [];
    for (let k = 0; k < n; k++)
      for (let s = 0; s < vs.length; s++) if (s !== l) heard.push(frame(s, k, v.listen, 1050 + 100 * k));
    v.heard = heard;
  }
  return vs;
}

const tally = (vs: RoomMemberView[]) =>
  tallyRoom(vs, (s, idx, lang) => expectedRoomText(specs[s]!.src, s, idx, lang));

describe('room drill accounting', () => {
  it('a clean run: every pair complete, nothing flagged', () => {
    const vs = perfect(4);
    expect(roomSettled(vs)).toBe(true);
    expect(tally(vs)).toMatchObject({
      pairs: 6,
      expected: 24,
      results: 24,
      lost: 0,
      duplicated: 0,
      wrong: 0,
      out_of_order: 0,
      problems: [],
    });
    // zh→zh (the transcript) is what a zh listener of a zh speaker must get
    expect(expectedRoomText('zh', 0, 1, 'zh').text_translated).toBe(
      expectedRoomText('zh', 0, 1, 'en').text_asr,
    );
  });

  it('catches a lost, a duplicated, an out-of-order and a wrong frame, per pair', () => {
    const vs = perfect(4);
    const l1 = vs[1]!;
    // listener 1: speaker 0's index 2 never arrives; speaker 2's index 1 arrives twice
    l1.heard = l1.heard.filter((f) => !(f.speaker === 's0' && f.index === 2));
    l1.heard.push(frame(2, 1, l1.listen, 2000));
    expect(roomSettled(vs)).toBe(false);
    // listener 0: speaker 1's 3 before its 2; listener 2: speaker 0's index 0 in the wrong language
    const l0 = vs[0]!;
    const i2 = l0.heard.findIndex((f) => f.speaker === 's1' && f.index === 2);
    const i3 = l0.heard.findIndex((f) => f.speaker === 's1' && f.index === 3);
    [l0.heard[i2], l0.heard[i3]] = [l0.heard[i3]!, l0.heard[i2]!];
    const l2 = vs[2]!;
    const w = l2.heard.findIndex((f) => f.speaker === 's0' && f.index === 0);
    l2.heard[w] = frame(0, 0, 'en', 1050);
    const t = tally(vs);
    expect(t).toMatchObject({ lost: 1, duplicated: 1, out_of_order: 1, wrong: 1 });
    expect(t.problems.map((p) => `${p.speaker}→${p.listener}`).sort()).toEqual([
      'member-0→member-1',
      'member-0→member-2',
      'member-1→member-0',
      'member-2→member-1',
    ]);
  });

  it('a frame from the listener itself, or for an utterance never accepted, is wrong; a missing one is an outcome', () => {
    const vs = perfect(2);
    vs[0]!.heard.push(frame(0, 0, 'en', 3000)); // its own
    vs[1]!.heard.push(frame(0, 5, 'zh', 3000)); // never sent
    vs[2]!.heard = vs[2]!.heard.map((f) =>
      f.speaker === 's1' && f.index === 1
        ? { type: 'room_missing_result', speaker: 's1', index: 1, at: f.at, reason: 'timeout' }
        : f,
    );
    const t = tally(vs);
    expect(t.wrong).toBe(2);
    expect(t.missing).toEqual({ timeout: 1 });
    expect(t.results + 1).toBe(t.expected);
  });

  it('recovery: every pair must hear an utterance sent after the fault, after the listener resumed', () => {
    const vs = perfect(6); // sent 1000..1500, heard +50 ms
    const fault = 1220;
    // listener 0 dropped at 1230 and resumed at 1400: frames before 1400 do not count for it
    vs[0]!.disconnects = [1230];
    vs[0]!.reconnects = [1400];
    const r = roomRecovery(vs, fault);
    // index 3 (sent 1300, heard 1350) is the first after the fault; listener 0 needs index 4 (1450)
    expect(r.all_max_ms).toBe(1450 - fault);
    expect(r.affected_pairs).toBe(4); // listener 0 ×2 speakers, speaker 0 ×2 listeners
    expect(r.affected_max_ms).toBe(1450 - fault);
    expect(r.not_recovered_pairs).toBe(0);
    // a speaker nobody heard after the fault: not recovered
    for (const v of vs) v.heard = v.heard.filter((f) => !(f.speaker === 's2' && f.index >= 3));
    const r2 = roomRecovery(vs, fault);
    expect(r2.not_recovered_pairs).toBe(2);
    expect(r2.all_max_ms).toBeNull();
  });

  it('latency: send → frame, split at the fault, counted once per (listener, speaker, index)', () => {
    const vs = perfect(4);
    vs[0]!.heard.push(frame(1, 0, 'en', 5000)); // a late duplicate is not a latency sample
    const { before, after } = roomLatency(vs, 1260);
    expect(before).toMatchObject({ count: 18, p50: 50, max: 50 });
    expect(after).toMatchObject({ count: 6, max: 50 });
  });
});
