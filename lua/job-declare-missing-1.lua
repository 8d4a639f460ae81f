--[[
  The session's result orderer waited past the gap timeout for utterance `index` while later
  results had arrived: decide the index now. First writer wins: if the job already has an
  outcome (its result or a missing marker won the race), that outcome is returned for delivery
  instead. A job that never got recorded (lost between finalize and create) gets a stub.
  The job itself may keep running; a result arriving later is 'late' and not delivered.

  KEYS[1]  shard tag base
  ARGV[1]  job id   ARGV[2] session id   ARGV[3] utterance index   ARGV[4] missing reason
  ARGV[5]  now ms   ARGV[6] result log max length   ARGV[7] result log ttl ms
  ARGV[8]  job retention ttl ms

  Returns: { 'declared' | 'existing', kind ('r'|'m'), blob or reason }
]]
--@include "job"
local base, jobId, sid, idx = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local jobKey = base .. K.job .. jobId
local now = tonumber(ARGV[5])
if redis.call('EXISTS', jobKey) == 0 then
  redis.call('HSET', jobKey, 'id', jobId, 'sid', sid, 'idx', idx, 'state', 'failed', 'final', 1,
    'attempt', 0, 'node', '', 'created', now, 'updated', now, 'done_at', now, 'mreason', ARGV[4])
  redis.call('HINCRBY', base .. K.jobCounts, 'failed', 1)
  redis.call('PEXPIRE', jobKey, ARGV[8])
end
if appendOutcome(base, jobKey, sid, idx, 'm', ARGV[4], ARGV[6], ARGV[7]) then
  return { 'declared', 'm', ARGV[4] }
end
local o = redis.call('HMGET', jobKey, 'outcome', 'oblob')
return { 'existing', o[1], o[2] }
