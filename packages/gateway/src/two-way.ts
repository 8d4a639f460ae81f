/**
 * Two-way sessions (protocol v1.11): the checks of `session_init.mode` and of the direction a
 * node reports in `job_result`. Pure.
 */
import type { JobResultSuccess, SessionInit } from '@lingua/protocol';

export interface TwoWayProblem {
  field: string;
  message: string;
}

/** `mode: 'two_way'` needs distinct lang_a/lang_b equal to src_lang/tgt_lang; else nothing of them. */
export function checkTwoWayInit(msg: SessionInit): TwoWayProblem | null {
  if (msg.mode !== 'two_way') {
    if (msg.lang_a !== undefined || msg.lang_b !== undefined) {
      return { field: 'mode', message: 'lang_a/lang_b are for mode "two_way" only' };
    }
    return null;
  }
  if (msg.lang_a === undefined || msg.lang_b === undefined) {
    return { field: 'lang_a', message: 'mode "two_way": lang_a and lang_b are required' };
  }
  if (msg.lang_a === msg.lang_b)
    return { field: 'lang_b', message: 'mode "two_way": lang_a and lang_b must differ' };
  if (msg.features?.tts === true) {
    return { field: 'features', message: 'mode "two_way" does not support features.tts yet' };
  }
  if (msg.src_lang !== msg.lang_a || msg.tgt_lang !== msg.lang_b) {
    return { field: 'src_lang', message: 'mode "two_way": src_lang must be lang_a and tgt_lang lang_b' };
  }
  return null;
}

/**
 * The direction of a successful result: the assignment's pair for a one-way job (whatever the
 * node says); for a two-way job the node's detected direction, which must be the pair or its
 * reverse, else null (the result is refused and the attempt fails over).
 */
export function resultDirection(
  msg: Pick<JobResultSuccess, 'src_lang' | 'tgt_lang'>,
  src: string,
  tgt: string,
  twoWay: boolean,
): { src: string; tgt: string } | null {
  if (!twoWay) return { src, tgt };
  if (msg.src_lang === src && msg.tgt_lang === tgt) return { src, tgt };
  if (msg.src_lang === tgt && msg.tgt_lang === src) return { src: tgt, tgt: src };
  return null;
}
