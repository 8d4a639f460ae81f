--[[
  release-slot-4.lua: frees a (job, attempt)'s slot (header there).
  A function of (KEYS, ARGV) so composite scripts (select-create, complete-release) run the
  same code on their slices of keys and arguments.
]]
--@include "cell-release"
local function releaseReservation(KEYS, ARGV)
  local base = tagBase(KEYS[1])
  local node_id = ARGV[1]
  local rid = ARGV[2] .. '|' .. ARGV[3]
  local held = redis.call('HGET', KEYS[1], rid)
  if not held then return 0 end
  if held ~= node_id then return -3 end
  free_reservation(base, rid, node_id)
  return 1
end
