import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill node-silent', () => {
  it('a node goes silent with its socket open: offline after the heartbeat timeout, jobs re-dispatched', async () => {
    const s = await drill('node-silent');
    expect(s.fault.steps[0]!.detail).toMatchObject({ confirmed: true, scope: 'all' });
    expect(s.failover.events.by_cause.node_lost).toBeGreaterThan(0);
    expect(s.failover.events.redispatched).toBe(s.failover.events.detections);
    // Detected by the heartbeat sweep, not by the (longer) job timeout.
    expect(s.failover.events.fault_to_detection_ms!.max).toBeLessThan(3000);
  }, 300_000);
});
