-- Reads the endpoint index of one integration with its version and the
-- integration's publish settings, so the gateway can cache them and match
-- event types locally.
-- KEYS: 1 endpoint index hash, 2 endpoint version counter,
--       3 integration hash
-- Returns {version, validate_payloads ("1" or ""), id1, entry1, ordering
-- key1, ...}; an entry is "<status> <filter> <filter> ...", and the
-- ordering key is the endpoint's JSON Pointer ("" for none). Every change
-- to an endpoint bumps the version, so publish.lua may use the cached
-- ordering key once the version matched.
local out = {redis.call('GET', KEYS[2]) or '0',
             redis.call('HGET', KEYS[3], 'validate_payloads') or ''}
local prefix = string.sub(KEYS[1], 1, -#'endpoints' - 1)
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  out[#out + 1] = all[i]
  out[#out + 1] = all[i + 1]
  out[#out + 1] = redis.call('HGET', prefix .. 'ep:' .. all[i],
                             'ordering_key') or ''
end
return out
