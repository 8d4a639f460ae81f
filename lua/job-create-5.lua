--[[
  Creates the job for one finalized utterance, idempotent on (session, utterance index):
  the job id is "<sid>.<index>", so a re-sent or repeated create returns the existing job.
  When a node was already selected (a node id is given) the job is dispatched to it in the
  same step (created -> dispatched, attempt 1), saving a round trip on the hot path.
  Also advances the session's next_index / last_accepted_seq (used by resume), and ends the
  grace of the resume token the last rotation replaced (session-resume-1): the owner accepted
  audio, so its client has the ack with the new token.

  Follow-ups (the caller's, after this script): send the assignment, or hand a job without a
  node to the failover queue. Both are made safe against the caller dying first: the job's
  entry in the deadline index is due after a short check (ARGV[21] for a dispatched job, which
  the node's job_accepted moves on to the attempt deadline; ARGV[22] for a waiting one), so the
  timeout worker re-sends the assignment or re-dispatches. A re-sent create answers 'exists'
  with what the caller needs to do its follow-up again (state, attempt, node).

  KEYS[1]  session hash   session:<sid>
  KEYS[2]  job hash       job:<jobId>
  KEYS[3]  deadline index deadlines
  KEYS[4]  job events     events
  KEYS[5]  state counts   jobcounts
  ARGV[1]  job id            ARGV[2]  session id       ARGV[3]  utterance index
  ARGV[4]  tenant            ARGV[5]  src lang         ARGV[6]  tgt lang
  ARGV[7]  audio format      ARGV[8]  sample rate      ARGV[9]  features (JSON)
  ARGV[10] audio (bytes)     ARGV[11] last chunk seq   ARGV[12] finalize reason
  ARGV[13] now ms            ARGV[14] overall deadline ms (end of all attempts)
  ARGV[15] owner instance    ARGV[16] owner connection id
  ARGV[17] node id or ''     ARGV[18] node's instance  ARGV[19] attempt deadline ms
  ARGV[20] session ttl ms
  ARGV[21] assignment check ms   ARGV[22] waiting check ms
  ARGV[23] context (JSON, protocol v1.8 job_assign.context) or '' for none

  Returns: { 'created' | 'exists', state, attempt, node }
  Errors:  -4 NOT_FOUND (no such session)  -11 SESSION_MOVED (caller no longer owns it)
]]
--@include "job"
local sessKey, jobKey, dkey, ev, counts = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local jobId, sid, idx = ARGV[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[13])

local sess = redis.call('HMGET', sessKey, 'owner', 'conn', 'next_index', 'last_accepted_seq', 'prev_token')
if sess[1] == false then return -4 end

local existing = redis.call('HMGET', jobKey, F.state, F.attempt, F.node)
if existing[1] then return { 'exists', existing[1], tonumber(existing[2]), existing[3] or '' } end
if sess[1] ~= ARGV[15] or sess[2] ~= ARGV[16] then return -11 end

redis.call('HSET', jobKey, F.id, jobId, F.sessionId, sid, F.index, idx, F.tenant, ARGV[4],
  F.src, ARGV[5], F.tgt, ARGV[6], F.audioFormat, ARGV[7], F.sampleRate, ARGV[8], F.features, ARGV[9],
  F.audio, ARGV[10], F.lastChunkSeq, ARGV[11], F.finalizeReason, ARGV[12],
  F.state, 'created', F.attempt, 0, F.node, '', F.nodeInstance, '', F.tried, '',
  F.createdAt, now, F.updatedAt, now, F.overallDeadline, ARGV[14])
if ARGV[23] ~= '' then redis.call('HSET', jobKey, F.context, ARGV[23]) end
redis.call('HINCRBY', counts, 'created', 1)

local nextIdx = tonumber(idx) + 1
if nextIdx > tonumber(sess[3] or '0') then redis.call('HSET', sessKey, 'next_index', nextIdx) end
if sess[5] then redis.call('HDEL', sessKey, 'prev_token') end
if tonumber(ARGV[11]) > tonumber(sess[4] or '-1') then
  redis.call('HSET', sessKey, 'last_accepted_seq', ARGV[11])
end
redis.call('PEXPIRE', sessKey, ARGV[20])

local node = ARGV[17]
if node ~= '' then
  redis.call('HSET', jobKey, F.attempt, 1, F.node, node, F.nodeInstance, ARGV[18], F.tried, node,
    F.deadline, ARGV[19], F.dispatchedAt, now)
  redis.call('ZADD', dkey, math.min(now + tonumber(ARGV[21]), tonumber(ARGV[19])), jobId)
  jobStep(counts, jobKey, 'created', 'dispatched', now)
  return { 'created', 'dispatched', 1, node }
end
-- No node yet: the failover queue retries; the timeout worker checks it soon in case that
-- hand-off never happened. Only a waiting job gets a 'created' event (see jobTransition).
xaddJobEvent(ev, jobId, '', 'created', 0, '', ARGV[13], ARGV[12], '')
redis.call('ZADD', dkey, math.min(now + tonumber(ARGV[22]), tonumber(ARGV[14])), jobId)
return { 'created', 'created', 0, '' }
