/**
 * `lingua dlq`: list and replay dead letters. Each instance has its own DLQ stream
 * (`{i:<id>}:dlq`, indexed in `{g}:dlqs`); an entry keeps the original inbox fields (`m`: the
 * msgpack envelope) plus reason, origin inbox, delivery count and time.
 *
 * Replay re-adds the original `m` to an inbox and deletes the DLQ entry:
 *   1. the instance that owns the target now (the node's connection for assign/cancel, the
 *      session's owner for outcome/kick) when it is alive;
 *   2. else the origin instance when it is alive;
 *   3. else any alive instance: its inbox handler does not find the connection and hands the
 *      envelope to the Rerouter (forward to the owner, fail the job over, or drop an outcome
 *      that the session's result log replays on resume).
 * XADD then XDEL: a crash in between delivers twice at most, which the job FSM tolerates
 * (stale attempts and duplicate outcomes are dropped).
 */
import { decode, type Envelope, type Keyspace, Presence, type RedisClient } from '@lingua/cluster';

export interface DlqEntry {
  /** `<instance>/<stream id>`: unique across instances */
  ref: string;
  instance: string;
  id: string;
  ts: number;
  reason: string;
  origin: string;
  deliveries: number;
  /** envelope type (assign, cancel, outcome, kick, probe) or '?' when undecodable */
  type: string;
  /** node id or session id the envelope is addressed to */
  target: string;
  raw: Buffer | null;
  envelope: Envelope | null;
}

type RawEntry = [Buffer, Buffer[]];

function parseEntry(instance: string, [idBuf, fields]: RawEntry): DlqEntry {
  const f: Record<string, Buffer> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!.toString()] = fields[i + 1]!;
  const id = idBuf.toString();
  let envelope: Envelope | null = null;
  try {
    envelope = f.m ? decode<Envelope>(f.m) : null;
  } catch {
    envelope = null;
  }
  return {
    ref: `${instance}/${id}`,
    instance,
    id,
    ts: Number(f.ts?.toString() ?? id.split('-')[0]),
    reason: f.reason?.toString() ?? '',
    origin: f.origin?.toString() ?? '',
    deliveries: Number(f.deliveries?.toString() ?? 0),
    type: envelope?.t ?? '?',
    target: envelope ? targetId(envelope) : '',
    raw: f.m ?? null,
    envelope,
  };
}

function targetId(env: Envelope): string {
  switch (env.t) {
    case 'assign':
    case 'cancel':
      return env.nodeId;
    case 'outcome':
    case 'kick':
      return env.sessionId;
    default:
      return '';
  }
}

/** Newest first, across every instance's DLQ. */
export async function listDlq(redis: RedisClient, ks: Keyspace, limit: number): Promise<DlqEntry[]> {
  const instances = (await redis.smembers(ks.dlqIndex())).sort();
  const perInstance = await Promise.all(
    instances.map(async (inst) => {
      const raw = (await redis.xrevrangeBuffer(ks.dlq(inst), '+', '-', 'COUNT', limit)) as RawEntry[];
      return raw.map((e) => parseEntry(inst, e));
    }),
  );
  return perInstance
    .flat()
    .sort((a, b) => b.ts - a.ts)
    .slice(0, limit);
}

export async function dlqLength(redis: RedisClient, ks: Keyspace): Promise<number> {
  const instances = await redis.smembers(ks.dlqIndex());
  const lens = await Promise.all(instances.map((i) => redis.xlen(ks.dlq(i))));
  return lens.reduce((a, b) => a + b, 0);
}

export interface ReplayOutcome {
  ref: string;
  type: string;
  /** inbox instance it was re-added to, or '' */
  to: string;
  result: 'replayed' | 'dropped' | 'skipped';
  detail: string;
}

async function currentOwner(redis: RedisClient, ks: Keyspace, env: Envelope): Promise<string> {
  switch (env.t) {
    case 'assign':
    case 'cancel':
      return (await redis.hget(ks.node(env.nodeId), 'instance')) ?? '';
    case 'outcome':
    case 'kick':
      return (await redis.hget(ks.session(env.sessionId), 'owner')) ?? '';
    default:
      return '';
  }
}

