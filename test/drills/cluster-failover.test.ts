import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill cluster-failover', () => {
  it('a Redis Cluster master SIGKILLed under load: its replica takes over; every accepted utterance gets one outcome', async () => {
    const s = await drill('cluster-failover');
    const step = s.fault.steps[0]!;
    expect(Number(step.detail.promoted)).toBeGreaterThan(0);
    expect(step.detail.promoted).not.toBe(step.detail.master);
    // The outage the clients saw is measured (reported in the summary above).
    expect(s.recovery.serving_again.not_recovered).toBe(0);
  }, 300_000);
});
