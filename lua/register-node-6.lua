--[[
  register-node: registers (or re-registers) a compute node in its cell.

  Stores capabilities, state=online, epoch+1, owning instance; joins every directed pool
  asr x tts (src ~= tgt) when the node has BOTH 'asr' and 'nmt' services ('tts' optional);
  leaves pools it no longer offers; keeps existing reservations (a reconnecting node may
  still finish them; running is recomputed from njobs:<id>); puts it into the hb index.
  A re-registration resets 'draining' to 'online'.

  Idempotent under re-send by registration id: when ARGV[3] equals the stored reg_id the
  registration already happened, so the current epoch/pools are returned unchanged.

  KEYS[1]  node hash            node:<id>
  KEYS[2]  node's reservations  njobs:<id>
  KEYS[3]  heartbeat index      hb
  KEYS[4]  cell's node set      nodes
  KEYS[5]  pool sizes           pairs
  KEYS[6]  reservation owners   resvnode
  (pool keys derive from the capabilities and share the cell's hash tag)
  ARGV[1]  node id
  ARGV[2]  instance id (gateway owning the node's socket)
  ARGV[3]  registration id, unique per connection attempt ('' = not idempotent)
  ARGV[4]  now (ms)
  ARGV[5]  max concurrent jobs (integer 1..10000)
  ARGV[6]  services, comma list (asr,nmt,tts)
  ARGV[7]  ASR languages, comma list
  ARGV[8]  TTS (target) languages, comma list
  ARGV[9]  caps: JSON string (hardware, version, platform), stored as is

  Returns  {epoch, pools}  pools = comma list of "src:tgt" joined ('' when none)
           -7 NODE_OFFLINE  re-send of a registration whose connection already went offline
           -8 BAD_ARGUMENT  invalid id, number or list
]]
--@include "cell-caps"
--@include "cell-pools"

local base = tagBase(KEYS[1])
local node_id, instance, reg_id = ARGV[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[4])
if not valid_id(node_id) or instance == '' or now == nil then return -8 end
local max, pools = parse_caps(5)
if max == nil then return -8 end

local nkey = KEYS[1]
local old = redis.call('HMGET', nkey, 'state', 'epoch', 'pools', 'reg_id')
if reg_id ~= '' and old[4] == reg_id then
  if old[1] == 'offline' then return -7 end
  return { tonumber(old[2]), old[3] or '' }
end

sync_pools(base, node_id, split_csv(old[3]), pools)

local epoch = redis.call('HINCRBY', nkey, 'epoch', 1)
local running = redis.call('SCARD', KEYS[2])
local pools_csv = table.concat(pools, ',')
redis.call('HSET', nkey,
  'node_id', node_id, 'state', 'online', 'instance', instance, 'reg_id', reg_id,
  'max', max, 'running', running, 'services', ARGV[6], 'asr', ARGV[7], 'tts', ARGV[8],
  'pools', pools_csv, 'caps', ARGV[9] or '{}', 'last_hb', now, 'registered_at', now)
set_available(base, node_id, pools, 'online', running, max)
redis.call('ZADD', KEYS[3], now, node_id)
redis.call('SADD', KEYS[4], node_id)
return { epoch, pools_csv }
