/**
 * Selection dry-run (issue 13, `GET /api/v1/simulate`, `lingua status --explain`): which node
 * `selectNode` would pick for a pair right now, and why, without reserving anything. It reads
 * what select-node-5.lua reads, in the same order (the affinity node's cell first, then the
 * hinted cells rotated by the job id), and applies the same rule: per cell the affinity node
 * while it is available and cool, else the least-loaded available node with cool nodes before
 * hot ones (the affinity node again when all are hot); across cells a cool choice first
 * (v1.9). With TTS (the session's `features.tts`, or `tts`) it reads the pair's TTS index;
 * for a two-way session (v1.11, its `features.two_way`) the pair's two-way index.
 * Plain reads, so a concurrent selection may decide differently a moment later; that is what
 * "now" means.
 */
import { parseJsonObject } from './codec';
import type { Keyspace } from './keys';
import type { RedisClient } from './redis';
import { candidateCells } from './select-node';

/** Nodes listed per cell (the pool's membership is read with SSCAN up to this many). */
export const MAX_EXPLAINED_PER_CELL = 100;
/** Cells looked at (the hinted ones; every cell only with a single-cell keyspace). */
export const MAX_EXPLAINED_CELLS = 64;

export type CandidateStatus =
  | 'chosen'
  | 'available'
  | 'hot'
  | 'full'
  | 'warmup'
  | 'unavailable'
  | 'draining'
  | 'offline';

export interface Candidate {
  node_id: string;
  cell: number;
  state: string;
  status: CandidateStatus;
  running: number;
  max_concurrent_jobs: number;
  /** running / max: the available index's score (least loaded first) */
  load: number;
  /** the session's affinity node */
  affinity: boolean;
  /** its last heartbeat's load is above the hot threshold (v1.9): chosen after cool nodes */
  hot: boolean;
  /** why it is (not) chosen, in words */
  why: string;
}

export interface SimulateResult {
  src: string;
  tgt: string;
  session: { id: string; found: boolean; affinity: string | null; next_job_id: string | null } | null;
  /** v1.9: the job needs TTS (only nodes with the 'tts' service are candidates) */
  tts: boolean;
  /** v1.11: the session is two-way (only nodes serving both directions are candidates) */
  two_way: boolean;
  /** cells in the order selection tries them */
  cells: number[];
  chosen: { node_id: string; cell: number; why: string } | null;
  /** when nothing would be chosen: what selectNode would throw */
  error: 'NO_POOL_FOR_LANG_PAIR' | 'NO_AVAILABLE_NODE' | null;
  candidates: Candidate[];
  /** true when a cell had more members than were listed */
  truncated: boolean;
}

const LANG_RE = /^[A-Za-z0-9_-]{2,16}$/;

export function validSimulatePair(src: string, tgt: string): boolean {
  return LANG_RE.test(src) && LANG_RE.test(tgt) && src !== tgt;
}

