-- Reads a sink: its owner, configuration and counters. A sink without a
-- config hash exists when an integration has the same id.
-- KEYS: 1 sink config hash, 2 integration hash named like the sink,
--       3 request counter, 4 counters hash, 5 capture list, 6 stored bytes
-- ARGV: 1 sink id
-- Returns {owner or "", config JSON or "", endpoint id, created_at,
-- updated_at, request counter, captures, stored bytes, {counter, value,
-- ...}}
local c = redis.call('HMGET', KEYS[1], 'integration_id', 'config',
                     'endpoint_id', 'created_at', 'updated_at')
local owner = c[1]
-- A sink named like an integration belongs to it, whatever config another
-- integration left under the id (see sink_receive.lua).
if redis.call('EXISTS', KEYS[2]) == 1 and owner ~= ARGV[1] then
  owner = ARGV[1]
  c = {owner, false, false, false, false}
elseif not owner then
  owner = ''
end
local bytes = '0'
if redis.call('EXISTS', KEYS[5]) == 1 then
  bytes = redis.call('GET', KEYS[6]) or '0'
end
return {owner, c[2] or '', c[3] or '', c[4] or '', c[5] or '',
        redis.call('GET', KEYS[3]) or '0', redis.call('LLEN', KEYS[5]),
        bytes, redis.call('HGETALL', KEYS[4])}
