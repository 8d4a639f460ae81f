-- cell-caps: validating capabilities and deriving a node's directed pools.
--@include "cell-util"

local MAX_LIST = 64     -- entries in one language / service list
local MAX_POOLS = 256   -- directed pools one node may join
local MAX_SLOTS = 10000 -- max_concurrent_jobs of one node (bounds njobs:<id>)

-- A language code or service name: letters, digits, '_' and '-' (no ',', ':', '|').
local function parse_tokens(s)
  local list = split_csv(s, MAX_LIST)
  if list == nil then return nil end
  for i = 1, #list do
    local t = list[i]
    if #t == 0 or #t > 32 or string.find(t, '^[%w_%-]+$') == nil then return nil end
  end
  return list
end

local function valid_max(max)
  return max ~= nil and max >= 1 and max <= MAX_SLOTS and max == math.floor(max)
end

-- Directed pools a node joins. Gate: a node serves a pair only with BOTH 'asr' and 'nmt'
-- services; 'tts' is optional (speech output) and the tts language list is the node's set
-- of target languages either way. Pools = asr x tts with src ~= tgt, sorted, no duplicates.
-- Returns nil when there would be more than MAX_POOLS.
local function compute_pools(services, asr, tts)
  local has = {}
  for i = 1, #services do has[services[i]] = true end
  local pools = {}
  if not (has['asr'] and has['nmt']) then return pools end
  local seen = {}
  for i = 1, #asr do
    for j = 1, #tts do
      local src, tgt = asr[i], tts[j]
      if src ~= tgt then
        local pair = src .. ':' .. tgt
        if not seen[pair] then
          seen[pair] = true
          pools[#pools + 1] = pair
        end
      end
    end
  end
  if #pools > MAX_POOLS then return nil end
  table.sort(pools)
  return pools
end

-- Parses and validates ARGV[i .. i+3] = max, services, asr, tts.
-- Returns max, pools, tts (true: the node has the 'tts' service, so it also joins the TTS
-- index of each of its pools, v1.9) or nil when invalid.
local function parse_caps(i)
  local max = tonumber(ARGV[i])
  if not valid_max(max) then return nil end
  local services, asr, tts = parse_tokens(ARGV[i + 1]), parse_tokens(ARGV[i + 2]), parse_tokens(ARGV[i + 3])
  if services == nil or asr == nil or tts == nil then return nil end
  local pools = compute_pools(services, asr, tts)
  if pools == nil then return nil end
  local tts = false
  for j = 1, #services do
    if services[j] == 'tts' then tts = true end
  end
  return max, pools, tts
end