/** Dry-run of selectNode for (src, tgt), optionally as the next job of `sessionId`. */
export async function simulateSelection(
  redis: RedisClient,
  ks: Keyspace,
  p: { src: string; tgt: string; sessionId?: string; tts?: boolean },
): Promise<SimulateResult> {
  const { src, tgt } = p;
  let session: SimulateResult['session'] = null;
  let affinity = '';
  let jobId = `simulate.${src}:${tgt}`;
  let tts = p.tts === true;
  let twoWay = false;
  if (p.sessionId) {
    const [lastNode, nextIndex, feat] = await redis.hmget(
      ks.session(p.sessionId),
      'last_node',
      'next_index',
      'feat',
    );
    const found = nextIndex !== null;
    affinity = lastNode ?? '';
    if (found) jobId = `${p.sessionId}.${nextIndex}`;
    const f = found ? parseJsonObject(feat ?? '') : {};
    if (f.tts === true) tts = true;
    // v1.11: a two-way session's jobs select from the pair's two-way index.
    if (f.two_way === true) twoWay = true;
    session = { id: p.sessionId, found, affinity: affinity || null, next_job_id: found ? jobId : null };
  }
  const hinted =
    ks.cells === 1
      ? [0]
      : (await redis.smembers(ks.pairCells(src, tgt))).map(Number).filter((c) => c < ks.cells);
  const affinityCell = affinity ? ks.cellOf(affinity) : undefined;
  const cells = candidateCells(hinted, jobId, affinityCell).slice(0, MAX_EXPLAINED_CELLS);

  const candidates: Candidate[] = [];
  let chosen: SimulateResult['chosen'] = null;
  let sawPool = false;
  let truncated = false;
  /** per cell, what select-node would take there (the cross-cell rule picks among them) */
  const picks: { cell: number; id: string; hot: boolean; why: string }[] = [];
  const perCell: { cell: number; ids: string[]; avail: Map<string, number> }[] = [];
  for (const cell of cells) {
    const index = ks.selectionIndex(cell, src, tgt, { tts, twoWay });
    const [available, [, members], size] = await Promise.all([
      redis.zrange(index.available, 0, MAX_EXPLAINED_PER_CELL - 1, 'WITHSCORES'),
      redis.sscan(index.members, '0', 'COUNT', MAX_EXPLAINED_PER_CELL),
      index.capability ? redis.scard(index.members) : redis.hget(ks.cellPairs(cell), `${src}:${tgt}`),
    ]);
    if (Number(size ?? 0) > 0) sawPool = true;
    const avail = new Map<string, number>();
    for (let i = 0; i + 1 < available.length; i += 2) avail.set(available[i]!, Number(available[i + 1]));
    const ids = [...new Set([...avail.keys(), ...members])].slice(0, MAX_EXPLAINED_PER_CELL);
    if (Number(size ?? 0) > ids.length) truncated = true;
    perCell.push({ cell, ids, avail });
    // The in-cell rule of select-node-5.lua (scores: load, + 1 when hot).
    const affScore = affinity && ks.cellOf(affinity) === cell ? avail.get(affinity) : undefined;
    const first = available[0];
    const firstHot = Number(available[1] ?? 0) >= 1;
    if (affScore !== undefined && affScore < 1) {
      picks.push({
        cell,
        id: affinity,
        hot: false,
        why: "the session's affinity node (its last node) has a free slot",
      });
    } else if (first !== undefined) {
      if (affScore !== undefined && firstHot) {
        picks.push({
          cell,
          id: affinity,
          hot: true,
          why: 'every free node is hot: the affinity node keeps the session',
        });
      } else {
        const scope = tts ? `TTS node in cell ${cell}` : `node in cell ${cell}`;
        let why = firstHot
          ? `least loaded hot ${scope}: no cool node has a free slot`
          : `least loaded available ${scope}`;
        if (affinity && affScore !== undefined) why += ' (the affinity node is hot: it yields)';
        else if (affinity)
          why += ` (the affinity node is not available for ${src}:${tgt}${tts ? ' with TTS' : ''})`;
        picks.push({ cell, id: first, hot: firstHot, why });
      }
    }
  }
  // Across cells (selectNode): the first cool choice in cell order, else the first hot one.
  const pick = picks.find((x) => !x.hot) ?? picks[0];
  if (pick) {
    const why = pick.hot && picks.length > 1 ? `${pick.why}; no cell has a cool node free` : pick.why;
    chosen = { node_id: pick.id, cell: pick.cell, why };
  }
  for (const { cell, ids, avail } of perCell) {
    const p2 = redis.pipeline(); // one cell: one slot
    for (const id of ids) p2.hmget(ks.node(id), 'state', 'running', 'max', 'reason', 'hot');
    const rows = (await p2.exec()) ?? [];
    ids.forEach((id, i) => {
      const [err, row] = rows[i] ?? [null, null];
      const [state, running, max, reason, hotFlag] = (err ? [] : (row as (string | null)[])) ?? [];
      const r = Number(running ?? 0);
      const m = Number(max ?? 0);
      const st = state ?? 'offline';
      const hot = hotFlag === '1';
      const isChosen = chosen?.node_id === id && chosen.cell === cell;
      let status: CandidateStatus;
      let why: string;
      if (isChosen) [status, why] = ['chosen', chosen!.why];
      else if (avail.has(id) && hot)
        [status, why] = [
          'hot',
          'free slot, but its load is above the hot threshold: chosen after cool nodes',
        ];
      else if (avail.has(id))
        [status, why] = ['available', chosen ? 'available, but another node is chosen first' : 'available'];
      else if (st === 'warmup')
        [status, why] = ['warmup', 'still warming up: selected for no job until node_ready'];
      else if (st === 'unavailable')
        [status, why] = ['unavailable', `declared unavailable${reason ? `: ${reason}` : ''}`];
      else if (st === 'draining')
        [status, why] = ['draining', 'draining: finishes its jobs, takes no new one'];
      else if (st === 'offline') [status, why] = ['offline', 'offline'];
      else [status, why] = ['full', `no free slot (${r}/${m})`];
      candidates.push({
        node_id: id,
        cell,
        state: st,
        status,
        running: r,
        max_concurrent_jobs: m,
        load: m > 0 ? r / m : 0,
        affinity: id === affinity,
        hot,
        why,
      });
    });
  }
  return {
    src,
    tgt,
    session,
    tts,
    two_way: twoWay,
    cells,
    chosen,
    error: chosen ? null : sawPool ? 'NO_AVAILABLE_NODE' : 'NO_POOL_FOR_LANG_PAIR',
    candidates,
    truncated,
  };
}

/** Plain-text rendering for `lingua status --explain`. */
export function renderSimulation(r: SimulateResult): string {
  const out: string[] = [];
  const mode = r.two_way ? ' two-way' : r.tts ? ' with TTS' : '';
  out.push(`Selection for ${r.src}:${r.tgt}${mode} now (dry-run: nothing reserved)`);
  if (r.session) {
    out.push(
      r.session.found
        ? `Session ${r.session.id}: next job ${r.session.next_job_id}, affinity ${r.session.affinity ?? 'none'}`
        : `Session ${r.session.id}: not found (no affinity)`,
    );
  }
  out.push(`Cells in order: ${r.cells.length ? r.cells.join(' ') : '(none)'}`);
  out.push(
    r.chosen
      ? `Chosen: ${r.chosen.node_id} (cell ${r.chosen.cell}): ${r.chosen.why}`
      : `Chosen: none (${r.error})`,
  );
  out.push('');
  const splitWidth = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  out.push(`${'NODE'.padEnd(24)} ${'CELL'.padEnd(5)} ${'STATE'.padEnd(12)} ${'LOAD'.padEnd(8)} WHY`);
  for (const c of r.candidates) {
    out.push(
      `${splitWidth(c.node_id + (c.affinity ? ' *' : ''), 24)} ${String(c.cell).padEnd(5)} ${splitWidth(c.status, 12)} ${`${c.running}/${c.max_concurrent_jobs}`.padEnd(8)} ${c.why}`,
    );
  }
  if (!r.candidates.length) out.push('(no node in any pool of this pair)');
  if (r.truncated) out.push(`(more nodes than listed: ${MAX_EXPLAINED_PER_CELL} per cell shown)`);
  out.push("* = the session's affinity node; hot = load above the hot threshold (chosen after cool nodes)");
  return out.join('\n');
}
