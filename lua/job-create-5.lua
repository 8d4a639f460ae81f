--[[
  Creates the job for one finalized utterance, idempotent on (session, utterance index):
  the job id is "<sid>.<index>", so a re-sent or repeated create returns the existing job.
  When a node was already selected (a node id is given) the job is dispatched to it in the
  same step (created -> dispatched, attempt 1), saving a round trip on the hot path.
  Also advances the session's next_index / last_accepted_seq (used by resume), and ends the
  grace of the resume token the last rotation replaced (session-resume-1): the owner accepted
  audio, so its client has the ack with the new token.

  Follow-ups (the caller's, after this script): send the assignment, or hand a job without a
  node to the failover queue. Both are made safe against the caller dying first: the job's
  entry in the deadline index is due after a short check (ARGV[21] for a dispatched job, which
  the node's job_accepted moves on to the attempt deadline; ARGV[22] for a waiting one), so the
  timeout worker re-sends the assignment or re-dispatches. A re-sent create answers 'exists'
  with what the caller needs to do its follow-up again (state, attempt, node).

  KEYS[1]  session hash   session:<sid>
  KEYS[2]  job hash       job:<jobId>
  KEYS[3]  deadline index deadlines
  KEYS[4]  job events     events
  KEYS[5]  state counts   jobcounts
  ARGV[1]  job id            ARGV[2]  session id       ARGV[3]  utterance index
  ARGV[4]  tenant            ARGV[5]  src lang         ARGV[6]  tgt lang
  ARGV[7]  audio format      ARGV[8]  sample rate      ARGV[9]  features (JSON)
  ARGV[10] audio (bytes)     ARGV[11] last chunk seq   ARGV[12] finalize reason
  ARGV[13] now ms            ARGV[14] overall deadline ms (end of all attempts)
  ARGV[15] owner instance    ARGV[16] owner connection id
  ARGV[17] node id or ''     ARGV[18] node's instance  ARGV[19] attempt deadline ms
  ARGV[20] session ttl ms
  ARGV[21] assignment check ms   ARGV[22] waiting check ms
  ARGV[23] context (JSON, protocol v1.8 job_assign.context) or '' for none

  Returns: { 'created' | 'exists', state, attempt, node }
  Errors:  -4 NOT_FOUND (no such session)  -11 SESSION_MOVED (caller no longer owns it)
]]
--@include "create-job"
return createJob(KEYS, ARGV)
