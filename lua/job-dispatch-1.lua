--[[
  (Re-)dispatches a waiting job (created | retrying) to a newly selected node: CAS on
  (state, attempt), attempt+1, records the node in `tried` so failover can exclude it.
  Idempotent: the same call again (same attempt+1 and node) answers 'already'.

  KEYS[1]  shard tag base
  ARGV[1]  job id   ARGV[2] expected current attempt   ARGV[3] node id
  ARGV[4]  node's instance   ARGV[5] now ms   ARGV[6] attempt deadline ms

  Returns: { 'dispatched' | 'already', attempt }
  Errors:  -4 NOT_FOUND  -5 STALE_ATTEMPT  -6 ILLEGAL_TRANSITION
]]
--@include "job"
local base, jobId = KEYS[1], ARGV[1]
local jobKey = base .. K.job .. jobId
local now = tonumber(ARGV[5])
local j = redis.call('HMGET', jobKey, 'state', 'attempt', 'node', 'tried')
if j[1] == false then return -4 end
local state, attempt = j[1], tonumber(j[2])
local expected = tonumber(ARGV[2])
if attempt == expected + 1 and j[3] == ARGV[3] and (isLive(state) or state == 'completed') then
  return { 'already', attempt }
end
if attempt ~= expected then return -5 end
if state ~= 'created' and state ~= 'retrying' then return -6 end
local nextAttempt = attempt + 1
local tried = j[4]
if tried == '' then tried = ARGV[3] else tried = tried .. ',' .. ARGV[3] end
redis.call('HSET', jobKey, 'attempt', nextAttempt, 'node', ARGV[3], 'ninst', ARGV[4], 'tried', tried,
  'deadline', ARGV[6], 'dispatched_at', now)
redis.call('ZADD', base .. K.deadlines, ARGV[6], jobId)
jobTransition(base, jobKey, jobId, state, 'dispatched', nextAttempt, ARGV[3], now, 'failover')
return { 'dispatched', nextAttempt }
