--[[
  A node's successful result: CAS (live state, attempt, node) -> completed; the result is
  appended to the session's result log unless the index already has an outcome (a gap was
  declared missing first: the result is then 'late' and not delivered). Records the node as
  the session's affinity node.

  Idempotent including the follow-up (release the slot, deliver): a re-sent completion
  answers 'dup' with the logged result when it is the winner of its index, so the caller
  delivers it again (the session's orderer drops an index it already has).

  KEYS[1]  job hash       job:<jobId>
  KEYS[2]  session hash   session:<sid>
  KEYS[3]  deadline index deadlines
  KEYS[4]  job events     events
  KEYS[5]  state counts   jobcounts
  KEYS[6]  result log     results:<sid>
  ARGV[1]  job id   ARGV[2] attempt   ARGV[3] node id   ARGV[4] now ms
  ARGV[5]  result blob (msgpack)   ARGV[6] result log max length   ARGV[7] result log ttl ms
  ARGV[8]  job retention ttl ms (after a terminal state)

  Returns: { 'ok' | 'late' | 'dup', owner instance, owner connection, utterance index, session id,
             logged result blob to deliver ('dup' only; '' when a missing marker won) }
  Errors:  -4 NOT_FOUND  -5 STALE_ATTEMPT  -3 NODE_MISMATCH  -6 ILLEGAL_TRANSITION
]]
--@include "job"
local jobKey, sessKey, dkey, ev, counts, rkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local jobId = ARGV[1]
local now = tonumber(ARGV[4])
local j = redis.call('HMGET', jobKey, F.state, F.attempt, F.node, F.sessionId, F.index, F.createdAt)
if j[1] == false then return -4 end
if tonumber(j[2]) ~= tonumber(ARGV[2]) then return -5 end
if j[3] ~= ARGV[3] then return -3 end
local state, sid, idx = j[1], j[4], j[5]
local owner, conn = sessionOwner(sessKey)
if state == 'completed' then
  local kind, blob = loggedOutcome(rkey, jobKey)
  if kind ~= 'r' or not blob then blob = '' end
  return { 'dup', owner, conn, tonumber(idx), sid, blob }
end
if not LIVE[state] then return -6 end
jobTransition(ev, counts, jobKey, jobId, state, 'completed', ARGV[2], ARGV[3], now, '', j[6])
redis.call('HSET', jobKey, F.doneAt, now)
redis.call('HDEL', jobKey, F.audio)
redis.call('ZREM', dkey, jobId)
redis.call('PEXPIRE', jobKey, ARGV[8])
-- Only an existing session (an expired one must not come back without its TTL).
if redis.call('EXISTS', sessKey) == 1 then
  redis.call('HSET', sessKey, 'last_node', ARGV[3])
end
if appendOutcome(rkey, jobKey, idx, 'r', ARGV[5], ARGV[6], ARGV[7]) then
  return { 'ok', owner, conn, tonumber(idx), sid }
end
return { 'late', owner, conn, tonumber(idx), sid }
