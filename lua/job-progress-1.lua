--[[
  A node acknowledges a job (job_accepted -> accepted) or reports progress
  (job_progress -> running). CAS on (attempt, node); idempotent when already there or beyond.

  KEYS[1]  shard tag base
  ARGV[1]  job id   ARGV[2] attempt   ARGV[3] node id   ARGV[4] target state (accepted|running)
  ARGV[5]  now ms

  Returns: 1 moved, 0 already there or beyond
  Errors:  -4 NOT_FOUND  -5 STALE_ATTEMPT  -3 NODE_MISMATCH  -6 ILLEGAL_TRANSITION
]]
--@include "job"
local base, jobId = KEYS[1], ARGV[1]
local jobKey = base .. K.job .. jobId
local j = redis.call('HMGET', jobKey, 'state', 'attempt', 'node')
if j[1] == false then return -4 end
if tonumber(j[2]) ~= tonumber(ARGV[2]) then return -5 end
if j[3] ~= ARGV[3] then return -3 end
local state, to = j[1], ARGV[4]
if state == to or (state == 'running' and to == 'accepted') or state == 'completed' then return 0 end
if not isLive(state) then return -6 end
if not jobTransition(base, jobKey, jobId, state, to, ARGV[2], ARGV[3], tonumber(ARGV[5]), '') then return -6 end
return 1
