import pino, { type Logger } from 'pino';

/**
 * Fields that may carry a credential, wherever they turn up in a log object (a frame, an
 * error's context, request headers): replaced by "[redacted]". Belt and braces: no code path
 * logs a frame or a header today.
 */
export const REDACT_PATHS = [
  'token',
  'resume_token',
  'authorization',
  'cookie',
  'password',
  '*.token',
  '*.resume_token',
  '*.authorization',
  '*.cookie',
  '*.password',
  '*.resume.resume_token',
  '*.headers.authorization',
  '*.headers.cookie',
];

/** Structured logs: every line carries the instance id; children add session/node/job ids. */
export function createLogger(instanceId: string, level: string): Logger {
  return pino({
    level,
    base: { instance: instanceId },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}

export type { Logger };
