/** The drill's pure parts: durations, histograms, recovery and failover analysis, the silence switch. */

import type { Transport } from '@lingua/node-sdk';
import { describe, expect, it } from 'vitest';
import { analyzeFailovers, type JobEvent } from '../../packages/cli/src/drill/failover';
import { DRILL_DEFAULTS, parseDuration, validateOptions } from '../../packages/cli/src/drill/options';
import { inFlightAtFault, type SessionTimeline, servingAgain } from '../../packages/cli/src/drill/recovery';
import { targetsFor, verdict } from '../../packages/cli/src/drill/report';
import {
  histogramDelta,
  histogramMaxBound,
  histogramQuantile,
  parseHistogram,
  summarize,
} from '../../packages/cli/src/drill/stats';
import { SilenceSwitch } from '../../packages/node-sdk/src/sim-node';

describe('options', () => {
  it('parses durations', () => {
    expect(parseDuration('15s')).toBe(15_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1.5')).toBe(1500);
    expect(() => parseDuration('soon')).toThrow(/duration/);
  });

  it('refuses combinations that cannot work', () => {
    expect(validateOptions('gateway-kill', DRILL_DEFAULTS)).toEqual([]);
    expect(validateOptions('redis-restart', { ...DRILL_DEFAULTS, redis: 'redis://x:1' })).toHaveLength(1);
    expect(validateOptions('gateway-kill', { ...DRILL_DEFAULTS, gateways: 1 })).toHaveLength(1);
    expect(validateOptions('node-kill', { ...DRILL_DEFAULTS, atMs: 20_000 })).toHaveLength(1);
  });
});

describe('stats', () => {
  const text = [
    '# HELP lingua_failover_seconds Failure detection to re-dispatch',
    '# TYPE lingua_failover_seconds histogram',
    'lingua_failover_seconds_bucket{le="0.005",instance_id="gw-1"} 1',
    'lingua_failover_seconds_bucket{le="0.01",instance_id="gw-1"} 3',
    'lingua_failover_seconds_bucket{le="0.025",instance_id="gw-1"} 4',
    'lingua_failover_seconds_bucket{le="+Inf",instance_id="gw-1"} 4',
    'lingua_failover_seconds_sum{instance_id="gw-1"} 0.04',
    'lingua_failover_seconds_count{instance_id="gw-1"} 4',
    'lingua_failovers_total{cause="node_lost",instance_id="gw-1"} 9',
  ].join('\n');

  it('reads a prom-client histogram and interpolates quantiles like Prometheus', () => {
    const h = parseHistogram(text, 'lingua_failover_seconds')!;
    expect(h.count).toBe(4);
    expect(h.buckets[0]).toEqual([0.005, 1]);
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(0.0075);
    expect(histogramQuantile(h, 1)).toBeCloseTo(0.025);
    expect(histogramMaxBound(h)).toBe(0.025);
    expect(parseHistogram(text, 'lingua_nope_seconds')).toBeNull();
  });

  it('subtracts a baseline and treats a counter reset as fresh', () => {
    const h = parseHistogram(text, 'lingua_failover_seconds')!;
    const before = {
      buckets: h.buckets.map(([le, n]) => [le, Math.min(n, 1)] as [number, number]),
      count: 1,
      sum: 0,
    };
    expect(histogramDelta(h, before).count).toBe(3);
    expect(histogramDelta(before, h)).toBe(before);
  });

  it('summarizes with nearest-rank quantiles', () => {
    expect(summarize([])).toBeNull();
    expect(summarize([5, 1, 3])).toEqual({ count: 3, p50: 3, p99: 5, max: 5 });
  });
});

describe('recovery', () => {
  const tl = (
    acceptTimes: number[],
    disconnects: number[] = [],
    reconnects: number[] = [],
  ): SessionTimeline => ({
    acceptTimes,
    disconnects,
    reconnects,
    acceptedAt: new Map(acceptTimes.map((t, i) => [i, t])),
    outcomeAt: new Map(acceptTimes.map((t, i) => [i, t + 50])),
  });

  it('counts an affected session as serving only after its resume', () => {
    // session 0: an accepted still in flight from the dead connection at 1005 does not count
    const r = servingAgain([tl([900, 1005, 1400], [1010], [1300]), tl([950, 1100])], 1000);
    expect(r).toMatchObject({
      affected_sessions: 1,
      affected_max_ms: 400,
      all_max_ms: 400,
      not_recovered: 0,
    });
  });

  it('reports sessions that never served again', () => {
    const r = servingAgain([tl([900], [1010], [])], 1000);
    expect(r).toMatchObject({
      affected_sessions: 1,
      all_max_ms: null,
      affected_max_ms: null,
      not_recovered: 1,
    });
  });

  it('follows what was in flight at the fault', () => {
    const r = inFlightAtFault([tl([900, 980, 1100])], 1000);
    // index 0 finished at 950 (before), index 1 at 1030 (30 ms after), index 2 accepted after
    expect(r).toMatchObject({ count: 1, without_outcome: 0 });
    expect(r.outcome_after_fault_ms!.max).toBe(30);
  });
});

describe('failover analysis', () => {
  const ev = (
    job: string,
    from: string,
    to: string,
    attempt: number,
    node: string,
    ts: number,
    since = 0,
  ): JobEvent => ({
    job,
    from,
    to,
    attempt,
    node,
    ts,
    why: '',
    since,
  });

  it('pairs each detection with the next attempt and measures how long the job was stuck', () => {
    const events = [
      // A first dispatch records no event; the attempt's failure carries its dispatch time.
      ev('a', 'accepted', 'node_lost', 1, 'n1', 1010, 900), // held at the fault (1000)
      ev('a', 'retrying', 'dispatched', 2, 'n2', 1015),
      ev('b', 'dispatched', 'node_lost', 1, 'n1', 2000, 1200), // sent to the failed node after the fault
      ev('b', 'retrying', 'dispatched', 2, 'n2', 2010),
      ev('c', 'accepted', 'timed_out', 1, 'n3', 2500), // another node: filtered out
      ev('d', 'accepted', 'node_lost', 1, 'n1', 500), // before the fault: not this drill's
    ];
    const f = analyzeFailovers(events, 1000, 'n1');
    expect(f).toMatchObject({ detections: 2, redispatched: 2, by_cause: { node_lost: 2 } });
    expect(f.detection_to_redispatch_ms).toMatchObject({ p50: 5, max: 10 });
    expect(f.fault_to_detection_ms!.max).toBe(1000);
    expect(f.stuck_ms).toMatchObject({ p50: 15, max: 810 });
    expect(f.attempts[1]).toMatchObject({
      job: 'b',
      dispatched_ms: 200,
      detected_ms: 1000,
      redispatched_ms: 1010,
    });
    expect(analyzeFailovers(events, 1000).detections).toBe(3);
  });
});

describe('verdict', () => {
  const load = { lost: 0, duplicated: 0, wrong: 0, unaccepted: 0, settled: true } as never;

  it('fails on loss and failed checks; warnings and missed targets fail only when strict', () => {
    const targets = [{ name: 'x', limit_ms: 10, measured_ms: 20, ok: false }];
    const warn = [{ name: 'w', ok: false, detail: 'd', warning: true }];
    expect(verdict({ load, checks: warn, targets }, false)).toMatchObject({
      failures: [],
      warnings: [expect.any(String), expect.any(String)],
    });
    expect(verdict({ load, checks: warn, targets }, true).failures).toHaveLength(2);
    expect(
      verdict({ load: { ...(load as object), lost: 2 } as never, checks: [], targets: [] }, false).failures,
    ).toEqual(['2 utterances lost (accepted, no result, no missing_result)']);
    expect(
      verdict({ load, checks: [{ name: 'c', ok: false, detail: 'd' }], targets: [] }, false).failures,
    ).toHaveLength(1);
  });

  it('derives the silent-node target from the gateway settings', () => {
    const base = {
      scenario: 'node-silent' as const,
      recovery: {} as never,
      failover: { events: { stuck_ms: { count: 1, p50: 900, p99: 900, max: 900 } } } as never,
      gateway_env: { LINGUA_NODE_HEARTBEAT_TIMEOUT_MS: '1000', LINGUA_JOB_TIMEOUT_MS: '3000' },
    };
    expect(targetsFor(base, 'all')[0]).toMatchObject({ limit_ms: 2000, measured_ms: 900, ok: true });
    expect(targetsFor(base, 'jobs')[0]).toMatchObject({ limit_ms: 4000, ok: true });
  });
});

describe('SilenceSwitch', () => {
  function fakeTransport() {
    const sent: string[] = [];
    const t: Transport = {
      send: (x) => sent.push(x),
      close: () => {},
      onopen: null,
      onmessage: null,
      onclose: null,
    };
    return { t, sent };
  }

  it('scope all: swallows every outgoing frame and ignores incoming ones, socket untouched', () => {
    const { t, sent } = fakeTransport();
    const sw = new SilenceSwitch('all');
    const wrapped = sw.wrap(() => t)('ws://x');
    const got: string[] = [];
    wrapped.onmessage = (m) => got.push(m);
    wrapped.send('{"type":"node_heartbeat"}');
    t.onmessage!('a');
    sw.silence();
    wrapped.send('{"type":"node_heartbeat"}');
    wrapped.send('{"type":"job_result"}');
    t.onmessage!('b');
    expect(sent).toEqual(['{"type":"node_heartbeat"}']);
    expect(got).toEqual(['a']);
    expect(sw.silentSince).not.toBeNull();
  });

  it('scope jobs: heartbeats continue, results and progress never leave', () => {
    const { t, sent } = fakeTransport();
    const sw = new SilenceSwitch('jobs');
    const wrapped = sw.wrap(() => t)('ws://x');
    sw.silence();
    for (const type of ['node_heartbeat', 'job_accepted', 'job_result', 'job_progress']) {
      wrapped.send(JSON.stringify({ type }));
    }
    expect(sent.map((s) => JSON.parse(s).type)).toEqual(['node_heartbeat', 'job_accepted']);
  });
});
