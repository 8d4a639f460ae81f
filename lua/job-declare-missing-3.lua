--[[
  The session's result orderer waited past the gap timeout for utterance `index` while later
  results had arrived: decide the index now. First writer wins: if the job already has an
  outcome (its result or a missing marker won the race), that outcome is returned for delivery
  instead. A job that never got recorded (lost between finalize and create) gets a stub.
  The job itself may keep running; a result arriving later is 'late' and not delivered.

  KEYS[1]  job hash       job:<jobId>
  KEYS[2]  result log     results:<sid>
  KEYS[3]  state counts   jobcounts
  ARGV[1]  job id   ARGV[2] session id   ARGV[3] utterance index   ARGV[4] missing reason
  ARGV[5]  now ms   ARGV[6] result log max length   ARGV[7] result log ttl ms
  ARGV[8]  job retention ttl ms

  Returns: { 'declared' | 'existing', kind ('r'|'m'), blob or reason }
           (an existing outcome whose log entry is gone comes back as 'm' with the reason)
]]
--@include "job"
local jobKey, rkey, counts = KEYS[1], KEYS[2], KEYS[3]
local jobId, sid, idx = ARGV[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[5])
if redis.call('EXISTS', jobKey) == 0 then
  redis.call('HSET', jobKey, F.id, jobId, F.sessionId, sid, F.index, idx, F.state, 'failed', F.final, 1,
    F.attempt, 0, F.node, '', F.createdAt, now, F.updatedAt, now, F.doneAt, now, F.missingReason, ARGV[4])
  redis.call('HINCRBY', counts, 'failed', 1)
  redis.call('PEXPIRE', jobKey, ARGV[8])
end
if appendOutcome(rkey, jobKey, idx, 'm', ARGV[4], ARGV[6], ARGV[7]) then
  return { 'declared', 'm', ARGV[4] }
end
local kind, blob = loggedOutcome(rkey, jobKey)
if not blob then return { 'existing', 'm', ARGV[4] } end
return { 'existing', kind, blob }
