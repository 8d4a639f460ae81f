/**
 * Nesting bound for decoded frames. `JSON.parse` happily builds a value nested a million
 * levels deep, but everything after it that recurses (validators, `JSON.stringify` when the
 * value is stored, loggers) overflows the stack on it; no message of the protocol nests
 * deeper than a few levels, so deeper frames are refused before anything else sees them.
 */

/** Deepest nesting of objects/arrays a frame may have (the frame object itself is level 1). */
export const MAX_FRAME_DEPTH = 32;

/** True when `value` nests objects/arrays at most `limit` levels deep. Iterative: no recursion. */
export function withinDepth(value: unknown, limit = MAX_FRAME_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return true;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > limit) return false;
    const children = Array.isArray(v) ? v : Object.values(v as object);
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push([c, depth + 1]);
  }
  return true;
}
