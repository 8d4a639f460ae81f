--[[
  job-complete-6.lua: a node's successful result (header there).
  A function of (KEYS, ARGV) so composite scripts (select-create, complete-release) run the
  same code on their slices of keys and arguments.
]]
--@include "job"
local function completeJob(KEYS, ARGV)
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
end
