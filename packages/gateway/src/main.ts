/** Process entry point of one gateway instance: `tsx packages/gateway/src/main.ts`. */
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { Gateway } from './server';

/** Bound on start-up (Redis connections, presence, inbox, listen). */
const START_TIMEOUT_MS = 60_000;

async function main(): Promise<void> {
  let cfg: ReturnType<typeof loadConfig>;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(cfg.instanceId, cfg.logLevel);
  // A start that cannot finish (e.g. a Redis Cluster that never becomes ready: its client queues
  // commands forever) must not leave a silent process: exit, and the supervisor restarts it.
  const startBound = setTimeout(() => {
    log.error({ timeout_ms: START_TIMEOUT_MS }, 'gateway did not start in time; exiting');
    process.exit(1);
  }, START_TIMEOUT_MS);
  startBound.unref();
  const gw = await Gateway.start(cfg, log);
  clearTimeout(startBound);
  // Last line of defence: a promise nobody awaited must not end the process (every socket
  // callback is guarded already); counted in lingua_handler_errors_total{where="unhandled"}.
  process.on('unhandledRejection', (err) => gw.reportError('unhandled', err));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    const force = setTimeout(() => {
      log.error('drain timed out; exiting');
      process.exit(1);
    }, cfg.drainTimeoutMs + 2000);
    force.unref();
    gw.stop(true).then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error('gateway failed to start:', err?.message ?? err);
  process.exit(1);
});
