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
--@include "release-reservation"
return releaseReservation(KEYS, ARGV)
