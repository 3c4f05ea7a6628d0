-- Reads one delivery with all its attempts.
-- KEYS: 1 delivery hash, 2 attempt list
-- Returns {} when the delivery does not exist, else {fields, {attempt JSON}}
local d = redis.call('HGETALL', KEYS[1])
if #d == 0 then
  return {}
end
return {d, redis.call('LRANGE', KEYS[2], 0, -1)}
