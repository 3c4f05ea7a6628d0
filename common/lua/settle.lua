-- Acknowledges a work entry that needs no attempt, and, with a reason,
-- ends its delivery as dead (event expired, endpoint deleted or disabled).
-- KEYS: 1 delivery hash, 2 work stream, 3 retry schedule, 4 activity stream
-- ARGV: 1 work entry id, 2 consumer group, 3 reason ("" to only
--       acknowledge), 4 now (RFC 3339), 5 schedule member,
--       6 activity max length, 7 integration id
-- Returns "ok"
-- @include activity

redis.call('XACK', KEYS[2], ARGV[2], ARGV[1])
redis.call('XDEL', KEYS[2], ARGV[1])
if ARGV[3] == '' or redis.call('EXISTS', KEYS[1]) == 0 then
  return 'ok'
end
local current = redis.call('HGET', KEYS[1], 'status')
if current == 'succeeded' or current == 'dead' then
  return 'ok'
end
redis.call('HSET', KEYS[1], 'status', 'dead', 'reason', ARGV[3],
           'next_attempt_at', '', 'updated_at', ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[5])
local d = redis.call('HMGET', KEYS[1], 'id', 'event_id', 'endpoint_id',
                     'attempt_count')
redis.call('SREM', 'hg:{' .. ARGV[7] .. '}:ep:' .. d[3] .. ':pending', d[1])
local record = '{"kind":"delivery","integration_id":' .. cjson.encode(ARGV[7]) ..
  ',"delivery_id":' .. cjson.encode(d[1]) ..
  ',"event_id":' .. cjson.encode(d[2]) ..
  ',"endpoint_id":' .. cjson.encode(d[3]) ..
  ',"status":"dead","reason":' .. cjson.encode(ARGV[3]) .. '}'
hg_activity(KEYS[4], ARGV[7], record, ARGV[6])
return 'ok'
