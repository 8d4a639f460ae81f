import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill model-loss', () => {
  it('a node loses the model of the load’s pair: one outcome per utterance, out of the pool until it has it again', async () => {
    const s = await drill('model-loss');
    expect(s.fault.steps[0]!.detail).toMatchObject({ confirmed: true, removed: true });
    expect(s.fault.steps[1]!.detail).toMatchObject({ confirmed: true, rejoined: true });
    expect(s.failover.events.detections).toBeGreaterThan(0);
    expect(s.failover.events.redispatched).toBe(s.failover.events.detections);
    // Reported: the failover p99 of MODEL_NOT_AVAILABLE answers (a target; pass/fail only with --strict).
    expect(s.failover.events.detection_to_redispatch_ms?.p99).toEqual(expect.any(Number));
    expect(s.targets.map((t) => t.name)).toContain('MODEL_NOT_AVAILABLE → re-dispatch p99');
  }, 300_000);
});
