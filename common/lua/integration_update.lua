-- Updates an integration's settings. The endpoint version is bumped, so
-- gateways re-read settings cached with the endpoint list (such as payload
-- validation) before their next publish.
-- KEYS: 1 integration hash, 2 endpoint version
-- ARGV: 1 updated_at, 2 operational endpoint id to check ("" for none),
--       then field/value pairs (name, operational_endpoint_id,
--       validate_payloads, status_notices)
-- Returns {"ok", fields...} | {"not_found"} | {"no_endpoint"}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_found'}
end
if ARGV[2] ~= '' then
  local id = redis.call('HGET', KEYS[1], 'id')
  if redis.call('EXISTS', 'hg:{' .. id .. '}:ep:' .. ARGV[2]) == 0 then
    return {'no_endpoint'}
  end
end
local fields = {'updated_at', ARGV[1]}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('INCR', KEYS[2])
local out = {'ok'}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do
  out[#out + 1] = all[i]
end
return out
