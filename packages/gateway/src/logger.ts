import pino, { type Logger } from 'pino';

/** Structured logs: every line carries the instance id; children add session/node/job ids. */
export function createLogger(instanceId: string, level: string): Logger {
  return pino({ level, base: { instance: instanceId }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
