-- Creates an API key or an OAuth client of an integration: the record
-- that authorize.lua checks, and its entry in the integration's list.
-- KEYS: 1 integration hash, 2 the integration's list (hash: id -> hash or
--       id -> "1"), 3 record
-- ARGV: 1 id, 2 list value, then field/value pairs of the record
-- Returns "ok" | "no_integration"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'no_integration'
end
local fields = {}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[3], unpack(fields))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 'ok'
