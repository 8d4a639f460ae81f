--[[
  The owning connection went away (socket closed, instance draining): clear the owner if it
  is still this connection, so results wait in the log for a resume. With ARGV[3] = 'close'
  the session is closed for good (session_close from the client).

  KEYS[1]  session hash   session:<sid>
  ARGV[1]  session id   ARGV[2] connection id   ARGV[3] 'detach' | 'close'   ARGV[4] now ms
  ARGV[5]  ttl ms (resume window)

  Returns: 1 changed, 0 not the owner any more (someone resumed elsewhere)
]]
local key = KEYS[1]
if redis.call('HGET', key, 'conn') ~= ARGV[2] then return 0 end
if ARGV[3] == 'close' then
  redis.call('HSET', key, 'state', 'closed', 'owner', '', 'conn', '', 'updated', ARGV[4])
else
  redis.call('HSET', key, 'owner', '', 'conn', '', 'updated', ARGV[4])
end
redis.call('PEXPIRE', key, ARGV[5])
return 1
