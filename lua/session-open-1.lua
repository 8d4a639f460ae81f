--[[
  Creates a session record owned by the calling instance/connection. Idempotent on the
  session id (a re-sent create returns 'exists' without changing anything).

  KEYS[1]  session hash   session:<sid>
  ARGV[1]  session id   ARGV[2] tenant   ARGV[3] src   ARGV[4] tgt   ARGV[5] audio format
  ARGV[6]  sample rate  ARGV[7] features JSON   ARGV[8] owner instance   ARGV[9] connection id
  ARGV[10] resume token   ARGV[11] now ms   ARGV[12] ttl ms

  Returns: 'created' | 'exists'
]]
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then return 'exists' end
redis.call('HSET', key, 'sid', ARGV[1], 'tenant', ARGV[2], 'src', ARGV[3], 'tgt', ARGV[4],
  'fmt', ARGV[5], 'rate', ARGV[6], 'feat', ARGV[7], 'owner', ARGV[8], 'conn', ARGV[9],
  'token', ARGV[10], 'next_index', 0, 'last_accepted_seq', -1, 'last_node', '',
  'state', 'open', 'created', ARGV[11], 'updated', ARGV[11])
redis.call('PEXPIRE', key, ARGV[12])
return 'created'
