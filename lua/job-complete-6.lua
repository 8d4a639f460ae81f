--[[
  A node's successful result: CAS (live state, attempt, node) -> completed; the result is
  appended to the session's result log unless the index already has an outcome (a gap was
  declared missing first: the result is then 'late' and not delivered). Records the node as
  the session's affinity node.

  Idempotent including the follow-up (release the slot, deliver): a re-sent completion
  answers 'dup' with the logged result when it is the winner of its index, so the caller
  delivers it again (the session's orderer drops an index it already has).

  KEYS[1]  job hash       job:<jobId>
  KEYS[2]  session hash   session:<sid>
  KEYS[3]  deadline index deadlines
  KEYS[4]  job events     events
  KEYS[5]  state counts   jobcounts
  KEYS[6]  result log     results:<sid>
  ARGV[1]  job id   ARGV[2] attempt   ARGV[3] node id   ARGV[4] now ms
  ARGV[5]  result blob (msgpack)   ARGV[6] result log max length   ARGV[7] result log ttl ms
  ARGV[8]  job retention ttl ms (after a terminal state)

  Returns: { 'ok' | 'late' | 'dup', owner instance, owner connection, utterance index, session id,
             logged result blob to deliver ('dup' only; '' when a missing marker won) }
  Errors:  -4 NOT_FOUND  -5 STALE_ATTEMPT  -3 NODE_MISMATCH  -6 ILLEGAL_TRANSITION
]]
--@include "complete-job"
return completeJob(KEYS, ARGV)
