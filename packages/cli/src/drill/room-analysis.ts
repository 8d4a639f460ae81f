/**
 * The room drill's accounting (pure: no I/O, times are epoch ms). Per (listener, speaker):
 * every utterance the speaker got accepted must reach the listener exactly once, as a
 * `room_result` (text checked against the simulated node's output for the listener's
 * language) or a `room_missing_result`, in index order. Works on the raw frames each
 * listener's socket received, before the SDK's own de-duplication, so a duplicate or a frame
 * out of order on the wire is seen as such.
 */
import { type Summary, summarize } from './stats';

/** One room frame as a listener's socket received it. */
export interface RoomFrameSeen {
  type: 'room_result' | 'room_missing_result';
  speaker: string;
  index: number;
  at: number;
  src_lang?: string;
  tgt_lang?: string;
  text_asr?: string;
  text_translated?: string;
  reason?: string;
}

export interface RoomMemberView {
  name: string;
  sessionId: string;
  src: string;
  listen: string;
  /** as a speaker: every index accepted (utterance_accepted or a resume ack) */
  accepted: ReadonlySet<number>;
  /** as a speaker: utterance index → epoch ms it was handed to the SDK */
  sentAt: readonly number[];
  /** as a listener: every room frame received, in arrival order */
  heard: readonly RoomFrameSeen[];
  disconnects: readonly number[];
  reconnects: readonly number[];
}

/** What the listener must get for utterance `index` of `speaker` (the simulated node's output). */
export type ExpectedText = (
  speaker: number,
  index: number,
  listenLang: string,
) => { text_asr: string; text_translated: string };

export interface PairProblem {
  listener: string;
  speaker: string;
  lost: number;
  duplicated: number;
  wrong: number;
  out_of_order: number;
}

export interface RoomTally {
  /** (listener, speaker) pairs: members × (members − 1) */
  pairs: number;
  /** Σ over pairs of the speaker's accepted utterances: what the listeners must get */
  expected: number;
  results: number;
  missing: Record<string, number>;
  lost: number;
  duplicated: number;
  wrong: number;
  out_of_order: number;
  /** pairs with any problem (at most 10 listed) */
  problems: PairProblem[];
}

export interface RoomRecovery {
  /**
   * fault → the moment every listener heard every speaker again (max over pairs), counting
   * for each pair the first room frame of an utterance the speaker sent after the fault that
   * reached the listener after its own resume (if its connection dropped); null when a pair
   * never did
   */
  all_max_ms: number | null;
  /** the same over the pairs with a member whose connection dropped */
  affected_max_ms: number | null;
  affected_p50_ms: number | null;
  affected_pairs: number;
  not_recovered_pairs: number;
}

/** Indexes a listener must hear from a speaker: every one the speaker got accepted (all joined before the load). */
function expectedOf(speaker: RoomMemberView): ReadonlySet<number> {
  return speaker.accepted;
}

/** True once every listener has a frame for every utterance every other member got accepted. */
export function roomSettled(members: readonly RoomMemberView[]): boolean {
  const seen = members.map(heardIndexes);
  for (let l = 0; l < members.length; l++) {
    for (const [s, speaker] of members.entries()) {
      if (l === s) continue;
      const got = seen[l]!.get(speaker.sessionId);
      for (const idx of expectedOf(speaker)) if (!got?.has(idx)) return false;
    }
  }
  return true;
}

function heardIndexes(m: RoomMemberView): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const f of m.heard) {
    const s = out.get(f.speaker) ?? new Set<number>();
    out.set(f.speaker, s);
    s.add(f.index);
  }
  return out;
}

