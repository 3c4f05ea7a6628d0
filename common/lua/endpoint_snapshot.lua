-- Reads the endpoint index of one integration together with its version,
-- so the gateway can cache the pair and match event types locally.
-- KEYS: 1 endpoint index hash, 2 endpoint version counter
-- Returns {version, id1, entry1, id2, entry2, ...}; an entry is
-- "<status> <filter> <filter> ...".
local out = {redis.call('GET', KEYS[2]) or '0'}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do
  out[#out + 1] = all[i]
end
return out
