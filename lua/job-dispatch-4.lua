--[[
  (Re-)dispatches a waiting job (created | retrying) to a newly selected node: CAS on
  (state, attempt), attempt+1, records the node in `tried` so failover can exclude it.
  Idempotent: the same call again (same attempt+1, node and call token) answers 'already'
  (the caller sends the assignment again); a concurrent dispatch of the same attempt by
  another caller answers 'concurrent' when it chose the same node (the other caller sends the
  assignment; the reservation is shared) or 'taken' with the node it chose (the caller
  releases its own reservation, made in another cell).
  The deadline index entry is due after ARGV[7] (the node's job_accepted moves it on to the
  attempt deadline), so a caller dying before sending the assignment costs a re-send, not the
  job timeout.

  KEYS[1]  job hash       job:<jobId>
  KEYS[2]  deadline index deadlines
  KEYS[3]  job events     events
  KEYS[4]  state counts   jobcounts
  ARGV[1]  job id   ARGV[2] expected current attempt   ARGV[3] node id
  ARGV[4]  node's instance   ARGV[5] now ms   ARGV[6] attempt deadline ms
  ARGV[7]  assignment check ms   ARGV[8] call token (unique per re-dispatch call)

  Returns: { 'dispatched' | 'already' | 'concurrent' | 'taken', attempt, node }
  Errors:  -4 NOT_FOUND  -5 STALE_ATTEMPT  -6 ILLEGAL_TRANSITION
]]
--@include "job"
local jobKey, dkey, ev, counts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local jobId = ARGV[1]
local now = tonumber(ARGV[5])
local j = redis.call('HMGET', jobKey, F.state, F.attempt, F.node, F.tried, F.dispatchToken)
if j[1] == false then return -4 end
local state, attempt = j[1], tonumber(j[2])
local expected = tonumber(ARGV[2])
if attempt == expected + 1 and (LIVE[state] or state == 'completed') then
  if j[3] ~= ARGV[3] then return { 'taken', attempt, j[3] } end
  if j[5] == ARGV[8] then return { 'already', attempt, j[3] } end
  return { 'concurrent', attempt, j[3] }
end
if attempt ~= expected then return -5 end
if not WAITING[state] then return -6 end
local nextAttempt = attempt + 1
local tried = j[4]
if tried == '' then tried = ARGV[3] else tried = tried .. ',' .. ARGV[3] end
redis.call('HSET', jobKey, F.attempt, nextAttempt, F.node, ARGV[3], F.nodeInstance, ARGV[4], F.tried, tried,
  F.deadline, ARGV[6], F.dispatchedAt, now, F.dispatchToken, ARGV[8], F.assignChecks, 0)
redis.call('ZADD', dkey, math.min(now + tonumber(ARGV[7]), tonumber(ARGV[6])), jobId)
jobTransition(ev, counts, jobKey, jobId, state, 'dispatched', nextAttempt, ARGV[3], now, 'failover', '')
return { 'dispatched', nextAttempt, ARGV[3] }
