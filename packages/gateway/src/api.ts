/**
 * The cluster API. Everything is read from Redis (packages/dashboard's ClusterReader), so every
 * instance answers the same; `served_by` only says which instance answered.
 *
 *   GET /api/v1/cluster   instances (presence + load), nodes, pools (+ src×tgt matrix), job
 *                         counts by state, DLQ, recent failovers
 *   GET /api/v1/stats     job counters, last-minute rates and latency, timeline, per-instance
 *   GET /api/v1/nodes     nodes with pools, load and state
 *   GET /api/v1/jobs/:id  one job record
 *   GET /api/v1/simulate?src=&tgt=&session=&tts=  selection dry-run: who would get the job now, why
 */
import { JOB_FIELDS, simulateSelection, validSimulatePair } from '@lingua/cluster';
import { ClusterReader, type ClusterView } from '@lingua/dashboard';
import type { AdminAuth } from './auth';
import type { GatewayContext } from './context';
import { getRoute, json } from './http';
import { safeDecode } from './transport/http-util';
import type { HttpTransport } from './transport/types';

const readers = new WeakMap<GatewayContext, ClusterReader>();

/** One reader per instance: its rolling window of job events is shared by API and feed. */
export function clusterReader(ctx: GatewayContext): ClusterReader {
  let r = readers.get(ctx);
  if (!r) {
    r = new ClusterReader(ctx.redis, ctx.ks);
    readers.set(ctx, r);
  }
  return r;
}

export async function clusterSnapshot(ctx: GatewayContext): Promise<ClusterView & { served_by: string }> {
  return { served_by: ctx.cfg.instanceId, ...(await clusterReader(ctx).cluster(ctx.now())) };
}

const COUNTERS = {
  utterances: 'utterances',
  jobs_dispatched: 'jobsDispatched',
  results_delivered: 'resultsDelivered',
  failovers: 'failovers',
  dlq_entries: 'dlqEntries',
  frames_rejected: 'framesRejected',
  late_results_dropped: 'lateResultsDropped',
  redis_errors: 'redisErrors',
} as const;

/**
 * This instance's load and counters, for its presence meta (so /api/v1/cluster and
 * /api/v1/stats on any instance show every instance's connection counts).
 */
export async function instanceLoad(ctx: GatewayContext): Promise<Record<string, unknown>> {
  const counters: Record<string, number> = {};
  for (const [name, key] of Object.entries(COUNTERS)) {
    const m = await ctx.metrics[key].get();
    counters[name] = m.values.reduce((n, v) => n + v.value, 0);
  }
  const inboxPending = (await ctx.metrics.inboxPending.get()).values[0]?.value ?? 0;
  return {
    sessions: ctx.sessions.size,
    node_conns: ctx.nodes.size,
    draining: ctx.draining,
    inbox_pending: inboxPending,
    inbox: snakeKeys(ctx.inbox.stats),
    counters,
  };
}

function snakeKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );
}

export function registerApiRoutes(app: HttpTransport, ctx: GatewayContext, admin?: AdminAuth): void {
  getRoute(app, '/api/v1/cluster', async () => json(await clusterSnapshot(ctx)), admin);
  getRoute(
    app,
    '/api/v1/stats',
    async () => json({ served_by: ctx.cfg.instanceId, ...(await clusterReader(ctx).stats(ctx.now())) }),
    admin,
  );
  getRoute(
    app,
    '/api/v1/nodes',
    async () => json({ served_by: ctx.cfg.instanceId, nodes: await clusterReader(ctx).nodes() }),
    admin,
  );
  getRoute(
    app,
    '/api/v1/simulate',
    async (_params, query) => {
      const q = new URLSearchParams(query);
      const src = q.get('src') ?? '';
      const tgt = q.get('tgt') ?? '';
      const session = q.get('session') ?? undefined;
      const ttsParam = q.get('tts');
      if (ttsParam !== null && !/^(1|0|true|false)$/.test(ttsParam)) {
        return json({ error: { code: 'BAD_MESSAGE', message: 'tts: true or false' } }, 400);
      }
      if (!validSimulatePair(src, tgt)) {
        return json(
          { error: { code: 'BAD_MESSAGE', message: 'src and tgt: two different language codes' } },
          400,
        );
      }
      if (session !== undefined && !/^[A-Za-z0-9_.:-]{1,128}$/.test(session)) {
        return json({ error: { code: 'BAD_MESSAGE', message: 'session: a session id' } }, 400);
      }
      const r = await simulateSelection(ctx.redis, ctx.ks, {
        src,
        tgt,
        sessionId: session || undefined,
        tts: ttsParam === '1' || ttsParam === 'true',
      });
      return json({ served_by: ctx.cfg.instanceId, ...r });
    },
    admin,
  );
  getRoute(
    app,
    '/api/v1/jobs/:id',
    async ([id]) => {
      const jobId = safeDecode(id ?? ''); // a malformed escape is no job, not an exception
      const job = jobId ? await ctx.store.getJob(jobId).catch(() => null) : null;
      if (!job) return json({ error: { code: 'NOT_FOUND', message: 'no such job' } }, 404);
      // The outcome is stored once, in the session's result log: read it from there by index.
      const sid = job[JOB_FIELDS.sessionId];
      const logged = sid
        ? await ctx.store.outcomeOf(sid, Number(job[JOB_FIELDS.index])).catch(() => null)
        : null;
      if (!logged) return json(job);
      const outcome =
        logged.kind === 'result'
          ? {
              kind: 'result',
              ...logged.result,
              tts_audio: logged.result.tts_audio
                ? Buffer.from(logged.result.tts_audio).toString('base64')
                : undefined,
            }
          : { kind: 'missing', reason: logged.reason };
      return json({ ...job, outcome_logged: outcome });
    },
    admin,
  );
}
