/**
 * Both SDKs' first look at a server frame: JSON with a string `type`, or the `BAD_SERVER_FRAME`
 * error they emit. Shape checks stay light so the browser bundle carries no validator.
 */
export interface BadServerFrame {
  type: 'error';
  code: 'BAD_SERVER_FRAME';
  message: string;
}

export function decodeServerFrame<M extends { type: string }>(
  text: string,
): { msg: M } | { error: BadServerFrame } {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { error: { type: 'error', code: 'BAD_SERVER_FRAME', message: 'server frame is not valid JSON' } };
  }
  if (!msg || typeof msg !== 'object' || typeof (msg as { type?: unknown }).type !== 'string') {
    return { error: { type: 'error', code: 'BAD_SERVER_FRAME', message: 'server frame has no type' } };
  }
  return { msg: msg as M };
}
