/**
 * Errors caught by the transport guards: counted in `lingua_handler_errors_total{where}` and
 * logged at most once per `intervalMs` per site (with how many were suppressed), so a hostile
 * input repeated 100,000 times costs one log line, not a stack trace each.
 */
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { GuardSite } from './transport/types';

export class HandlerErrors {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly metrics: Pick<Metrics, 'handlerErrors'>,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = 10_000,
  ) {}

  report = (where: GuardSite | string, err: unknown): void => {
    this.metrics.handlerErrors.inc({ where });
    const now = this.now();
    const seen = this.last.get(where);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const e = err as Error | undefined;
    const stack = typeof e?.stack === 'string' ? e.stack.split('\n').slice(0, 6).join('\n') : undefined;
    this.log.error(
      { where, err: String(e?.message ?? err).slice(0, 500), stack, suppressed: seen?.suppressed ?? 0 },
      `handler error in ${where} (connection closed or answered 500; others unaffected)`,
    );
    this.last.set(where, { at: now, suppressed: 0 });
  };
}
