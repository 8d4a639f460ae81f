--[[
  select-node: picks a node for (src -> tgt) in this cell and reserves one of its slots,
  atomically.

  Choice: the affinity node while it is in the pool's available index (online, free slot),
  not excluded and not hot; else the least-loaded available node that is not excluded, cool
  nodes before hot ones (protocol v1.9: a hot node's score is load + 1, cell-avail), and
  the affinity node again when that one is hot too (all hot: affinity as before). A session
  with TTS (ARGV[9]) reads the pair's TTS index instead (only nodes with the 'tts' service);
  a two-way job (v1.11) reads the pair's two-way index (only nodes serving src:tgt and tgt:src).
  The available index holds only selectable nodes, so the scan window is ZRANGE
  0..#excluded: at most #excluded entries are skipped -> O(log N + k).
  Reservation: running+1 and the node re-scored (or removed when full) in ALL its pools;
  resv[rid] = now + lease, resvnode[rid] = node, njobs:<node> += rid, rid = "<job>|<attempt>".

  Idempotent by (job id, attempt): if rid is already reserved in this cell, the node that
  holds it is returned and nothing changes.

  KEYS[1]  available index of the pair   pool:<src>:<tgt>, or ttspool:<src>:<tgt> with TTS,
                                         or twpool:<a>:<b> (a < b) for two-way
  KEYS[2]  pool sizes                    pairs
  KEYS[3]  reservation leases            resv
  KEYS[4]  reservation owners            resvnode
  KEYS[5]  TTS members of the pair       ttsall:<src>:<tgt> (read only with TTS, on failure),
           or two-way members            twall:<a>:<b> for two-way
  (the chosen node's hash, reservation set and other pools derive from it, same hash tag)
  ARGV[1]  source language      ARGV[2]  target language
  ARGV[3]  job id               ARGV[4]  attempt (integer)
  ARGV[5]  affinity node id ('' = none)
  ARGV[6]  excluded node ids, comma list ('' = none; at most 256)
  ARGV[7]  now (ms)             ARGV[8]  lease (ms): the reservation expires at now + lease;
                                         callers pass the attempt's time plus a grace, so a
                                         recorded job never needs a second call to keep it
  ARGV[9]  '1' when the job needs TTS (KEYS[1] is then the TTS index), 'tw' when it is two-way
           (KEYS[1] is then the two-way index, KEYS[5] its members), else ''
  ARGV[10] '1' = cool nodes only: when the choice would be a hot node, reserve nothing and
           return -20 (the caller tries the other cells for a cool node first), else ''

  Returns  {node id, instance, reused}  reused = 1 when this (job, attempt) was already
                                        reserved (re-send), else 0
           -1 NO_POOL_FOR_LANG_PAIR  no node of this cell serves src:tgt (with TTS: no node
                                     with the 'tts' service does; two-way: no node serves
                                     both directions)
           -2 NO_AVAILABLE_NODE      the pool exists but no free slot (or all excluded)
           -8 BAD_ARGUMENT
           -20 ONLY_HOT_NODES       cool nodes only were asked for and only hot ones are free
]]
--@include "cell-avail"

local MAX_EXCLUDE = 256

local base = tagBase(KEYS[1])
local pair = ARGV[1] .. ':' .. ARGV[2]
local job_id, attempt = ARGV[3], tonumber(ARGV[4])
local affinity = ARGV[5]
local now, lease = tonumber(ARGV[7]), tonumber(ARGV[8])
if not valid_id(job_id) or attempt == nil or now == nil or lease == nil then return -8 end
local rid = job_id .. '|' .. ARGV[4]

local held = redis.call('HGET', KEYS[4], rid)
if held then
  return { held, redis.call('HGET', base .. K.node .. held, 'instance') or '', 1 }
end

local excluded = {}
local n_excluded = 0
local ex_list = split_csv(ARGV[6], MAX_EXCLUDE)
if ex_list == nil then return -8 end
for i = 1, #ex_list do
  if not excluded[ex_list[i]] then
    excluded[ex_list[i]] = true
    n_excluded = n_excluded + 1
  end
end

local pool_key = KEYS[1]
local chosen, hot
-- Scores: load in [0, 1) for cool nodes, load + 1 for hot ones (cell-avail).
local aff_score = nil
if affinity ~= '' and not excluded[affinity] then
  aff_score = tonumber(redis.call('ZSCORE', pool_key, affinity))
end
if aff_score ~= nil and aff_score < 1 then
  chosen = affinity
else
  local window = redis.call('ZRANGE', pool_key, 0, n_excluded, 'WITHSCORES')
  for i = 1, #window, 2 do
    if not excluded[window[i]] then
      chosen = window[i]
      hot = tonumber(window[i + 1]) >= 1
      -- Affinity yields to a cool node only; among hot nodes it keeps the session.
      if aff_score ~= nil and hot then chosen = affinity end
      break
    end
  end
  if chosen == nil and aff_score ~= nil then chosen, hot = affinity, true end
end
if hot and ARGV[10] == '1' then return -20 end
if chosen == nil then
  -- Only on failure: tell "nobody serves the pair here" from "nobody free".
  if ARGV[9] == '1' or ARGV[9] == 'tw' then
    if redis.call('SCARD', KEYS[5]) == 0 then return -1 end
    return -2
  end
  if (tonumber(redis.call('HGET', KEYS[2], pair)) or 0) <= 0 then return -1 end
  return -2
end

local nkey = base .. K.node .. chosen
local f = redis.call('HMGET', nkey, 'running', 'max', 'pools', 'instance', 'state', 'hot', 'ttscap')
local running = (tonumber(f[1]) or 0) + 1
redis.call('HSET', nkey, 'running', running)
set_available(base, chosen, split_csv(f[3]), f[5], running, tonumber(f[2]) or 0, f[6] == '1', f[7] == '1')
redis.call('ZADD', KEYS[3], now + lease, rid)
redis.call('HSET', KEYS[4], rid, chosen)
redis.call('SADD', base .. K.nodeJobs .. chosen, rid)
return { chosen, f[4] or '', 0 }
