--[[
  An attempt ended without a result: the node reported failure, the attempt deadline passed,
  the node was lost, or no node could be found in time. CAS on (state, attempt[, node]).
  Then either `retrying` (attempts and time left: the caller enqueues failover) or terminal
  `failed`, appending a missing marker to the session's result log (first writer wins).

  Idempotent including the follow-up: a re-sent report for the same attempt and node answers
  as the first one did ('retry' while the job is still retrying: the caller enqueues the
  failover again, which is idempotent; 'failed' with the logged missing marker to deliver
  again). A retrying job's deadline index entry is due after ARGV[11], so a lost failover
  hand-off is redone by the timeout worker within seconds, not at the overall deadline.

  KEYS[1]  job hash       job:<jobId>
  KEYS[2]  session hash   session:<sid>
  KEYS[3]  deadline index deadlines
  KEYS[4]  job events     events
  KEYS[5]  state counts   jobcounts
  KEYS[6]  result log     results:<sid>
  ARGV[1]  job id   ARGV[2] attempt   ARGV[3] node id or '' (any)
  ARGV[4]  cause: timed_out | node_lost | failed | no_node
  ARGV[5]  now ms   ARGV[6] max attempts   ARGV[7] retryable (1|0)
  ARGV[8]  result log max length   ARGV[9] result log ttl ms   ARGV[10] job retention ttl ms
  ARGV[11] waiting check ms

  Returns: { 'retry', attempt, tried nodes csv, overall deadline }
         | { 'failed', owner, conn, index, sid, missing reason, appended (1|0) }
  Errors:  -4 NOT_FOUND  -5 STALE_ATTEMPT  -3 NODE_MISMATCH  -6 ILLEGAL_TRANSITION
]]
--@include "job"
local jobKey, sessKey, dkey, ev, counts, rkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local jobId = ARGV[1]
local now = tonumber(ARGV[5])
local cause = ARGV[4]
local j = redis.call('HMGET', jobKey, F.state, F.attempt, F.node, F.sessionId, F.index, F.tried,
  F.overallDeadline, F.outcome, F.missingReason, F.createdAt, F.dispatchedAt)
if j[1] == false then return -4 end
local state, attempt = j[1], tonumber(j[2])
if attempt ~= tonumber(ARGV[2]) then return -5 end
if ARGV[3] ~= '' and j[3] ~= ARGV[3] then return -3 end
local idx, overall = j[5], tonumber(j[7])

local waiting = WAITING[state]
-- A named node's attempt can only fail while it is live: a second report of the same failure
-- (socket close and a re-routed assignment, say, or a re-send) must not end a job that is
-- already retrying; it gets the first answer again.
if ARGV[3] ~= '' and state == 'retrying' then return { 'retry', attempt, j[6], overall } end
if state == 'failed' and redis.call('HGET', jobKey, F.final) == '1' then
  local owner, conn = sessionOwner(sessKey)
  return { 'failed', owner, conn, tonumber(idx), j[4], j[9] or 'failed', j[8] == 'm' and 1 or 0 }
end
if ARGV[3] ~= '' and not LIVE[state] then return -6 end
if LIVE[state] then
  local mid = cause
  if mid == 'no_node' then mid = 'failed' end
  if not jobTransition(ev, counts, jobKey, jobId, state, mid, attempt, j[3], now, cause, j[11]) then return -6 end
  state = mid
elseif not waiting then
  return -6
end

local missingReason = 'failed'
if cause == 'timed_out' then missingReason = 'timeout' elseif cause == 'no_node' then missingReason = 'no_node' end

-- Retry while attempts and time remain, the failure is retryable and nobody decided the index.
if not waiting and attempt < tonumber(ARGV[6]) and now < overall and ARGV[7] == '1' and j[8] == false then
  jobTransition(ev, counts, jobKey, jobId, state, 'retrying', attempt, j[3], now, cause, '')
  redis.call('ZADD', dkey, math.min(now + tonumber(ARGV[11]), overall), jobId)
  return { 'retry', attempt, j[6], overall }
end

if state ~= 'failed' then
  jobTransition(ev, counts, jobKey, jobId, state, 'failed', attempt, j[3], now, cause, j[10])
end
redis.call('HSET', jobKey, F.doneAt, now, F.final, 1, F.missingReason, missingReason)
redis.call('HDEL', jobKey, F.audio)
redis.call('ZREM', dkey, jobId)
redis.call('PEXPIRE', jobKey, ARGV[10])
local owner, conn = sessionOwner(sessKey)
local appended = appendOutcome(rkey, jobKey, idx, 'm', missingReason, ARGV[8], ARGV[9])
return { 'failed', owner, conn, tonumber(idx), j[4], missingReason, appended and 1 or 0 }
