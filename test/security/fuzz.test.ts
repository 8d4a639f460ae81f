/**
 * The fuzzer's slice in `npm test` (issue 9, part E): 5,000 inputs generated from a fixed seed
 * (HTTP and upgrade surface, session and node frames from the JSON Schemas, mutated) against a
 * 2-gateway cluster of real processes, with an honest session alongside. `npm run fuzz` runs
 * the full 100,000 (docs/security.md, "Fuzzing").
 */
import { describe, expect, it } from 'vitest';
import { runFuzz, summary } from './fuzz/run';

describe('fuzzer (5,000-input slice)', () => {
  it('no input stops, wedges or crashes a gateway; every reply follows the protocol; nothing is left without TTL; the honest session is served correctly', async () => {
    const report = await runFuzz({ inputs: 5000, seed: 20_251_109, lanes: 16 });
    const text = summary(report);
    expect(report.inputs.total, text).toBeGreaterThanOrEqual(5000);
    expect(report.gateway_restarts, text).toBe(0);
    expect(report.gateways_healthy_after, text).toBe(true);
    expect(report.wedged_connections, text).toBe(0);
    expect(report.protocol_violations, text).toEqual([]);
    expect(report.keys.violations, text).toEqual([]);
    expect(report.honest.sent, text).toBeGreaterThan(10);
    expect(report.honest.correct, text).toBe(report.honest.sent);
    // the inputs reached every surface and got answers, not silence
    for (const s of ['http', 'upgrade', 'session', 'node'])
      expect(report.inputs.by_surface[s], s).toBeGreaterThan(0);
    expect(report.replies['error:BAD_MESSAGE'], text).toBeGreaterThan(100);
    expect(report.initialized.session + report.initialized.node, text).toBeGreaterThan(20);
    expect(report.ok, text).toBe(true);
  }, 240_000);
});
