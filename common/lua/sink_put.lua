-- Sets the answer script of a sink, creating the sink. The caller read the
-- owner before it checked permissions; the owner is checked again here,
-- so a sink taken meanwhile by another integration answers "conflict".
-- Setting a script starts its sequence again; the counters are kept.
-- KEYS: 1 sink config hash, 2 sink index hash (sink id -> owner),
--       3 request counter, 4 owner integration hash,
--       5 integration hash named like the sink
-- ARGV: 1 sink id, 2 owner, 3 config JSON, 4 now (RFC 3339),
--       5 endpoint id or ""
-- Returns {"ok", created_at, "1" when created} | {"no_integration"} |
-- {"no_endpoint"} | {"conflict", owner}
if redis.call('EXISTS', KEYS[4]) == 0 then
  return {'no_integration'}
end
-- The endpoint whose secret checks the captures must be the owner's: the
-- key is named from the owner's hash tag, like KEYS[4].
if ARGV[5] ~= '' and
   redis.call('EXISTS', 'hg:{' .. ARGV[2] .. '}:ep:' .. ARGV[5]) == 0 then
  return {'no_endpoint'}
end
local existing = redis.call('HGET', KEYS[1], 'integration_id')
-- A sink named like an integration belongs to it (see sink_receive.lua).
if redis.call('EXISTS', KEYS[5]) == 1 then
  existing = ARGV[1]
end
if existing and existing ~= ARGV[2] then
  return {'conflict', existing}
end
local created = redis.call('HGET', KEYS[1], 'created_at')
local is_new = not created
if is_new then
  created = ARGV[4]
end
redis.call('HSET', KEYS[1], 'integration_id', ARGV[2], 'config', ARGV[3],
           'endpoint_id', ARGV[5], 'created_at', created,
           'updated_at', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('DEL', KEYS[3])
return {'ok', created, is_new and '1' or '0'}
