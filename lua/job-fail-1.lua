--[[
  An attempt ended without a result: the node reported failure, the attempt deadline passed,
  the node was lost, or no node could be found in time. CAS on (state, attempt[, node]).
  Then either `retrying` (attempts and time left: the caller enqueues failover) or terminal
  `failed`, appending a missing marker to the session's result log (first writer wins).

  KEYS[1]  shard tag base
  ARGV[1]  job id   ARGV[2] attempt   ARGV[3] node id or '' (any)
  ARGV[4]  cause: timed_out | node_lost | failed | no_node
  ARGV[5]  now ms   ARGV[6] max attempts   ARGV[7] retryable (1|0)
  ARGV[8]  result log max length   ARGV[9] result log ttl ms   ARGV[10] job retention ttl ms

  Returns: { 'retry', attempt, tried nodes csv, overall deadline }
         | { 'failed', owner, conn, index, sid, missing reason, appended (1|0) }
  Errors:  -4 NOT_FOUND  -5 STALE_ATTEMPT  -3 NODE_MISMATCH  -6 ILLEGAL_TRANSITION
]]
--@include "job"
local base, jobId = KEYS[1], ARGV[1]
local jobKey = base .. K.job .. jobId
local now = tonumber(ARGV[5])
local cause = ARGV[4]
local j = redis.call('HMGET', jobKey, 'state', 'attempt', 'node', 'sid', 'idx', 'tried', 'overall', 'outcome')
if j[1] == false then return -4 end
local state, attempt = j[1], tonumber(j[2])
if attempt ~= tonumber(ARGV[2]) then return -5 end
if ARGV[3] ~= '' and j[3] ~= ARGV[3] then return -3 end
local sid, idx, overall = j[4], j[5], tonumber(j[7])

local waiting = state == 'created' or state == 'retrying'
-- A named node's attempt can only fail while it is live: a second report of the same failure
-- (socket close and a re-routed assignment, say) must not end a job that is already retrying.
if ARGV[3] ~= '' and not isLive(state) then return -6 end
if isLive(state) then
  local mid = cause
  if mid == 'no_node' then mid = 'failed' end
  if not jobTransition(base, jobKey, jobId, state, mid, attempt, j[3], now, cause) then return -6 end
  state = mid
elseif not waiting then
  return -6
end

local missingReason = 'failed'
if cause == 'timed_out' then missingReason = 'timeout' elseif cause == 'no_node' then missingReason = 'no_node' end

-- Retry while attempts and time remain, the failure is retryable and nobody decided the index.
if not waiting and attempt < tonumber(ARGV[6]) and now < overall and ARGV[7] == '1' and j[8] == false then
  jobTransition(base, jobKey, jobId, state, 'retrying', attempt, j[3], now, cause)
  redis.call('ZADD', base .. K.deadlines, overall, jobId)
  return { 'retry', attempt, j[6], overall }
end

if state ~= 'failed' then jobTransition(base, jobKey, jobId, state, 'failed', attempt, j[3], now, cause) end
redis.call('HSET', jobKey, 'done_at', now, 'final', 1, 'mreason', missingReason)
redis.call('HDEL', jobKey, 'audio')
redis.call('ZREM', base .. K.deadlines, jobId)
redis.call('PEXPIRE', jobKey, ARGV[10])
local owner, conn = sessionOwner(base, sid)
local appended = appendOutcome(base, jobKey, sid, idx, 'm', missingReason, ARGV[8], ARGV[9])
return { 'failed', owner, conn, tonumber(idx), sid, missingReason, appended and 1 or 0 }
