--[[
  forget-nodes: bounded sweep step over one cell's node list that deletes the records of nodes
  that have been offline for longer than the forget time. An offline node already left its
  pools, the heartbeat index and its reservations (node-offline); what remains is its hash
  (capabilities, hardware blob) and its entry in the cell's node list. Without this sweep,
  registrations with fresh ids would leave both behind forever.

  A node that registers again later starts over (epoch 1): its old connections are long gone
  (an offline node's heartbeat is refused, so a connection that survived re-registered).
  Defensive: pool/heartbeat/reservation entries of a forgotten node are cleared too (no-ops
  normally), and list entries without a hash are dropped.

  Idempotent: a forgotten node is gone; a second call finds nothing to do.

  KEYS[1]  the cell's node list set ("<cell tag base>nodes"); node keys are derived from the
           same tag base and share its hash slot
  ARGV[1]  SSCAN cursor ('0' to start)
  ARGV[2]  now (ms)
  ARGV[3]  forget time (ms): offline nodes with offline_at <= now - forget time are deleted
  ARGV[4]  SSCAN COUNT hint (1..1000): bounds the work of one call

  Returns  {next cursor, {node id, ...}}  next cursor '0' when the scan is complete; the ids
           forgotten by this call
           -8 BAD_ARGUMENT
]]
--@include "cell-pools"

local nodes_key = KEYS[1]
local base = string.sub(nodes_key, 1, #nodes_key - #K.nodes)
local now, forget, count = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if string.sub(nodes_key, -#K.nodes) ~= K.nodes or now == nil or forget == nil or forget < 0
  or count == nil or count < 1 or count > 1000 then
  return -8
end

local scan = redis.call('SSCAN', nodes_key, ARGV[1], 'COUNT', count)
local forgotten = {}
local ids = scan[2]
for i = 1, #ids do
  local id = ids[i]
  local nkey = base .. K.node .. id
  local h = redis.call('HMGET', nkey, 'state', 'offline_at', 'pools')
  if h[1] == false then
    redis.call('SREM', nodes_key, id)
  elseif h[1] == 'offline' and (tonumber(h[2]) or 0) <= now - forget then
    local pools = split_csv(h[3])
    for p = 1, #pools do pool_leave(base, id, pools[p]) end
    redis.call('ZREM', base .. K.hb, id)
    redis.call('DEL', nkey, base .. K.nodeJobs .. id)
    redis.call('SREM', nodes_key, id)
    forgotten[#forgotten + 1] = id
  end
end
return { scan[1], forgotten }
