import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill reshard', () => {
  it('the slots of every active cell and shard move to other masters under load: one outcome per utterance', async () => {
    const s = await drill('reshard');
    // 3 cells + 6 shards on the Cluster, each slot moved with its keys.
    expect(s.fault.steps.length).toBeGreaterThanOrEqual(6);
    for (const step of s.fault.steps) expect(step.detail.to).not.toBe(step.detail.from);
    expect(s.fault.steps.reduce((n, st) => n + Number(st.detail.keys), 0)).toBeGreaterThan(0);
    // The outage the clients saw is measured (reported in the summary above).
    expect(s.recovery.serving_again.not_recovered).toBe(0);
  }, 240_000);
});
