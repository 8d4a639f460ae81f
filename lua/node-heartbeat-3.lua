--[[
  node-heartbeat: records a node's liveness and load; re-assigns pools when its
  capabilities changed (ARGV[9] == '1'). (Reconciling the jobs a node lists in its
  heartbeats is per connection: the gateway fails over what it sent and the node dropped.)

  Idempotent: fields are overwritten; last_hb only moves forward (a late re-send of an
  older heartbeat cannot make the node look older).

  KEYS[1]  node hash            node:<id>
  KEYS[2]  heartbeat index      hb
  KEYS[3]  pool sizes           pairs
  ARGV[1]  node id
  ARGV[2]  epoch the connection registered with
  ARGV[3]  instance id owning the connection
  ARGV[4]  now (ms)
  ARGV[5]  running jobs as reported by the node (informational; slots are counted by
           reservations)
  ARGV[6]  cpu load ('' = unknown)
  ARGV[7]  gpu load ('' = unknown)
  ARGV[8]  memory load ('' = unknown)
  ARGV[9]  '1' when ARGV[10..14] carry new capabilities, else '0'
  ARGV[10] max concurrent jobs   ARGV[11] services   ARGV[12] ASR langs
  ARGV[13] TTS langs             ARGV[14] caps JSON
  ARGV[15] readiness (v1.7): 'ready' | 'not_ready' | '' (not reported); see cell-ready
  ARGV[16] '1' when ARGV[17] is the node's `models` list (v1.7), else ''
  ARGV[17] pairs "src:tgt" whose models the node has loaded, comma list (at most 256): a
           pair it lost (node-model-lost, field mlost) and lists here rejoins its pool
  ARGV[18] hot (v1.9): '1' when the heartbeat's resource load is above the gateway's
           threshold, '0' when not, '' = not judged (keeps the stored flag). A change moves
           the node between the cool and hot score bands of its available indexes (cell-avail)

  Returns  {pools, changed}  pools = comma list joined now; changed = 1 if pools changed
                            (new capabilities, or lost pairs that rejoined)
           -7 NODE_OFFLINE  unknown node, offline, or epoch/instance is not the current
                            registration (the gateway asks the node to re-register)
           -8 BAD_ARGUMENT
]]
--@include "cell-caps"
--@include "cell-pools"
--@include "cell-ready"

local base = tagBase(KEYS[1])
local node_id = ARGV[1]
local epoch = tonumber(ARGV[2])
local now = tonumber(ARGV[4])
if not valid_id(node_id) or epoch == nil or now == nil then return -8 end

-- Validate new capabilities before writing anything (a script does not roll back).
local new_caps = ARGV[9] == '1'
local max, pools, tts
if new_caps then
  max, pools, tts = parse_caps(10)
  if max == nil then return -8 end
end

local nkey = KEYS[1]
local models = nil
if ARGV[16] == '1' then
  models = split_csv(ARGV[17], 256)
  if models == nil then return -8 end
end
local cur = redis.call('HMGET', nkey, 'state', 'epoch', 'instance', 'last_hb', 'pools', 'running', 'max', 'mlost',
  'hot', 'ttscap')
if cur[1] == false or cur[1] == 'offline' or tonumber(cur[2]) ~= epoch or cur[3] ~= ARGV[3] then
  return -7
end

-- Hot flag (v1.9): re-scored below only when it changed.
local was_hot = cur[9] == '1'
local hot = was_hot
if ARGV[18] == '1' then hot = true elseif ARGV[18] == '0' then hot = false end
if not new_caps then tts = cur[10] == '1' end

-- One HSET for the hot path (every node heartbeats every few seconds).
local fields = { 'reported_running', tonumber(ARGV[5]) or 0, 'cpu', ARGV[6] or '', 'gpu', ARGV[7] or '', 'mem', ARGV[8] or '' }
if hot ~= was_hot then
  fields[#fields + 1] = 'hot'
  fields[#fields + 1] = hot and '1' or ''
end
if now > (tonumber(cur[4]) or 0) then
  fields[#fields + 1] = 'last_hb'
  fields[#fields + 1] = now
  redis.call('ZADD', KEYS[2], now, node_id)
end
redis.call('HSET', nkey, unpack(fields))

local pools_csv = cur[5] or ''
local changed = 0
if new_caps then
  local new_csv = table.concat(pools, ',')
  if new_csv ~= pools_csv then
    changed = 1
  end
  -- Also for an unchanged pool set: the 'tts' service may have come or gone.
  sync_pools(base, node_id, split_csv(pools_csv), pools, tts)
  redis.call('HSET', nkey, 'max', max, 'services', ARGV[11], 'asr', ARGV[12], 'tts', ARGV[13],
    'pools', new_csv, 'caps', ARGV[14] or '{}', 'ttscap', tts and '1' or '')
  -- New max and/or pool set: re-score in every pool (or leave the index if now full).
  set_available(base, node_id, pools, cur[1], tonumber(cur[6]) or 0, max, hot, tts)
  pools_csv = new_csv
  cur[7] = max
elseif hot ~= was_hot then
  set_available(base, node_id, split_csv(pools_csv), cur[1], tonumber(cur[6]) or 0, tonumber(cur[7]) or 0, hot, tts)
end
-- Lost models reported back (v1.7): those pairs rejoin their pools. Only when something was
-- lost, so the common heartbeat pays one field read.
if models ~= nil and cur[8] and cur[8] ~= '' then
  local listed = {}
  for i = 1, #models do listed[models[i]] = true end
  local lost, still, back = split_csv(cur[8]), {}, {}
  for i = 1, #lost do
    if listed[lost[i]] then back[#back + 1] = lost[i] else still[#still + 1] = lost[i] end
  end
  if #back > 0 then
    local pools = split_csv(pools_csv)
    for i = 1, #back do
      pool_join(base, node_id, back[i], tts)
      pools[#pools + 1] = back[i]
    end
    table.sort(pools)
    pools_csv = table.concat(pools, ',')
    redis.call('HSET', nkey, 'pools', pools_csv, 'mlost', table.concat(still, ','))
    -- All pools, not just `back`: a rejoined direction may complete a two-way pair (cell-avail).
    set_available(base, node_id, pools, cur[1], tonumber(cur[6]) or 0, tonumber(cur[7]) or 0, hot, tts)
    changed = 1
  end
end
local ready = ARGV[15] or ''
if ready == 'ready' or ready == 'not_ready' then
  set_readiness(base, nkey, node_id, cur[1], ready, '', pools_csv, tonumber(cur[6]) or 0, tonumber(cur[7]) or 0,
    hot, tts)
end
return { pools_csv, changed }
