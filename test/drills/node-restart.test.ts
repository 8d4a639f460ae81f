import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill node-restart', () => {
  it('a protocol-only node SIGKILLed and started again with its id within 500 ms: its jobs fail over at once', async () => {
    // Jobs that take 150-300 ms at the node: the ones it holds at the kill are still unanswered
    // (with the default 20-80 ms, answers already on the wire when the SIGKILL lands could
    // complete every held job, leaving nothing to fail over).
    const s = await drill('node-restart', { nodeLatency: '150-300' });
    const [kill, restart] = s.fault.steps;
    expect(kill).toMatchObject({ action: 'SIGKILL', detail: { exit_signal: 'SIGKILL' } });
    expect(Number(restart!.detail.after_kill_ms)).toBeLessThanOrEqual(500);
    expect(s.failover.events.detections).toBeGreaterThan(0);
    // Never the job timeout: reconciliation or the socket close failed them over.
    expect(s.failover.events.by_cause.timed_out ?? 0).toBe(0);
    expect(s.recovery.result_latency_after_fault_ms).not.toBeNull();
  }, 180_000);
});
