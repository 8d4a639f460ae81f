import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill rolling-restart', () => {
  it('every gateway drained (SIGTERM) and restarted in turn: nothing lost, duplicated or wrong', async () => {
    const s = await drill('rolling-restart');
    expect(s.fault.steps.map((x) => x.target)).toEqual(['gw-1', 'gw-2', 'gw-3']);
    for (const step of s.fault.steps) expect(step.detail.exit_code).toBe(0);
    expect(s.load.reconnects).toBeGreaterThan(0);
    expect(s.recovery.per_step!.every((p) => p.not_recovered === 0)).toBe(true);
  }, 300_000);
});
