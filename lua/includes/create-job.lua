--[[
  job-create-5.lua: records a finalized utterance's job (header there).
  A function of (KEYS, ARGV) so composite scripts (select-create, complete-release) run the
  same code on their slices of keys and arguments.
]]
--@include "job"
local function createJob(KEYS, ARGV)
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
end