export function tallyRoom(members: readonly RoomMemberView[], expect: ExpectedText): RoomTally {
  const out: RoomTally = {
    pairs: 0,
    expected: 0,
    results: 0,
    missing: {},
    lost: 0,
    duplicated: 0,
    wrong: 0,
    out_of_order: 0,
    problems: [],
  };
  const bySid = new Map(members.map((m, i) => [m.sessionId, i]));
  for (const [l, listener] of members.entries()) {
    const perSpeaker = new Map<string, RoomFrameSeen[]>();
    for (const f of listener.heard) {
      const s = bySid.get(f.speaker);
      // From itself or from no member: a frame that must not exist.
      if (s === undefined || s === l) {
        out.wrong++;
        continue;
      }
      const xs = perSpeaker.get(f.speaker) ?? [];
      perSpeaker.set(f.speaker, xs);
      xs.push(f);
    }
    for (const [s, speaker] of members.entries()) {
      if (s === l) continue;
      out.pairs++;
      const p: PairProblem = {
        listener: listener.name,
        speaker: speaker.name,
        lost: 0,
        duplicated: 0,
        wrong: 0,
        out_of_order: 0,
      };
      const want = expectedOf(speaker);
      out.expected += want.size;
      const got = new Set<number>();
      let highest = -1;
      for (const f of perSpeaker.get(speaker.sessionId) ?? []) {
        if (got.has(f.index)) {
          p.duplicated++;
          continue;
        }
        got.add(f.index);
        if (f.index < highest) p.out_of_order++;
        highest = Math.max(highest, f.index);
        if (!want.has(f.index)) {
          p.wrong++; // an utterance the speaker never got accepted
          continue;
        }
        if (f.type === 'room_missing_result') {
          const r = f.reason ?? 'unknown';
          out.missing[r] = (out.missing[r] ?? 0) + 1;
          continue;
        }
        out.results++;
        const e = expect(s, f.index, listener.listen);
        if (
          f.src_lang !== speaker.src ||
          f.tgt_lang !== listener.listen ||
          f.text_asr !== e.text_asr ||
          f.text_translated !== e.text_translated
        )
          p.wrong++;
      }
      for (const idx of want) if (!got.has(idx)) p.lost++;
      out.lost += p.lost;
      out.duplicated += p.duplicated;
      out.wrong += p.wrong;
      out.out_of_order += p.out_of_order;
      if ((p.lost || p.duplicated || p.wrong || p.out_of_order) && out.problems.length < 10)
        out.problems.push(p);
    }
  }
  return out;
}

const dropAfter = (m: RoomMemberView, faultAt: number) => m.disconnects.find((t) => t >= faultAt);

/** See RoomRecovery. */
export function roomRecovery(members: readonly RoomMemberView[], faultAt: number): RoomRecovery {
  const all: number[] = [];
  const affected: number[] = [];
  let affectedPairs = 0;
  let notRecovered = 0;
  const bySid = new Map(members.map((m, i) => [m.sessionId, i]));
  for (const [l, listener] of members.entries()) {
    const drop = dropAfter(listener, faultAt);
    const from =
      drop === undefined ? faultAt : (listener.reconnects.find((t) => t >= drop) ?? Number.POSITIVE_INFINITY);
    const first = new Map<number, number>();
    for (const f of listener.heard) {
      const s = bySid.get(f.speaker);
      if (s === undefined || first.has(s) || f.at < from) continue;
      const sent = members[s]!.sentAt[f.index];
      if (sent !== undefined && sent >= faultAt) first.set(s, f.at);
    }
    for (const [s, speaker] of members.entries()) {
      if (s === l) continue;
      const hit = drop !== undefined || dropAfter(speaker, faultAt) !== undefined;
      if (hit) affectedPairs++;
      const at = first.get(s);
      if (at === undefined) {
        notRecovered++;
        continue;
      }
      all.push(at - faultAt);
      if (hit) affected.push(at - faultAt);
    }
  }
  const a = summarize(affected);
  return {
    all_max_ms: notRecovered > 0 || all.length === 0 ? null : Math.max(...all),
    affected_max_ms: affectedPairs === 0 || affected.length < affectedPairs ? null : (a?.max ?? null),
    affected_p50_ms: a?.p50 ?? null,
    affected_pairs: affectedPairs,
    not_recovered_pairs: notRecovered,
  };
}

/**
 * Room result latency, speaker's send → listener's frame (first receipt of each index), split
 * at the fault; after it, an utterance sent before the fault counts from the fault.
 */
export function roomLatency(
  members: readonly RoomMemberView[],
  faultAt: number,
): { before: Summary | null; after: Summary | null } {
  const before: number[] = [];
  const after: number[] = [];
  const bySid = new Map(members.map((m, i) => [m.sessionId, i]));
  for (const listener of members) {
    const seen = new Set<string>();
    for (const f of listener.heard) {
      const s = bySid.get(f.speaker);
      const key = `${f.speaker}|${f.index}`;
      if (s === undefined || seen.has(key)) continue;
      seen.add(key);
      const sent = members[s]!.sentAt[f.index];
      if (sent === undefined) continue;
      if (f.at < faultAt) before.push(f.at - sent);
      else after.push(f.at - Math.max(sent, faultAt));
    }
  }
  return { before: summarize(before), after: summarize(after) };
}
