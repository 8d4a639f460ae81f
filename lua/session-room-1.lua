--[[
  Records (or clears) the meeting room a session is in, on its session record, so a resume on
  any instance restores the membership before the ack (its next utterance is fanned out again).
  Only an existing session: an expired one must not come back without its TTL.

  KEYS[1]  session hash   session:<sid>
  ARGV[1]  room blob (JSON: room id, display name, listen language) or '' to clear

  Returns: 1 recorded | 0 no such session
]]
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 0 end
if ARGV[1] == '' then
  redis.call('HDEL', key, 'room')
else
  redis.call('HSET', key, 'room', ARGV[1])
end
return 1
