--[[
  node-model-lost: the node answered MODEL_NOT_AVAILABLE for a job of src:tgt (protocol
  v1.7): it leaves that one pool (available index, membership, pool size) and the pair is
  recorded in the node's `mlost` list, so no later script puts it back (select-node,
  release-slot, set-draining re-score only the pools in `pools`). It rejoins when a heartbeat
  lists the pair in `models` (node-heartbeat) or when it registers again (register-node).
  The caller debounces and rate-limits (rate-take) before calling.

  Idempotent: a pair already lost (or never served) returns 0 and changes nothing.

  KEYS[1]  node hash    node:<id>
  KEYS[2]  pool sizes   pairs
  (the pool keys derive from the node's cell tag)
  ARGV[1]  node id
  ARGV[2]  epoch the connection registered with
  ARGV[3]  instance id owning the connection
  ARGV[4]  pair "src:tgt"

  Returns  {removed, pools}  removed = 1 when the node left the pool now, else 0;
                             pools = comma list of the pools it is in now
           -7 NODE_OFFLINE  unknown node, offline, or not the current registration
           -8 BAD_ARGUMENT
]]
--@include "cell-pools"

local base = tagBase(KEYS[1])
local node_id, pair = ARGV[1], ARGV[4]
local epoch = tonumber(ARGV[2])
if not valid_id(node_id) or epoch == nil or string.find(pair, '^[%w_%-]+:[%w_%-]+$') == nil then return -8 end

local nkey = KEYS[1]
local cur = redis.call('HMGET', nkey, 'state', 'epoch', 'instance', 'pools', 'mlost')
if cur[1] == false or cur[1] == 'offline' or tonumber(cur[2]) ~= epoch or cur[3] ~= ARGV[3] then
  return -7
end
local pools = split_csv(cur[4])
local keep, found = {}, false
for i = 1, #pools do
  if pools[i] == pair then found = true else keep[#keep + 1] = pools[i] end
end
if not found then return { 0, cur[4] or '' } end
pool_leave(base, node_id, pair)
local lost = split_csv(cur[5])
lost[#lost + 1] = pair
local pools_csv = table.concat(keep, ',')
redis.call('HSET', nkey, 'pools', pools_csv, 'mlost', table.concat(lost, ','))
return { 1, pools_csv }
