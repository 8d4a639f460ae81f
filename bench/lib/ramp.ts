/**
 * A ramp of offered loads, stopped at saturation: a step saturates when fewer than 90% of
 * the offered messages complete or p99 exceeds 1 s. "Sustained" = the best non-saturated step.
 */
import type { Summary } from './stats';

export interface Step {
  offered: number;
  /** planned messages: offered × step seconds */
  planned: number;
  sent: number;
  done: number;
  /** send start → last completion (or drain bound) */
  seconds: number;
  perSec: number;
  lat: Summary;
  /** optional second latency (e.g. the stream-only part of a hop) */
  lat2?: Summary;
  /** CPU % per process group and Redis figures for the step */
  usage?: Record<string, number>;
}

export const MAX_P99_MS = 1000;
export const MIN_DONE_RATIO = 0.9;

export function saturated(s: Step): boolean {
  return s.done < MIN_DONE_RATIO * s.planned || !(s.lat.p99 <= MAX_P99_MS);
}

/** CPU % (one core = 100) that other processes on the machine took during a step. */
export const othersCpu = (s: Step | undefined) => s?.usage?.cpu_others ?? 0;

/** A step measured while other processes took more than this much CPU is re-measured once. */
export const BUSY_OTHERS_PCT = 50;

export async function ramp(
  rates: number[],
  step: (rate: number) => Promise<Step>,
  onStep: (s: Step) => void,
  retryBusy = process.env.BENCH_RETRY_BUSY !== '0',
): Promise<Step[]> {
  const out: Step[] = [];
  for (const rate of rates) {
    let s = await step(rate);
    if (retryBusy && othersCpu(s) > BUSY_OTHERS_PCT) {
      // Someone else's job shared the cores: measure again, keep the quieter run.
      console.log(`  ${rate}/s measured while other processes used ${othersCpu(s)}% CPU; re-measuring once`);
      const again = await step(rate);
      if (othersCpu(again) < othersCpu(s)) s = again;
    }
    out.push(s);
    onStep(s);
    if (saturated(s)) break;
  }
  return out;
}

/** The non-saturated step with the highest completion rate. */
export function sustained(steps: Step[]): Step | undefined {
  let best: Step | undefined;
  for (const s of steps) if (!saturated(s) && (!best || s.perSec > best.perSec)) best = s;
  return best;
}

/** The step at `offered` load, if the ramp reached it. */
export function at(steps: Step[], offered: number): Step | undefined {
  return steps.find((s) => s.offered === offered);
}

/** Highest offered load that both ramps sustained (for latency comparisons at equal load). */
export function commonLoad(a: Step[], b: Step[]): number | undefined {
  const ok = (xs: Step[]) => new Set(xs.filter((s) => !saturated(s)).map((s) => s.offered));
  const sa = ok(a);
  const both = [...ok(b)].filter((r) => sa.has(r));
  return both.length ? Math.max(...both) : undefined;
}

export function parseRates(env: string | undefined, def: number[]): number[] {
  if (!env) return def;
  return env
    .split(',')
    .map(Number)
    .filter((n) => Number.isFinite(n) && n > 0);
}
