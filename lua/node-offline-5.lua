--[[
  node-offline: takes a node offline (its connection closed, or forced): leaves every pool
  and the available/heartbeat indexes, state=offline, drops all its reservations and
  returns them for failover.

  Guarded by the registration epoch: an old socket closing after the node re-registered
  (new epoch, maybe on another instance) must not take the new registration down.
  Idempotent: a node already offline (or unknown) returns an empty list.

  KEYS[1]  node hash            node:<id>
  KEYS[2]  node's reservations  njobs:<id>
  KEYS[3]  heartbeat index      hb
  KEYS[4]  pool sizes           pairs
  KEYS[5]  reservation owners   resvnode
  ARGV[1]  node id
  ARGV[2]  epoch of the closing registration ('' = force, any epoch)
  ARGV[3]  now (ms), stored as offline_at

  Returns  {"<job>|<attempt>", ...}  reservations the node held (sorted; may be empty)
           -3 NODE_MISMATCH  epoch given and not the current one
           -8 BAD_ARGUMENT
]]
--@include "cell-offline"

local base = tagBase(KEYS[1])
local node_id = ARGV[1]
local now = tonumber(ARGV[3])
if now == nil or (ARGV[2] ~= '' and tonumber(ARGV[2]) == nil) then return -8 end
local cur = redis.call('HMGET', KEYS[1], 'state', 'epoch')
if cur[1] == false then return {} end
if ARGV[2] ~= '' and tonumber(cur[2]) ~= tonumber(ARGV[2]) then return -3 end
if cur[1] == 'offline' then return {} end
return node_go_offline(base, node_id, now)
