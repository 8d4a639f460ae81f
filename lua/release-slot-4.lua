--[[
  release-slot: frees the slot a (job, attempt) holds on a node: running-1 and, if the node
  is online (not draining/offline), back into every pool's available index with its new
  load score.

  Idempotent: releasing an already released (or reaped) reservation returns 0.

  KEYS[1]  reservation owners   resvnode
  KEYS[2]  reservation leases   resv
  KEYS[3]  node hash            node:<id>
  KEYS[4]  node's reservations  njobs:<id>
  ARGV[1]  node id expected to hold the reservation
  ARGV[2]  job id     ARGV[3]  attempt

  Returns  1 released | 0 already released
           -3 NODE_MISMATCH  a different node holds this (job, attempt)
]]
--@include "cell-release"

local base = tagBase(KEYS[1])
local node_id = ARGV[1]
local rid = ARGV[2] .. '|' .. ARGV[3]
local held = redis.call('HGET', KEYS[1], rid)
if not held then return 0 end
if held ~= node_id then return -3 end
free_reservation(base, rid, node_id)
return 1
