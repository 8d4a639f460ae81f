--[[
  Re-binds a session to a new instance/connection (resume on any instance) after checking
  the resume token. Returns what the new owner needs to continue, including the previous
  owner so it can be told to drop a stale socket.

  KEYS[1]  session hash   session:<sid>
  ARGV[1]  session id   ARGV[2] resume token   ARGV[3] new owner instance
  ARGV[4]  new connection id   ARGV[5] now ms   ARGV[6] ttl ms

  Returns: { old owner, old conn, next_index, last_accepted_seq, tenant, src, tgt, fmt, rate, feat }
  Errors:  -4 NOT_FOUND   -10 RESUME_REJECTED (wrong token or session closed)
]]
local key = KEYS[1]
local s = redis.call('HMGET', key, 'token', 'state', 'owner', 'conn', 'next_index', 'last_accepted_seq',
  'tenant', 'src', 'tgt', 'fmt', 'rate', 'feat')
if s[1] == false then return -4 end
if s[1] ~= ARGV[2] or s[2] == 'closed' then return -10 end
redis.call('HSET', key, 'owner', ARGV[3], 'conn', ARGV[4], 'updated', ARGV[5])
redis.call('PEXPIRE', key, ARGV[6])
return { s[3], s[4], tonumber(s[5]), tonumber(s[6]), s[7], s[8], s[9], s[10], s[11], s[12] }
