--[[
  A node acknowledges a job (job_accepted -> accepted) or reports progress
  (job_progress -> running). CAS on (attempt, node); idempotent when already there or beyond.
  The node has the job: its deadline index entry moves from the assignment check on to the
  attempt deadline.

  KEYS[1]  job hash       job:<jobId>
  KEYS[2]  deadline index deadlines
  KEYS[3]  job events     events
  KEYS[4]  state counts   jobcounts
  ARGV[1]  job id   ARGV[2] attempt   ARGV[3] node id   ARGV[4] target state (accepted|running)
  ARGV[5]  now ms

  Returns: 1 moved, 0 already there or beyond
  Errors:  -4 NOT_FOUND  -5 STALE_ATTEMPT  -3 NODE_MISMATCH  -6 ILLEGAL_TRANSITION
]]
--@include "job"
local jobKey, dkey, ev, counts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local jobId = ARGV[1]
local j = redis.call('HMGET', jobKey, F.state, F.attempt, F.node, F.deadline)
if j[1] == false then return -4 end
if tonumber(j[2]) ~= tonumber(ARGV[2]) then return -5 end
if j[3] ~= ARGV[3] then return -3 end
local state, to = j[1], ARGV[4]
if state == 'completed' then return 0 end
if not LIVE[state] then return -6 end
if j[4] then redis.call('ZADD', dkey, 'XX', 'GT', j[4], jobId) end
if state == to or (state == 'running' and to == 'accepted') then return 0 end
if not jobStep(counts, jobKey, state, to, tonumber(ARGV[5])) then return -6 end
return 1
