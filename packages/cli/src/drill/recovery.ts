/**
 * Client-side recovery figures of a drill, computed from the sessions' time-stamped events
 * (pure: no I/O, times are epoch ms).
 */
import { type Summary, summarize } from './stats';

export interface SessionTimeline {
  /** every utterance_accepted, in arrival order */
  acceptTimes: number[];
  /** dropped connections */
  disconnects: number[];
  /** successful resumes */
  reconnects: number[];
  acceptedAt: Map<number, number>;
  outcomeAt: Map<number, number>;
  /** indexes whose outcome was a missing_result */
  missingIdx?: ReadonlySet<number>;
}

export interface ServingAgain {
  /** sessions whose connection dropped within the fault window */
  affected_sessions: number;
  /** max over every session of (first accepted after the fault − fault); null if one never was */
  all_max_ms: number | null;
  /** the same over the affected sessions only (null when none was affected) */
  affected_max_ms: number | null;
  affected_p50_ms: number | null;
  /** sessions that had no accepted utterance after the fault at all */
  not_recovered: number;
}

const firstAtOrAfter = (xs: number[], t: number): number | undefined => xs.find((x) => x >= t);

/**
 * Time until every session was serving again after a fault at `faultAt`: per session, the
 * first utterance_accepted after the fault; for a session whose connection dropped in
 * [faultAt, windowEnd), the first accepted after its resume (an accepted still in flight
 * from the dead connection does not count). Max over sessions.
 */
export function servingAgain(
  timelines: SessionTimeline[],
  faultAt: number,
  windowEnd = Number.POSITIVE_INFINITY,
): ServingAgain {
  const all: number[] = [];
  const affected: number[] = [];
  let affectedCount = 0;
  let notRecovered = 0;
  for (const s of timelines) {
    const drop = s.disconnects.find((t) => t >= faultAt && t < windowEnd);
    let from = faultAt;
    if (drop !== undefined) {
      affectedCount++;
      const resumed = firstAtOrAfter(s.reconnects, drop);
      from = resumed ?? Number.POSITIVE_INFINITY;
    }
    const served = from === Number.POSITIVE_INFINITY ? undefined : firstAtOrAfter(s.acceptTimes, from);
    if (served === undefined) {
      notRecovered++;
      continue;
    }
    all.push(served - faultAt);
    if (drop !== undefined) affected.push(served - faultAt);
  }
  const a = summarize(affected);
  return {
    affected_sessions: affectedCount,
    all_max_ms: notRecovered > 0 || all.length === 0 ? null : Math.max(...all),
    affected_max_ms: affectedCount === 0 ? null : affected.length < affectedCount ? null : (a?.max ?? null),
    affected_p50_ms: a?.p50 ?? null,
    not_recovered: notRecovered,
  };
}

/**
 * Result latency after the fault, as users saw it: for every utterance whose outcome came
 * after the fault, the time from its acceptance (or from the fault, for one already in flight)
 * to that outcome. One stuck index shows here as the wait of every later result of its
 * session (results are delivered in order).
 */
export function resultLatencyAfterFault(timelines: SessionTimeline[], faultAt: number): Summary | null {
  const lat: number[] = [];
  for (const s of timelines) {
    for (const [idx, out] of s.outcomeAt) {
      if (out < faultAt) continue;
      const acc = s.acceptedAt.get(idx);
      lat.push(out - Math.max(acc ?? faultAt, faultAt));
    }
  }
  return summarize(lat);
}

/** The same before the fault (acceptance → outcome): the baseline on this machine, this load. */
export function resultLatencyBeforeFault(timelines: SessionTimeline[], faultAt: number): Summary | null {
  const lat: number[] = [];
  for (const s of timelines) {
    for (const [idx, out] of s.outcomeAt) {
      const acc = s.acceptedAt.get(idx);
      if (out < faultAt && acc !== undefined) lat.push(out - acc);
    }
  }
  return summarize(lat);
}

export interface InFlightAtFault {
  /** utterances accepted before the fault whose outcome had not arrived yet */
  count: number;
  /** of those, how long after the fault their outcome arrived */
  outcome_after_fault_ms: Summary | null;
  /** of those, how many never got an outcome */
  without_outcome: number;
}

/** What happened to the utterances that were in flight when the fault hit. */
export function inFlightAtFault(timelines: SessionTimeline[], faultAt: number): InFlightAtFault {
  const lat: number[] = [];
  let count = 0;
  let none = 0;
  for (const s of timelines) {
    for (const [idx, at] of s.acceptedAt) {
      if (at >= faultAt) continue;
      const out = s.outcomeAt.get(idx);
      if (out !== undefined && out < faultAt) continue;
      count++;
      if (out === undefined) none++;
      else lat.push(out - faultAt);
    }
  }
  return { count, outcome_after_fault_ms: summarize(lat), without_outcome: none };
}

/**
 * How long after the fault each `missing_result` that arrived after it came: for a Redis
 * failover these are the utterances Redis lost, so this is how long a user waited to be told
 * (the loss audit / resume path), as opposed to the gap timeout (overall job timeout + 2 s).
 */
export function missingAfterFault(timelines: SessionTimeline[], faultAt: number): Summary | null {
  const lat: number[] = [];
  for (const s of timelines) {
    for (const idx of s.missingIdx ?? []) {
      const out = s.outcomeAt.get(idx);
      if (out !== undefined && out >= faultAt) lat.push(out - faultAt);
    }
  }
  return summarize(lat);
}
