-- Stores the alert rules an integration overrides and returns all of them.
-- KEYS: 1 integration hash, 2 rules hash (hg:{I}:alertrules)
-- ARGV: field and value pairs to store (already checked by the gateway)
-- Returns {"ok", field, value, ...} with every stored override, or
--   {"missing"} when the integration does not exist
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
if #ARGV > 0 then
  redis.call('HSET', KEYS[2], unpack(ARGV))
end
local out = {'ok'}
for _, v in ipairs(redis.call('HGETALL', KEYS[2])) do
  out[#out + 1] = v
end
return out
