/**
 * One table mapping Lua script return codes (negative integers, BullMQ style) to typed errors.
 * Every script documents which of these it can return in its header.
 */
export enum ScriptErrorCode {
  NO_POOL_FOR_LANG_PAIR = -1,
  NO_AVAILABLE_NODE = -2,
  NODE_MISMATCH = -3,
  NOT_FOUND = -4,
  STALE_ATTEMPT = -5,
  ILLEGAL_TRANSITION = -6,
  NODE_OFFLINE = -7,
  BAD_ARGUMENT = -8,
  LOCKED = -9,
  RESUME_REJECTED = -10,
  SESSION_MOVED = -11,
  /** a meeting room already has its maximum number of members */
  ROOM_FULL = -12,
  /** the session is not a member of the room (it left, or the room expired) */
  NOT_MEMBER = -13,
  /**
   * select-node asked for a cool node (v1.9) and this cell has only hot ones free: try the
   * other cells first. (-20: numbers below are left to other scripts' codes.)
   */
  ONLY_HOT_NODES = -20,
}

export class LinguaScriptError extends Error {
  readonly code: ScriptErrorCode;
  readonly codeName: keyof typeof ScriptErrorCode;
  constructor(code: ScriptErrorCode, script: string, detail?: string) {
    const codeName = (ScriptErrorCode[code] ?? 'UNKNOWN') as keyof typeof ScriptErrorCode;
    super(`${script}: ${codeName}${detail ? ` (${detail})` : ''}`);
    this.name = 'LinguaScriptError';
    this.code = code;
    this.codeName = codeName;
  }
}

export function isScriptError(err: unknown, code?: ScriptErrorCode): err is LinguaScriptError {
  return err instanceof LinguaScriptError && (code === undefined || err.code === code);
}

/** Throws a typed error when a script returned a negative code; passes anything else through. */
export function checkScriptResult<T>(script: string, result: T): T {
  if (typeof result === 'number' && result < 0) {
    throw new LinguaScriptError(result as ScriptErrorCode, script);
  }
  return result;
}
