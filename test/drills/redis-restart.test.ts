import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill redis-restart', () => {
  it('redis-server SIGKILLed and restarted on its AOF: gateways recover, nothing lost, duplicated or wrong', async () => {
    const s = await drill('redis-restart', { redisDownMs: 1000 });
    expect(s.fault.steps.map((x) => x.action)).toEqual(['SIGKILL', 'restart']);
    expect(s.fault.steps[1]!.detail.gateways_ready).toBe(true);
    expect(s.recovery.serving_again_after_restart_ms).not.toBeNull();
  }, 300_000);
});
