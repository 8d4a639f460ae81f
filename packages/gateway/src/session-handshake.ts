/**
 * The session_init handshake after its checks: a new session (pool check, tenant quota, the
 * session record) or a resume (token rotation, the v1.3 loss audit, the old socket kicked, the
 * quota re-entered). The actor only learns the outcome: where the session starts, or that the
 * client was refused (the error frame is already sent).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { checkPool, isScriptError, ScriptErrorCode } from '@lingua/cluster';
import type { SessionInit } from '@lingua/protocol';
import type { GatewayContext } from './context';
import { storedFeatures } from './limits';
import type { Logger } from './logger';
import { recoverLostOnResume } from './loss-audit';

/** What a session is, as the actor and its jobs need it. */
export interface SessionInfo {
  tenant: string;
  src: string;
  tgt: string;
  fmt: string;
  rate: number;
  features: Record<string, unknown>;
}

export interface HandshakeDeps {
  ctx: GatewayContext;
  conn: string;
  log: Logger;
  /** the tenant of the connection's session token; undefined when auth is off */
  tenant: string | undefined;
  /** sends an error frame to the client (`field`: the offending field) */
  error(code: string, message: string, field?: string): void;
  /** into the tenant's session quota (tells the client when it is full) */
  admit(tenant: string, sessionId: string): Promise<boolean>;
  /** the session this connection is binding (set before the steps that may throw) */
  bind(sessionId: string | undefined): void;
}

export interface Handshake {
  sessionId: string;
  info: SessionInfo;
  nextIndex: number;
  lastAcceptedSeq: number;
  lastResultIndex: number;
  resumeToken: string;
}

/** null: refused (the client was told why); throws on Redis errors. */
export function handshake(d: HandshakeDeps, msg: SessionInit): Promise<Handshake | null> {
  // A fresh resume token per session and per resume: a presented token is good for one resume.
  const resumeToken = randomBytes(18).toString('base64url');
  return msg.resume ? resume(d, msg, resumeToken) : open(d, msg, resumeToken);
}

async function resume(d: HandshakeDeps, msg: SessionInit, resumeToken: string): Promise<Handshake | null> {
  const { ctx } = d;
  const { cfg, store } = ctx;
  const r = msg.resume!;
  const now = ctx.now();
  try {
    const s = await store.resumeSession(r.session_id, r.resume_token, cfg.instanceId, d.conn, now, {
      newToken: resumeToken,
      tenant: d.tenant,
    });
    d.bind(r.session_id);
    // v1.3: the client saw more accepted than Redis remembers (a failover lost it).
    const fixed = await recoverLostOnResume(
      (i) => store.declareMissing(r.session_id, i, 'failed', now),
      s,
      r,
    );
    if (fixed.lost) {
      ctx.metrics.lostJobs.inc({ trigger: 'resume' }, fixed.lost);
      d.log.warn(
        { session: r.session_id, lost: fixed.lost, from: s.nextIndex },
        'resume: accepted utterances Redis lost (failover) answered missing_result',
      );
    }
    if (s.oldOwner) {
      // The old socket (if any) must stop writing for this session.
      await ctx.inbox
        .send(s.oldOwner, { t: 'kick', sessionId: r.session_id, conn: s.oldConn })
        .catch(() => {});
    }
    // A resumed session counts once: still in the quota (old connection) → admitted.
    if (!(await d.admit(s.tenant, r.session_id))) {
      await store.detachSession(r.session_id, d.conn, 'detach', ctx.now());
      d.bind(undefined);
      return null;
    }
    return {
      sessionId: r.session_id,
      info: {
        tenant: s.tenant,
        src: s.src,
        tgt: s.tgt,
        fmt: s.audioFormat,
        rate: s.sampleRate,
        features: s.features,
      },
      nextIndex: fixed.nextIndex,
      lastAcceptedSeq: fixed.lastAcceptedSeq,
      lastResultIndex: r.last_result_index ?? -1,
      resumeToken,
    };
  } catch (err) {
    if (isScriptError(err, ScriptErrorCode.NOT_FOUND)) {
      // Like every refused frame, counted toward LINGUA_ABUSE_LIMIT by the connection (connections.ts).
      d.error('SESSION_NOT_FOUND', `session ${r.session_id} does not exist or expired`);
      return null;
    }
    if (isScriptError(err, ScriptErrorCode.RESUME_REJECTED)) {
      d.error('RESUME_REJECTED', 'resume_token does not match or the session is closed');
      return null;
    }
    throw err;
  }
}

async function open(d: HandshakeDeps, msg: SessionInit, resumeToken: string): Promise<Handshake | null> {
  const { ctx } = d;
  const pair = `${msg.src_lang}:${msg.tgt_lang}`;
  const pool = await checkPool(ctx.redis, ctx.ks, {
    src: msg.src_lang,
    tgt: msg.tgt_lang,
    tts: msg.features?.tts === true,
    twoWay: msg.mode === 'two_way',
  });
  if (pool === 'no_two_way') {
    // v1.11: only a node serving both directions takes a two-way session's jobs.
    d.error(
      'NO_POOL_FOR_LANG_PAIR',
      `no node serves both ${pair} and ${msg.tgt_lang}:${msg.src_lang}`,
      'mode',
    );
    return null;
  }
  if (pool === 'no_pair') {
    d.error('NO_POOL_FOR_LANG_PAIR', `no node serves ${pair}`);
    return null;
  }
  if (pool === 'no_tts') {
    // v1.9: a TTS session only ever reaches TTS nodes; say so now rather than never answer.
    d.error(
      'NO_POOL_FOR_LANG_PAIR',
      `no node with text-to-speech serves ${pair}; retry without features.tts for text only`,
      'features',
    );
    return null;
  }
  const sessionId = randomUUID();
  const info: SessionInfo = {
    tenant: d.tenant ?? msg.tenant_id ?? 'default',
    src: msg.src_lang,
    tgt: msg.tgt_lang,
    fmt: msg.audio_format,
    rate: msg.sample_rate,
    // v1.11: the mode travels with the session and every job as `features.two_way`.
    features: { ...storedFeatures(msg.features), ...(msg.mode === 'two_way' ? { two_way: true } : {}) },
  };
  if (!(await d.admit(info.tenant, sessionId))) return null;
  d.bind(sessionId);
  try {
    await ctx.store.openSession({
      sessionId,
      tenant: info.tenant,
      src: info.src,
      tgt: info.tgt,
      audioFormat: info.fmt,
      sampleRate: info.rate,
      features: info.features,
      owner: ctx.cfg.instanceId,
      conn: d.conn,
      resumeToken,
      now: ctx.now(),
    });
  } catch (err) {
    await ctx.quotas.releaseSession(sessionId, d.conn).catch(() => {});
    d.bind(undefined);
    throw err;
  }
  return { sessionId, info, nextIndex: 0, lastAcceptedSeq: -1, lastResultIndex: -1, resumeToken };
}
