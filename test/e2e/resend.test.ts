/**
 * Every Lua script runs twice (LINGUA_FAULT_RESEND: the first answer is dropped, as when
 * ioredis re-sends a script whose reply was lost) and the caller acts on the second, "already
 * done" answer: every utterance still gets exactly one correct outcome, in order, promptly —
 * through a failing node (job-fail → failover) and a node that disconnects (node-offline).
 */
// First: sets LINGUA_FAULT_RESEND, read when @lingua/cluster loads (peers → auth load it).
import './support/resend-env';
import type { LinguaNode } from '@lingua/node-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeToken } from '../support/auth';
import type { TestCluster } from '../support/gateways';
import { RawPeer, simOutput, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;
const nodes: LinguaNode[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const { startGateways } = await import('../support/gateways');
  cluster = await startGateways(redis.url, 2, {
    jobTimeoutMs: 10_000,
    nodeHeartbeatMs: 100,
    nodeHeartbeatTimeoutMs: 10_000,
    sweepIntervalMs: 100,
    timeoutPollMs: 50,
  });
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await cluster?.stop();
  await redis?.stop();
  delete process.env.LINGUA_FAULT_RESEND;
});

async function sum(name: string, label: string): Promise<number> {
  const texts = await Promise.all(
    cluster.gateways.map((g) => g.ctx.metrics.registry.getSingleMetricAsString(name)),
  );
  return texts
    .join('\n')
    .split('\n')
    .filter((l) => l.startsWith(name) && l.includes(label))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}
const metric = (label: string) => sum('lingua_races_total', label);
const transitions = (label: string) => sum('lingua_job_transitions_total', label);

describe('every script re-sent', () => {
  it('exactly one correct outcome per utterance, in order, within seconds', async () => {
    const { createSimNode, LinguaNode: Node } = await import('@lingua/node-sdk');
    const [u0, u1] = cluster.urls('node');
    // 'a-…' is picked first (ties by id) and always fails: every job goes through job-fail,
    // a failover and job-dispatch; 'c-…' disconnects midway (node-offline).
    const failing = new Node({
      urls: [u0!],
      nodeId: 'a-failing',
      token: await nodeToken('a-failing'),
      services: ['asr', 'nmt'],
      asrLangs: ['zh'],
      ttsLangs: ['en'],
      maxConcurrentJobs: 8,
      handler: async () => ({
        success: false,
        error: { code: 'NODE_FAILURE', message: 'x', retryable: true },
      }),
    });
    const good = createSimNode({
      urls: [u1!],
      nodeId: 'b-good',
      token: await nodeToken('b-good'),
      asrLangs: ['zh'],
      ttsLangs: ['en'],
      latencyMs: [0, 5],
    });
    const leaving = createSimNode({
      urls: [u1!],
      nodeId: 'c-leaving',
      token: await nodeToken('c-leaving'),
      asrLangs: ['zh'],
      ttsLangs: ['en'],
      latencyMs: 200,
    });
    nodes.push(failing, good, leaving);
    await Promise.all(nodes.map((n) => n.start()));

    const sessions: { peer: RawPeer; audios: Buffer[] }[] = [];
    for (let i = 0; i < 3; i++) {
      const peer = await RawPeer.connect(cluster.urls('session')[0]!);
      peer.send({
        type: 'session_init',
        src_lang: 'zh',
        tgt_lang: 'en',
        audio_format: 'pcm16',
        sample_rate: 16000,
      });
      await peer.next('session_init_ack');
      sessions.push({ peer, audios: [] });
    }
    const N = 8;
    for (let u = 0; u < N; u++) {
      if (u === N / 2) void leaving.close(); // its jobs fail over (node-offline, re-sent)
      for (const [i, s] of sessions.entries()) {
        const audio = Buffer.from(`resend ${i} ${u}`);
        s.audios.push(audio);
        s.peer.send({ type: 'utterance', data: audio.toString('base64') });
      }
    }
    for (const s of sessions) {
      await until(() => s.peer.ofType('translation_result').length >= N, `${N} results`, 60_000);
      const results = s.peer.ofType('translation_result');
      expect(results.map((r) => r.utterance_index)).toEqual([...Array(N).keys()]);
      for (const r of results)
        expect(r).toMatchObject(simOutput(s.audios[r.utterance_index as number]!, 'zh', 'en'));
      expect(s.peer.ofType('missing_result')).toEqual([]);
      expect(s.peer.ofType('utterance_accepted')).toHaveLength(N);
    }
    // Nothing waited for a deadline: no attempt timed out (job timeout 10 s).
    expect(await transitions('to="timed_out"')).toBe(0);
    // The re-sends happened and their "already done" answers were acted on.
    expect(await metric('op="job_create",code="exists"')).toBeGreaterThanOrEqual(3 * N);
    expect(await metric('op="job_result",code="dup"')).toBeGreaterThanOrEqual(1);
    expect(await metric('op="job_dispatch",code="already"')).toBeGreaterThanOrEqual(1);
    // No duplicate arrives late.
    const { redis: r, ks } = cluster.gateways[0]!.ctx;
    await until(async () => {
      for (const g of cluster.gateways) {
        const pending = (await r.xpending(ks.inbox(g.cfg.instanceId), 'lingua')) as [number, ...unknown[]];
        if (pending[0] !== 0) return false;
      }
      return true;
    }, 'inboxes drained');
    for (const s of sessions) expect(s.peer.ofType('translation_result')).toHaveLength(N);
    for (const s of sessions) s.peer.close();
  });
});
