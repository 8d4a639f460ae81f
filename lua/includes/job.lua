-- Shared job helpers (shard scope). Requires the generated tables K and FSM.
-- `base` is the shard tag base received in KEYS[1], e.g. "lingua:v1:{s5}:".

local EVENTS_MAXLEN = 10000

-- One FSM step: checks the FSM table, updates state, per-state counters and the event stream.
-- Returns false (and changes nothing) when the transition is not allowed.
local function jobTransition(base, jobKey, jobId, from, to, attempt, node, now, why)
  if FSM[from] == nil or FSM[from][to] == nil then return false end
  redis.call('HSET', jobKey, 'state', to, 'updated', now)
  redis.call('HINCRBY', base .. K.jobCounts, from, -1)
  redis.call('HINCRBY', base .. K.jobCounts, to, 1)
  redis.call('XADD', base .. K.events, 'MAXLEN', '~', EVENTS_MAXLEN, '*',
    'job', jobId, 'from', from, 'to', to, 'attempt', tostring(attempt), 'node', node or '',
    'ts', tostring(now), 'why', why or '')
  return true
end

local function isLive(state)
  return state == 'dispatched' or state == 'accepted' or state == 'running'
end

-- First writer wins per utterance index: the job's `outcome` field is set once, and only the
-- winner is appended to the session's result log. kind: 'r' result | 'm' missing.
-- Returns the result-log entry id, or false when an outcome already existed.
local function appendOutcome(base, jobKey, sid, idx, kind, blob, maxlen, ttlMs)
  if redis.call('HSETNX', jobKey, 'outcome', kind) == 0 then return false end
  redis.call('HSET', jobKey, 'oblob', blob)
  local rkey = base .. K.results .. sid
  local id = redis.call('XADD', rkey, 'MAXLEN', '~', maxlen, '*', 'i', idx, 'k', kind, 'd', blob)
  redis.call('PEXPIRE', rkey, ttlMs)
  return id
end

-- Returns owner instance and connection id of a session ('' when detached or unknown).
local function sessionOwner(base, sid)
  local o = redis.call('HMGET', base .. K.session .. sid, 'owner', 'conn')
  return o[1] or '', o[2] or ''
end