/** Where a replayed envelope goes (see the module comment), or '' when no instance is alive. */
export async function replayTarget(
  redis: RedisClient,
  ks: Keyspace,
  entry: DlqEntry,
  alive: string[],
): Promise<string> {
  const live = new Set(alive);
  const owner = entry.envelope ? await currentOwner(redis, ks, entry.envelope) : '';
  if (owner && live.has(owner)) return owner;
  if (live.has(entry.instance)) return entry.instance;
  return alive[0] ?? '';
}

async function replayOne(
  redis: RedisClient,
  ks: Keyspace,
  entry: DlqEntry,
  alive: string[],
): Promise<ReplayOutcome> {
  const base = { ref: entry.ref, type: entry.type };
  if (!entry.raw || !entry.envelope) {
    return { ...base, to: '', result: 'skipped', detail: 'no decodable envelope; left in the DLQ' };
  }
  if (entry.envelope.t === 'probe') {
    await redis.xdel(ks.dlq(entry.instance), entry.id);
    return { ...base, to: '', result: 'dropped', detail: 'inbox probe (nothing to deliver)' };
  }
  const to = await replayTarget(redis, ks, entry, alive);
  if (!to) return { ...base, to: '', result: 'skipped', detail: 'no alive instance; left in the DLQ' };
  await redis.xadd(ks.inbox(to), '*', 'm', entry.raw);
  await redis.xdel(ks.dlq(entry.instance), entry.id);
  return { ...base, to, result: 'replayed', detail: `to the inbox of ${to}` };
}

async function aliveInstances(redis: RedisClient, ks: Keyspace): Promise<string[]> {
  return (await Presence.list(redis, ks))
    .filter((i) => i.alive)
    .map((i) => i.id)
    .sort();
}

/** Finds entries by `<instance>/<id>` or by a bare stream id (must then be unambiguous). */
async function findEntries(redis: RedisClient, ks: Keyspace, refs: string[]): Promise<DlqEntry[]> {
  const instances = (await redis.smembers(ks.dlqIndex())).sort();
  const out: DlqEntry[] = [];
  for (const ref of refs) {
    const slash = ref.lastIndexOf('/');
    const id = slash >= 0 ? ref.slice(slash + 1) : ref;
    const where = slash >= 0 ? [ref.slice(0, slash)] : instances;
    const found: DlqEntry[] = [];
    for (const inst of where) {
      const raw = (await redis.xrangeBuffer(ks.dlq(inst), id, id)) as RawEntry[];
      for (const e of raw) found.push(parseEntry(inst, e));
    }
    if (found.length === 0) throw new Error(`no DLQ entry ${ref}`);
    if (found.length > 1) {
      throw new Error(`DLQ id ${ref} is ambiguous: use one of ${found.map((e) => e.ref).join(', ')}`);
    }
    out.push(found[0]!);
  }
  return out;
}

/** Deletes entries by reference; returns how many existed. */
export async function deleteDlq(redis: RedisClient, ks: Keyspace, refs: string[]): Promise<number> {
  let n = 0;
  for (const e of await findEntries(redis, ks, refs)) n += await redis.xdel(ks.dlq(e.instance), e.id);
  return n;
}

export async function replayDlq(
  redis: RedisClient,
  ks: Keyspace,
  opts: { refs?: string[]; all?: boolean },
): Promise<ReplayOutcome[]> {
  const alive = await aliveInstances(redis, ks);
  const results: ReplayOutcome[] = [];
  if (opts.refs?.length) {
    for (const e of await findEntries(redis, ks, opts.refs))
      results.push(await replayOne(redis, ks, e, alive));
    return results;
  }
  if (!opts.all) throw new Error('pass --id <ref> or --all');
  for (const inst of (await redis.smembers(ks.dlqIndex())).sort()) {
    // Page by id: entries dead-lettered while we replay are after the cursor and wait for the
    // next run only if they arrive after we finished.
    let cursor = '-';
    for (;;) {
      const raw = (await redis.xrangeBuffer(ks.dlq(inst), cursor, '+', 'COUNT', 200)) as RawEntry[];
      if (!raw.length) break;
      for (const e of raw) results.push(await replayOne(redis, ks, parseEntry(inst, e), alive));
      cursor = `(${raw[raw.length - 1]![0].toString()}`;
    }
  }
  return results;
}
