--[[
  Opens, or re-binds to the calling connection, a room lane: the session record that carries a
  speaker's fan-out jobs into one listener language (lane id "<speaker sid>:<lang>"). Its jobs
  are ordinary jobs (job-create-5 checks owner/conn like a session's), its result log is the
  room result log of that language, replayed to listeners by index. A lane is never resumable
  (no token, state 'lane'); it lives as long as its speaker keeps using it (job-create renews
  the TTL).

  KEYS[1]  lane session hash   session:<speaker sid>:<lang>
  ARGV[1]  lane id   ARGV[2] tenant   ARGV[3] src   ARGV[4] tgt (the listener language)
  ARGV[5]  audio format   ARGV[6] sample rate   ARGV[7] features JSON
  ARGV[8]  owner instance   ARGV[9] owner connection id   ARGV[10] now ms   ARGV[11] ttl ms

  Returns: 'created' | 'rebound'
]]
local key = KEYS[1]
local status = 'rebound'
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'sid', ARGV[1], 'tenant', ARGV[2], 'src', ARGV[3], 'tgt', ARGV[4],
    'fmt', ARGV[5], 'rate', ARGV[6], 'feat', ARGV[7], 'token', '', 'next_index', 0,
    'last_accepted_seq', -1, 'last_node', '', 'state', 'lane', 'created', ARGV[10])
  status = 'created'
end
redis.call('HSET', key, 'owner', ARGV[8], 'conn', ARGV[9], 'updated', ARGV[10])
redis.call('PEXPIRE', key, ARGV[11])
return status
