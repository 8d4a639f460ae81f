import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill node-kill', () => {
  it('SIGKILL of a node holding jobs: they fail over, nothing lost, duplicated or wrong', async () => {
    const s = await drill('node-kill');
    expect(s.fault.steps[0]!.detail).toMatchObject({ exit_signal: 'SIGKILL' });
    expect(Number(s.fault.steps[0]!.detail.held_jobs)).toBeGreaterThan(0);
    expect(s.failover.events.by_cause.node_lost).toBeGreaterThan(0);
    // Not asserted: "every failed attempt re-dispatched". An assignment racing the node's death
    // can end as missing_result `failed` at attempt 1 (reported as a warning; see the finding
    // in docs/operations.md, "Known findings").
  }, 300_000);
});
