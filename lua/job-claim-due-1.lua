--[[
  Timeout worker: claims jobs whose deadline passed. A claim moves the deadline forward by a
  short lease instead of removing it, so a claimer that dies mid-way leaves the job to be
  claimed again; the follow-up job-fail removes or resets it. Each due job is handed to one
  claimer at a time cluster-wide. Bounded by ARGV[2].

  KEYS[1]  deadline index   deadlines   (job hashes derive from its members, same hash tag)
  ARGV[1]  now ms   ARGV[2] max jobs to claim   ARGV[3] claim lease ms

  Returns: flat list { jobId, state, attempt, node, jobId, ... } ('' fields for missing jobs)
]]
local base = tagBase(KEYS[1])
local dkey = KEYS[1]
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGE', dkey, '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #due do
  local jobId = due[i]
  local j = redis.call('HMGET', base .. K.job .. jobId, F.state, F.attempt, F.node)
  if j[1] == false then
    redis.call('ZREM', dkey, jobId)
  else
    redis.call('ZADD', dkey, now + tonumber(ARGV[3]), jobId)
    out[#out + 1] = jobId
    out[#out + 1] = j[1]
    out[#out + 1] = j[2]
    out[#out + 1] = j[3]
  end
end
return out
