/** Outgoing frames. Plain JSON.stringify: the static types are the check on this side. */
import type { ErrorCode } from './errors';
import type { ParseFailure } from './parse';
import type { ErrorMessage } from './schemas/shared';

export function encodeFrame<M extends { type: string }>(msg: M): string {
  return JSON.stringify(msg);
}

export function errorMessage(code: ErrorCode, message: string, field?: string): ErrorMessage {
  return field === undefined ? { type: 'error', code, message } : { type: 'error', code, message, field };
}

/** A ready-to-send `error` frame. */
export function errorFrame(code: ErrorCode, message: string, field?: string): string {
  return JSON.stringify(errorMessage(code, message, field));
}

/** The `error` frame answering a frame the parser rejected. */
export function parseFailureFrame(failure: ParseFailure): string {
  return errorFrame(failure.code, failure.message, failure.field);
}
