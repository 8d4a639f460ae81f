--[[
  (Re-)dispatches a waiting job (created | retrying) to a newly selected node: CAS on
  (state, attempt), attempt+1, records the node in `tried` so failover can exclude it.
  Idempotent: the same call again (same attempt+1 and node) answers 'already'.

  KEYS[1]  job hash       job:<jobId>
  KEYS[2]  deadline index deadlines
  KEYS[3]  job events     events
  KEYS[4]  state counts   jobcounts
  ARGV[1]  job id   ARGV[2] expected current attempt   ARGV[3] node id
  ARGV[4]  node's instance   ARGV[5] now ms   ARGV[6] attempt deadline ms

  Returns: { 'dispatched' | 'already', attempt }
  Errors:  -4 NOT_FOUND  -5 STALE_ATTEMPT  -6 ILLEGAL_TRANSITION
]]
--@include "job"
local jobKey, dkey, ev, counts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local jobId = ARGV[1]
local now = tonumber(ARGV[5])
local j = redis.call('HMGET', jobKey, F.state, F.attempt, F.node, F.tried)
if j[1] == false then return -4 end
local state, attempt = j[1], tonumber(j[2])
local expected = tonumber(ARGV[2])
if attempt == expected + 1 and j[3] == ARGV[3] and (LIVE[state] or state == 'completed') then
  return { 'already', attempt }
end
if attempt ~= expected then return -5 end
if not WAITING[state] then return -6 end
local nextAttempt = attempt + 1
local tried = j[4]
if tried == '' then tried = ARGV[3] else tried = tried .. ',' .. ARGV[3] end
redis.call('HSET', jobKey, F.attempt, nextAttempt, F.node, ARGV[3], F.nodeInstance, ARGV[4], F.tried, tried,
  F.deadline, ARGV[6], F.dispatchedAt, now)
redis.call('ZADD', dkey, ARGV[6], jobId)
jobTransition(ev, counts, jobKey, jobId, state, 'dispatched', nextAttempt, ARGV[3], now, 'failover')
return { 'dispatched', nextAttempt }
