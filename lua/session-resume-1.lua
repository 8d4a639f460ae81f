--[[
  Re-binds a session to a new instance/connection (resume on any instance) after checking
  the resume token and the tenant, and rotates the resume token: the presented one stops
  working and the caller's fresh one replaces it (a leaked token is good for one resume at
  most). Returns what the new owner needs to continue, including the previous owner so it
  can be told to drop a stale socket.

  KEYS[1]  session hash   session:<sid>
  ARGV[1]  session id   ARGV[2] presented resume token   ARGV[3] new owner instance
  ARGV[4]  new connection id   ARGV[5] now ms   ARGV[6] ttl ms
  ARGV[7]  new resume token (random, chosen by the caller)
  ARGV[8]  tenant of the caller's credential ('' = auth off: any tenant)
  ARGV[9]  grace ms: the token a rotation replaced is still accepted this long after it (the
           client may never have seen the rotation: its connection or Redis died between the
           script and the ack), but the grace is not renewed by using it; the session's next
           accepted utterance (job-create-5) ends it, and a call older (ARGV[5]) than the last
           resume (rebound_at) cannot use it

  Idempotent under re-send: a re-sent call finds its own new token and connection already in
  place and returns the same answer (the previous owner is kept in prev_owner/prev_conn).

  Returns: { old owner, old conn, next_index, last_accepted_seq, tenant, src, tgt, fmt, rate, feat }
  Errors:  -4 NOT_FOUND   -10 RESUME_REJECTED (wrong token, another tenant, or session closed)
]]
local key = KEYS[1]
local s = redis.call('HMGET', key, 'token', 'state', 'owner', 'conn', 'next_index', 'last_accepted_seq',
  'tenant', 'src', 'tgt', 'fmt', 'rate', 'feat', 'prev_owner', 'prev_conn', 'prev_token', 'rotated_at',
  'rebound_at')
if s[1] == false then return -4 end
if s[2] == 'closed' then return -10 end
if ARGV[8] ~= '' and s[7] ~= ARGV[8] then return -10 end
local oldOwner, oldConn = s[3] or '', s[4] or ''
if s[1] == ARGV[7] and s[4] == ARGV[4] then
  -- this very resume, sent again: answer as the first time
  oldOwner, oldConn = s[13] or '', s[14] or ''
elseif s[1] == ARGV[2] then
  redis.call('HSET', key, 'token', ARGV[7], 'owner', ARGV[3], 'conn', ARGV[4], 'updated', ARGV[5],
    'prev_owner', oldOwner, 'prev_conn', oldConn, 'prev_token', ARGV[2], 'rotated_at', ARGV[5],
    'rebound_at', ARGV[5])
elseif s[15] and s[15] ~= '' and s[15] == ARGV[2] and tonumber(ARGV[5]) - (tonumber(s[16]) or 0) <= tonumber(ARGV[9])
  and tonumber(ARGV[5]) >= (tonumber(s[17]) or 0) then
  -- (not older than the last re-bind: a resume command that waited out a Redis outage in a
  -- client library's queue must not take the session back from the resume that followed it)
  -- the replaced token, within its grace: rotate again, keeping the grace's start
  redis.call('HSET', key, 'token', ARGV[7], 'owner', ARGV[3], 'conn', ARGV[4], 'updated', ARGV[5],
    'prev_owner', oldOwner, 'prev_conn', oldConn, 'rebound_at', ARGV[5])
else
  return -10
end
redis.call('PEXPIRE', key, ARGV[6])
return { oldOwner, oldConn, tonumber(s[5]), tonumber(s[6]), s[7], s[8], s[9], s[10], s[11], s[12] }
