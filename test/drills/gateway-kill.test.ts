import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill gateway-kill', () => {
  it('SIGKILL of a gateway (protocol-only nodes that drop in-flight answers): nothing lost, duplicated or wrong', async () => {
    const s = await drill('gateway-kill');
    // Its nodes came back elsewhere without their answers: reconciled at once, never the job timeout.
    expect(s.failover.events.by_cause.timed_out ?? 0).toBe(0);
    expect(s.fault.steps[0]).toMatchObject({ target: 'gw-1', detail: { exit_signal: 'SIGKILL' } });
    expect(s.recovery.serving_again.affected_sessions).toBeGreaterThan(0);
    expect(s.load.reconnects).toBeGreaterThan(0);
    expect(s.recovery.serving_again.not_recovered).toBe(0);
  }, 300_000);
});
