--[[
  Timeout worker: claims jobs whose deadline index entry is due. Three kinds:
   - 'check': a live job whose attempt deadline has not passed: the node never confirmed it
     (no job_accepted) within the assignment check, e.g. because the dispatcher died before
     sending it. The worker re-sends the assignment if the job is still only dispatched. Two
     checks per attempt (the second one a claim lease later, in case the first claimer died
     before re-sending), then the entry moves on to the attempt deadline.
   - 'timeout': a live attempt past its deadline (the worker fails it over), or a waiting job
     (created | retrying) due for a re-dispatch check or past its overall deadline.
  A 'timeout' claim of a live job moves the entry forward by a short lease instead of removing
  it, so a claimer that dies mid-way leaves the job to be claimed again; the follow-up job-fail
  removes or resets it. A waiting job is looked at again after ARGV[4] (the failover queue
  keeps retrying it meanwhile; this is the safety net, kept cheap under overload) or at its
  overall deadline, whichever is first. Each due job is handed to one claimer at a time
  cluster-wide. Bounded by ARGV[2].

  KEYS[1]  deadline index   deadlines   (job hashes derive from its members, same hash tag)
  ARGV[1]  now ms   ARGV[2] max jobs to claim   ARGV[3] claim lease ms
  ARGV[4]  waiting re-check ms

  Returns: flat list { jobId, state, attempt, node, kind ('check' | 'timeout'), jobId, ... }
]]
local base = tagBase(KEYS[1])
local dkey = KEYS[1]
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGE', dkey, '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #due do
  local jobId = due[i]
  local jobKey = base .. K.job .. jobId
  local j = redis.call('HMGET', jobKey, F.state, F.attempt, F.node, F.deadline, F.assignChecks,
    F.overallDeadline)
  if j[1] == false or not (LIVE[j[1]] or WAITING[j[1]]) then
    redis.call('ZREM', dkey, jobId)
  else
    local kind = 'timeout'
    local deadline = tonumber(j[4])
    if LIVE[j[1]] and deadline and deadline > now then
      kind = 'check'
      local checks = (tonumber(j[5]) or 0) + 1
      redis.call('HSET', jobKey, F.assignChecks, checks)
      if checks >= 2 then
        redis.call('ZADD', dkey, deadline, jobId)
      else
        redis.call('ZADD', dkey, math.min(now + tonumber(ARGV[3]), deadline), jobId)
      end
    elseif WAITING[j[1]] then
      local overall = tonumber(j[6]) or now
      local at = now + tonumber(ARGV[4])
      if overall > now and overall < at then at = overall end
      if overall <= now then at = now + tonumber(ARGV[3]) end
      redis.call('ZADD', dkey, at, jobId)
    else
      redis.call('ZADD', dkey, now + tonumber(ARGV[3]), jobId)
    end
    out[#out + 1] = jobId
    out[#out + 1] = j[1]
    out[#out + 1] = j[2]
    out[#out + 1] = j[3]
    out[#out + 1] = kind
  end
end
return out
