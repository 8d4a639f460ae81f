-- cell-common: parsing and validation helpers shared by the node-cell scripts.
-- Loops here are bounded by the length of their ARGV input and by the caps below.

-- Hard caps (a request beyond them is BAD_ARGUMENT, so every loop has a known bound).
local MAX_LIST = 64        -- entries in one language / service list
local MAX_POOLS = 256      -- directed pools one node may join
local MAX_EXCLUDE = 256    -- nodes excluded from one selection
local MAX_SLOTS = 10000    -- max_concurrent_jobs of one node (bounds njobs:<id>)

-- Splits a comma list into an array; '' -> {}. Returns nil when it has more than `cap` items.
local function split_csv(s, cap)
  local out = {}
  if s == nil or s == false or s == '' then return out end
  for item in string.gmatch(s, '[^,]+') do
    out[#out + 1] = item
    if cap and #out > cap then return nil end
  end
  return out
end

-- A language code or service name: letters, digits, '_' and '-' only (no ',', ':', '|').
local function valid_token(s)
  return type(s) == 'string' and #s > 0 and #s <= 32 and string.find(s, '^[%w_%-]+$') ~= nil
end

-- A node or job id: no ',' (lists) and no '|' (reservation ids); bounded length.
local function valid_id(s)
  return type(s) == 'string' and #s > 0 and #s <= 128 and string.find(s, '[,|%s]') == nil
end

local function parse_tokens(s)
  local list = split_csv(s, MAX_LIST)
  if list == nil then return nil end
  for i = 1, #list do
    if not valid_token(list[i]) then return nil end
  end
  return list
end

-- Directed pools a node joins. Gate: a node serves a pair only with BOTH 'asr' and 'nmt'
-- services; 'tts' is optional (speech output), the tts language list is the node's set of
-- target languages either way. Pools = asr x tts with src ~= tgt, sorted, no duplicates.
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
  table.sort(pools)
  if #pools > MAX_POOLS then return nil end
  return pools
end
