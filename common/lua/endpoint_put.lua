-- Creates or updates an endpoint and bumps the endpoint version, so that
-- gateways re-read the endpoint list before their next publish.
-- KEYS: 1 integration hash, 2 endpoint index hash, 3 endpoint version,
--       4 endpoint hash, 5 endpoint list (sorted set, for paging)
-- ARGV: 1 mode: "create", "update" or "ensure" (create, or overwrite an
--       existing endpoint but keep its creation time: sandbox start),
--       2 endpoint id, 3 updated_at, then field/value pairs to set
-- Returns {"ok", endpoint fields...} | {"no_integration"} | {"not_found"}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'no_integration'}
end
local exists = redis.call('EXISTS', KEYS[4]) == 1
local mode = ARGV[1]
if mode == 'update' and not exists then
  return {'not_found'}
end

local was = redis.call('HGET', KEYS[4], 'status')
local fields = {}
for i = 4, #ARGV, 2 do
  local name = ARGV[i]
  local keep = mode == 'ensure' and exists and name == 'created_at'
  if not keep then
    fields[#fields + 1] = name
    fields[#fields + 1] = ARGV[i + 1]
  end
end
fields[#fields + 1] = 'updated_at'
fields[#fields + 1] = ARGV[3]
redis.call('HSET', KEYS[4], unpack(fields))

local e = redis.call('HMGET', KEYS[4], 'status', 'filters')
if e[1] == 'enabled' and was ~= 'enabled' then
  -- A re-enabled endpoint starts with a clean circuit breaker, so failures
  -- from before it was disabled neither hold its deliveries nor disable it
  -- again at once.
  redis.call('DEL', KEYS[4] .. ':health')
end
redis.call('HSET', KEYS[2], ARGV[2], e[1] .. ' ' .. e[2])
redis.call('ZADD', KEYS[5], 0, ARGV[2])
redis.call('INCR', KEYS[3])

local out = {'ok'}
local all = redis.call('HGETALL', KEYS[4])
for i = 1, #all do
  out[#out + 1] = all[i]
end
return out
