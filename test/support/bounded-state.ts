/**
 * "Every Redis key an outside party can make exist has a TTL or dies with its owner"
 * (docs/security.md, "Quotas and bounds"), checked after a scenario: scans every key of a
 * deployment and reports those without a TTL that are not on the allow-list below. Each
 * allowed key is bounded and tied to an owner that removes it (a live node, a live job, an
 * instance), and some are allowed only while that owner is alive (checked here, in Redis).
 *
 * Used by test/security/*.test.ts and by the fuzzer's report (test/security/fuzz/).
 */
import type { Keyspace, RedisClient } from '@lingua/cluster';

export interface Allowance {
  name: string;
  /** matched against the key with the deployment prefix removed */
  pattern: RegExp;
  /** why a key without TTL is fine here */
  why: string;
  /** extra condition on the live state (e.g. the node is online); absent = always allowed */
  holds?: (key: string, m: RegExpExecArray, redis: RedisClient, ks: Keyspace) => Promise<boolean>;
}

const cellNum = (m: RegExpExecArray) => Number(m[1]);

export const ALLOWED_WITHOUT_TTL: Allowance[] = [
  {
    name: 'node hash (online/draining)',
    pattern: /^\{c(\d+)\}:node:(.+)$/,
    why: 'the node of a live connection (any state but offline: warmup/online/unavailable/draining); once offline it is forgotten after LINGUA_NODE_FORGET_MS',
    holds: async (key, _m, redis) => {
      const state = await redis.hget(key, 'state');
      return state !== null && state !== 'offline';
    },
  },
  {
    name: 'node reservations (online/draining node)',
    pattern: /^\{c(\d+)\}:njobs:(.+)$/,
    why: "a live node's reservations, at most its max_concurrent_jobs; deleted when it goes offline",
    holds: async (_key, m, redis, ks) => {
      const state = await redis.hget(`${ks.cell(cellNum(m))}node:${m[2]}`, 'state');
      return state !== null && state !== 'offline';
    },
  },
  {
    name: 'pool sets',
    pattern: /^\{c(\d+)\}:(pool|poolall|ttspool|ttsall|twpool|twall):(.+)$/,
    why: 'members are online nodes; Redis deletes the key when the last one leaves',
  },
  {
    name: 'cell indexes',
    pattern: /^\{c(\d+)\}:(pairs|hb|resv|resvnode|nodes)$/,
    why: 'one per cell; entries are owned by live nodes/reservations, or by nodes not yet forgotten',
  },
  {
    name: 'live job',
    pattern: /^\{s(\d+)\}:job:(.+)$/,
    why: 'a job not yet finished: in the deadlines index, so it ends (and gets a TTL) by its overall deadline',
    holds: async (_key, m, redis, ks) => (await redis.zscore(ks.deadlines(cellNum(m)), m[2]!)) !== null,
  },
  {
    name: 'shard indexes',
    pattern: /^\{s(\d+)\}:(deadlines|events|jobcounts)$/,
    why: 'one per shard: live-job index, the capped FSM event stream (MAXLEN), per-state counters',
  },
  {
    name: 'instance inbox and DLQ',
    pattern: /^\{i:([^}]+)\}:(inbox|dlq)$/,
    why: 'one per gateway instance (operators, not outsiders, create instances); the inbox is deleted when a dead instance is drained, the DLQ is capped and emptied by the operator',
  },
  {
    name: 'global indexes',
    pattern: /^\{g\}:(instances|pairs|dlqs|retired)$/,
    why: 'one each; entries are gateway instances or pairs served now (pruned by the forget-nodes sweep); retired instances leave after 10 min (drainRetired)',
  },
  {
    name: 'pair hint (served pair)',
    pattern: /^\{g\}:paircells:([^:]+):(.+)$/,
    why: 'a pair some cell serves now; removed by the forget-nodes sweep once no cell does',
    holds: async (_key, m, redis, ks) => {
      for (let c = 0; c < ks.cells; c++) {
        if (await redis.hexists(ks.cellPairs(c), `${m[1]}:${m[2]}`)) return true;
      }
      return false;
    },
  },
];

export interface BullAllowance {
  name: string;
  why: string;
}

/** bullmq's own keys live under `{<prefix>bull}:`, not under the prefix. */
export const BULL_ALLOWANCE: BullAllowance = {
  name: 'bullmq queues',
  why: "bullmq's queue structures (meta, schedulers, capped event streams); failover jobs are removed on completion, failed ones capped (removeOnFail)",
};

export interface BoundedStateReport {
  /** keys under the deployment (prefix + bullmq) */
  keys: number;
  /** keys without a TTL, allowed ones included */
  withoutTtl: number;
  /** allowance name → count */
  allowed: Record<string, number>;
  /** keys without a TTL that nothing allows: must be empty */
  violations: string[];
}

async function scanAll(redis: RedisClient, pattern: string): Promise<string[]> {
  const targets = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis];
  const out: string[] = [];
  for (const node of targets) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
  }
  return out;
}

/** Scans the deployment's keys and classifies every key without a TTL. */
export async function checkBoundedState(redis: RedisClient, ks: Keyspace): Promise<BoundedStateReport> {
  const report: BoundedStateReport = { keys: 0, withoutTtl: 0, allowed: {}, violations: [] };
  const bull = `{${ks.bullPrefix()}}`;
  const keys = [...(await scanAll(redis, `${ks.prefix}*`)), ...(await scanAll(redis, `${bull}*`))];
  report.keys = keys.length;
  for (const key of keys) {
    const ttl = await redis.pttl(key);
    if (ttl !== -1) continue; // has a TTL (or vanished meanwhile: -2)
    report.withoutTtl++;
    if (key.startsWith(bull)) {
      report.allowed[BULL_ALLOWANCE.name] = (report.allowed[BULL_ALLOWANCE.name] ?? 0) + 1;
      continue;
    }
    const rest = key.slice(ks.prefix.length);
    let allowedBy: string | undefined;
    for (const a of ALLOWED_WITHOUT_TTL) {
      const m = a.pattern.exec(rest);
      if (!m) continue;
      if (!a.holds || (await a.holds(key, m, redis, ks))) allowedBy = a.name;
      break;
    }
    if (allowedBy) report.allowed[allowedBy] = (report.allowed[allowedBy] ?? 0) + 1;
    else report.violations.push(`${key} (${await redis.type(key)})`);
  }
  report.violations.sort();
  return report;
}
