/** Shared set-up of the cluster package's Redis tests: a JobStore and an open session. */
import { type CreateJobInit, JobStore, jobIdFor, type Keyspace, type RedisClient } from '../src/index';

/** What the test session and its jobs share: tenant t, zh → en, pcm16 at 16 kHz. */
const SESSION = {
  tenant: 't',
  src: 'zh',
  tgt: 'en',
  audioFormat: 'pcm16',
  sampleRate: 16000,
  features: {},
};

/** A JobStore with the limits these tests assume (3 attempts, 60 s TTLs, 1 s checks). */
export function testJobStore(redis: RedisClient, ks: Keyspace): JobStore {
  return new JobStore(redis, ks, {
    maxAttempts: 3,
    resultLogMaxLen: 1000,
    resultLogTtlMs: 60_000,
    jobTtlMs: 60_000,
    sessionTtlMs: 60_000,
    assignCheckMs: 1000,
    waitingCheckMs: 1000,
  });
}

/** Opens session `sid` (zh → en, tenant t) owned by gw-1's connection `conn`. */
export async function openTestSession(store: JobStore, sid: string, now: number, conn = 'c1'): Promise<void> {
  await store.openSession({
    sessionId: sid,
    ...SESSION,
    owner: 'gw-1',
    conn,
    resumeToken: 'tok',
    now,
  });
}

/** Job `index` of a session openTestSession opened (connection c1), created at `now`. */
export function testJob(sid: string, index: number, now: number): Omit<CreateJobInit, 'node'> {
  return {
    jobId: jobIdFor(sid, index),
    sessionId: sid,
    index,
    ...SESSION,
    audio: new Uint8Array([1, 2, 3]),
    lastChunkSeq: index,
    reason: 'is_final',
    now,
    overallDeadline: now + 60_000,
    owner: 'gw-1',
    conn: 'c1',
  };
}
