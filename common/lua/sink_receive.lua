-- Finds the owner and answer script of a sink for one incoming request and
-- counts the request. A configured sink has a config hash; a sink without
-- one exists when an integration has the same id (it shares the hash tag),
-- so anonymous requests cannot create sinks at will.
-- KEYS: 1 sink config hash, 2 integration hash named like the sink,
--       3 request counter (the sequence position), 4 counters hash
-- ARGV: 1 sink id, 2 TTL (s) of the counters of a sink without config
-- Returns {"ok", owner, config JSON or "", request number, endpoint id or
-- ""} | {"no_sink"}
local owner = redis.call('HGET', KEYS[1], 'integration_id')
local config = ''
local endpoint = ''
-- A sink named like an integration belongs to it: a config that another
-- integration left under the id before the integration was created does
-- not set its responses.
if redis.call('EXISTS', KEYS[2]) == 1 and owner ~= ARGV[1] then
  owner = ARGV[1]
elseif owner then
  config = redis.call('HGET', KEYS[1], 'config') or ''
  endpoint = redis.call('HGET', KEYS[1], 'endpoint_id') or ''
else
  return {'no_sink'}
end
local n = redis.call('INCR', KEYS[3])
redis.call('HINCRBY', KEYS[4], 'requests', 1)
if config == '' then
  -- Nothing deletes the counters of a sink without config, so they expire.
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[2]))
  redis.call('EXPIRE', KEYS[4], tonumber(ARGV[2]))
end
return {'ok', owner, config, n, endpoint}
