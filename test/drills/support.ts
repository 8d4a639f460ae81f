/** Shared settings of the CI drills: short, few sessions, so all five fit in ~2 minutes on 2 cores. */
import { expect } from 'vitest';
import type { DrillOptions, ScenarioName, ScenarioReport } from '../../packages/cli/src/drill';
import { renderScenario, runDrill } from '../../packages/cli/src/drill';

export const CI_DRILL: Partial<DrillOptions> = {
  sessions: 10,
  rate: 5,
  durationMs: 8000,
  atMs: 3000,
  nodes: 3,
  settleTimeoutMs: 60_000,
  // Hang bounds, not targets: on a loaded 2-core machine a process start can take tens of seconds.
  readyTimeoutMs: 180_000,
  quiet: true,
  // Findings are printed; keep the logs only when a drill fails.
  keepLogs: 'on-failure',
};

/** Runs one scenario, prints its summary, and asserts the invariants every drill must hold. */
export async function drill(name: ScenarioName, extra: Partial<DrillOptions> = {}): Promise<ScenarioReport> {
  const report = await runDrill(name, { ...CI_DRILL, ...extra });
  const s = report.scenarios[0]!;
  console.log(renderScenario(s));
  expect(s.load.lost, 'lost').toBe(0);
  expect(s.load.duplicated, 'duplicated').toBe(0);
  expect(s.load.wrong, 'wrong').toBe(0);
  expect(s.load.unaccepted, 'never accepted').toBe(0);
  expect(s.load.settled, 'settled').toBe(true);
  expect(s.load.accepted).toBeGreaterThan(0);
  expect(s.load.delivered + s.load.missing_total).toBe(s.load.accepted);
  // Fault evidence must hold; findings (warning checks) are printed above, see docs/operations.md.
  expect(s.checks.filter((c) => !c.ok && !c.warning)).toEqual([]);
  expect(s.failures).toEqual([]);
  expect(report.ok).toBe(true);
  return s;
}
