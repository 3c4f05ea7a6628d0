-- Deletes a sink's config, counters and captures, if its owner is still
-- the one the caller's permission was checked against. A sink named like
-- an integration keeps existing without config.
-- KEYS: 1 sink config hash, 2 sink index hash, 3 request counter,
--       4 counters hash, 5 capture list, 6 stored bytes,
--       7 integration hash named like the sink
-- ARGV: 1 sink id, 2 expected owner
-- Returns "ok" | "conflict"
local owner = redis.call('HGET', KEYS[1], 'integration_id')
-- A sink named like an integration belongs to it (see sink_receive.lua).
if redis.call('EXISTS', KEYS[7]) == 1 then
  owner = ARGV[1]
end
if owner ~= ARGV[2] then
  return 'conflict'
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('HDEL', KEYS[2], ARGV[1])
return 'ok'
