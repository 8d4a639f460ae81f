/**
 * Checks of a `session_init` beyond its schema, done before any state changes, so a hostile
 * value gets BAD_MESSAGE naming the field instead of failing half-way through initialisation.
 */
import { BYTE_RATE_MAX, BYTE_RATE_MIN, type SessionInit } from '@lingua/protocol';
import { checkTwoWayInit } from './two-way';

/** `byte_rate` bounds are the schema's (protocol v1.5); checked here too for frames built in code. */
export { BYTE_RATE_MAX, BYTE_RATE_MIN };
/** `features` is copied into every job of the session: keep it small. */
export const FEATURES_MAX_BYTES = 4096;

export interface InitProblem {
  field: string;
  message: string;
}

export function checkSessionInit(msg: SessionInit): InitProblem | null {
  const rate = (msg as { byte_rate?: unknown }).byte_rate;
  if (rate !== undefined) {
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < BYTE_RATE_MIN || rate > BYTE_RATE_MAX) {
      return {
        field: 'byte_rate',
        message: `byte_rate: expected a number of bytes/s within ${BYTE_RATE_MIN}..${BYTE_RATE_MAX}`,
      };
    }
  }
  if (msg.features !== undefined) {
    let size: number;
    try {
      size = Buffer.byteLength(JSON.stringify(msg.features));
    } catch {
      return { field: 'features', message: 'features: not serialisable' };
    }
    if (size > FEATURES_MAX_BYTES) {
      return { field: 'features', message: `features: ${size} bytes, limit is ${FEATURES_MAX_BYTES}` };
    }
  }
  return checkTwoWayInit(msg);
}
