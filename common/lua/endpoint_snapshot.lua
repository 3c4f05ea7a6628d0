-- Reads the endpoint index of one integration with its version and the
-- integration's publish settings, so the gateway can cache them and match
-- event types locally.
-- KEYS: 1 endpoint index hash, 2 endpoint version counter,
--       3 integration hash
-- Returns {version, validate_payloads ("1" or ""), id1, entry1, ...}; an
-- entry is "<status> <filter> <filter> ...".
local out = {redis.call('GET', KEYS[2]) or '0',
             redis.call('HGET', KEYS[3], 'validate_payloads') or ''}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do
  out[#out + 1] = all[i]
end
return out
