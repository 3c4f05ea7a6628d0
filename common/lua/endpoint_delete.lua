-- Deletes an endpoint in batches: the first call removes it from the
-- endpoint list (so no new delivery is created for it), and every call ends
-- up to ARGV[3] of its unfinished deliveries as dead with the reason
-- endpoint_deleted. The caller repeats until nothing remains.
-- KEYS: 1 endpoint hash, 2 endpoint index hash, 3 endpoint version,
--       4 endpoint list, 5 the endpoint's unfinished deliveries,
--       6 activity stream
-- ARGV: 1 integration id, 2 now (RFC 3339), 3 batch size,
--       4 activity max length, 5 endpoint id
-- Returns {ended in this call, remaining} | {"not_found"}
-- @include activity

if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[1])
  redis.call('HDEL', KEYS[2], ARGV[5])
  redis.call('ZREM', KEYS[4], ARGV[5])
  redis.call('INCR', KEYS[3])
  -- Its health and flow-control state. Its ordering lanes go with the
  -- deliveries in them, below.
  local ep = 'hg:{' .. ARGV[1] .. '}:ep:' .. ARGV[5]
  redis.call('DEL', ep .. ':health', ep .. ':leases', ep .. ':rl',
             ep .. ':waiting')
  -- An operational endpoint that no longer exists would swallow alert and
  -- status notices, while the integration still named it.
  local integration = 'hg:{' .. ARGV[1] .. '}:integration'
  if redis.call('HGET', integration, 'operational_endpoint_id') == ARGV[5] then
    redis.call('HSET', integration, 'operational_endpoint_id', '',
               'updated_at', ARGV[2])
  end
elseif redis.call('SCARD', KEYS[5]) == 0 then
  return {'not_found'}
end

local prefix = 'hg:{' .. ARGV[1] .. '}:dlv:'
local batch = redis.call('SPOP', KEYS[5], tonumber(ARGV[3]))
local ended = 0
for _, delivery_id in ipairs(batch) do
  local key = prefix .. delivery_id
  local d = redis.call('HMGET', key, 'status', 'event_id', 'lane')
  local status, event_id, lane = d[1], d[2], d[3]
  if status and status ~= 'succeeded' and status ~= 'dead' then
    redis.call('HSET', key, 'status', 'dead', 'reason', 'endpoint_deleted',
               'next_attempt_at', '', 'updated_at', ARGV[2])
    -- Every delivery of a lane of this endpoint ends here, so the lane
    -- goes, and the delivery no longer reads as ordered.
    if lane and lane ~= '' then
      redis.call('DEL', lane)
      redis.call('HSET', key, 'lane', '')
    end
    ended = ended + 1
    hg_activity(KEYS[6], ARGV[1], '{"kind":"delivery","integration_id":' ..
                cjson.encode(ARGV[1]) .. ',"delivery_id":' ..
                cjson.encode(delivery_id) .. ',"event_id":' ..
                cjson.encode(event_id or '') .. ',"endpoint_id":' ..
                cjson.encode(ARGV[5]) ..
                ',"status":"dead","reason":"endpoint_deleted"}', ARGV[4])
  end
end
return {ended, redis.call('SCARD', KEYS[5])}
