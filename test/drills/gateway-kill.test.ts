import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill gateway-kill', () => {
  it('SIGKILL of a gateway: its sessions resume elsewhere, nothing lost, duplicated or wrong', async () => {
    const s = await drill('gateway-kill');
    expect(s.fault.steps[0]).toMatchObject({ target: 'gw-1', detail: { exit_signal: 'SIGKILL' } });
    expect(s.recovery.serving_again.affected_sessions).toBeGreaterThan(0);
    expect(s.load.reconnects).toBeGreaterThan(0);
    expect(s.recovery.serving_again.not_recovered).toBe(0);
  }, 300_000);
});
