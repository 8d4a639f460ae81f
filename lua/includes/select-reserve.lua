--[[
  select-node-5.lua: picks and reserves a node (header there documents KEYS/ARGV/returns).
  A function of (KEYS, ARGV) so composite scripts (select-create, complete-release) run the
  same code on their slices of keys and arguments.
]]
--@include "cell-avail"
local function selectReserve(KEYS, ARGV)
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
end
