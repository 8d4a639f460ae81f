-- Shared job helpers (shard scope). Requires the generated F (job hash fields), fsmAllows, LIVE,
-- WAITING and xaddJobEvent (packages/cluster/src/job-model.ts, job-fsm.ts).
-- `ev` / `counts` are the shard's events stream and jobcounts hash (declared in KEYS).

-- One FSM step: checks the FSM (fsmAllows), updates state and the per-state counters. Returns false
-- (and changes nothing) when the transition is not allowed. Records no event: the steps of a
-- healthy job (created, dispatched at once, accepted, running) leave no trace in the events
-- stream, which would otherwise cost an XADD each on the hot path.
local function jobStep(counts, jobKey, from, to, now)
  if not fsmAllows(from, to) then return false end
  redis.call('HSET', jobKey, F.state, to, F.updatedAt, now)
  redis.call('HINCRBY', counts, from, -1)
  redis.call('HINCRBY', counts, to, 1)
  return true
end

-- jobStep, plus an event in the shard's stream: outcomes (completed, terminal failed) and the
-- failover path (attempt failures, retrying, re-dispatch, a job waiting for a node), which is
-- what the dashboard and the drills read. `since` is when the span this event closes began:
-- the job's creation for an outcome, the attempt's dispatch for an attempt failure ('' else).
local function jobTransition(ev, counts, jobKey, jobId, from, to, attempt, node, now, why, since)
  if not jobStep(counts, jobKey, from, to, now) then return false end
  xaddJobEvent(ev, jobId, from, to, attempt, node or '', now, why or '', since or '')
  return true
end

-- First writer wins per utterance index: the job's `outcome` field is set once, and only the
-- winner is appended to the session's result log, which is the one place the result is stored
-- (the job keeps the entry id). kind: 'r' result | 'm' missing.
-- Returns the result-log entry id, or false when an outcome already existed.
local function appendOutcome(rkey, jobKey, idx, kind, blob, maxlen, ttlMs)
  if redis.call('HSETNX', jobKey, F.outcome, kind) == 0 then return false end
  local id = redis.call('XADD', rkey, 'MAXLEN', '~', maxlen, '*', 'i', idx, 'k', kind, 'd', blob)
  redis.call('HSET', jobKey, F.outcomeId, id)
  redis.call('PEXPIRE', rkey, ttlMs)
  return id
end

-- The logged outcome of a job: kind ('r' | 'm' | false) and its blob (false when the log
-- entry is gone: trimmed or expired).
local function loggedOutcome(rkey, jobKey)
  local o = redis.call('HMGET', jobKey, F.outcome, F.outcomeId)
  if not o[1] then return false, false end
  if not o[2] then return o[1], false end
  local e = redis.call('XRANGE', rkey, o[2], o[2])
  if #e == 0 then return o[1], false end
  local fields = e[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'd' then return o[1], fields[i + 1] end
  end
  return o[1], false
end

-- Returns owner instance and connection id of a session ('' when detached or unknown).
local function sessionOwner(sessKey)
  local o = redis.call('HMGET', sessKey, 'owner', 'conn')
  return o[1] or '', o[2] or ''
end
