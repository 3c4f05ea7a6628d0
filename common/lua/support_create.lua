-- Stores a new support token: its record under the token's hash, which
-- expires with the token, and its entry in the index by id.
-- KEYS: 1 hg:support:<sha256>, 2 hg:support:index (hash: id -> sha256)
-- ARGV: 1 id, 2 sha256, 3 expires_ms, then field/value pairs of the record
-- Returns "ok" | "exists"
if redis.call('EXISTS', KEYS[1]) == 1 or
   redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return 'exists'
end
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 'ok'
