/**
 * Scrapes `lingua_failover_seconds` from every gateway's /metrics during a drill. Kept per
 * process (pid), so a killed or restarted gateway contributes what it had observed by its last
 * scrape (at most the final second of a SIGKILLed process is lost).
 */
import type { DrillCluster } from './cluster';
import { type Histogram, histogramDelta, histogramSum, parseHistogram } from './stats';

export const FAILOVER_HISTOGRAM = 'lingua_failover_seconds';

export class HistogramScraper {
  private latest = new Map<number, Histogram>();
  private baseline = new Map<number, Histogram>();
  private busy: Promise<void> | undefined;
  scrapes = 0;

  constructor(private readonly cluster: DrillCluster) {}

  /** One scrape of every running gateway (skipped while the previous one still runs). */
  scrape(): Promise<void> {
    this.busy ??= this.scrapeAll().finally(() => {
      this.busy = undefined;
    });
    return this.busy;
  }

  private async scrapeAll(): Promise<void> {
    await Promise.all(
      this.cluster.gateways.map(async (g) => {
        const pid = g.child.pid;
        if (pid === undefined || !g.child.running) return;
        const text = await this.cluster.metricsText(g.port);
        const h = text ? parseHistogram(text, FAILOVER_HISTOGRAM) : null;
        if (h) this.latest.set(pid, h);
      }),
    );
    this.scrapes++;
  }

  /** Scrapes now and remembers the counts as the zero point (taken right before the fault). */
  async markBaseline(): Promise<void> {
    await this.busy;
    await this.scrape();
    this.baseline = new Map(this.latest);
  }

  /** Observations since the baseline, summed over every gateway process. */
  delta(): Histogram | null {
    return histogramSum(
      [...this.latest].map(([pid, h]) => histogramDelta(h, this.baseline.get(pid) ?? null)),
    );
  }
}
