--[[
  complete-release: job-complete then release-slot in one step, for a single Redis (standalone
  or Sentinel), where the node cell's keys and the session shard's keys live on the same
  server. The caller releases the node's slot after every completion answer (ok, late, dup,
  and the stale ones: the reservation is garbage either way), so the release always runs,
  whatever the completion answered. One script instead of two per result (issue 14); Redis
  Cluster keeps the two scripts (their keys hash to different slots).

  Idempotent like its parts: a re-send answers 'dup' (with the logged result to deliver again)
  and releases nothing more (release-slot returns 0 for a released reservation).

  KEYS[1]  job hash        KEYS[2]  session hash    KEYS[3]  deadline index
  KEYS[4]  job events      KEYS[5]  state counts    KEYS[6]  result log
  KEYS[7]  reservation owners (resvnode)            KEYS[8]  reservation leases (resv)
  KEYS[9]  node hash       KEYS[10]  node's reservations (njobs)
  ARGV[1]  job id   ARGV[2]  attempt   ARGV[3]  node id   ARGV[4]  now ms
  ARGV[5]  result blob (msgpack)   ARGV[6]  result log max length   ARGV[7]  result log ttl ms
  ARGV[8]  job retention ttl ms
  (keys 1 to 6 and every argument are job-complete's; keys 7 to 10 are release-slot's, and
  the release is for (ARGV[3] node, ARGV[1] job, ARGV[2] attempt))

  Returns: job-complete's { 'ok' | 'late' | 'dup', owner instance, owner connection,
           utterance index, session id, logged result blob ('dup' only) }
  Errors:  job-complete's -4 NOT_FOUND  -5 STALE_ATTEMPT  -3 NODE_MISMATCH  -6 ILLEGAL_TRANSITION
           (the release's own answer is not returned: a reservation held by another node,
           release-slot's -3, is left to that node)
]]
--@include "complete-job"
--@include "release-reservation"

local r = completeJob({ KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] }, ARGV)
releaseReservation({ KEYS[7], KEYS[8], KEYS[9], KEYS[10] }, { ARGV[3], ARGV[1], ARGV[2] })
return r
