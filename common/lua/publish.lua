-- Stores one published event and its deliveries, and queues the deliveries,
-- in one atomic step: the gateway answers 202 only after this script ran.
--
-- KEYS: 1 integration hash, 2 endpoint version counter, 3 event hash,
--       4 event index stream, 5 work stream, 6 activity stream,
--       7 idempotency hash, 8.. one delivery hash per matched endpoint
-- ARGV: 1 endpoint version the caller matched against, 2 event id,
--       3 type, 4 received_at (ms), 5 received_at (RFC 3339), 6 payload,
--       7 correlation id, 8 traceparent, 9 retention (s),
--       10 "1" when an Idempotency-Key was given, 11 body SHA-256,
--       12 idempotency TTL (s), 13 activity max length, 14 integration id,
--       15 n = number of deliveries, then n endpoint ids, then n delivery ids
-- Returns {"ok", event id} | {"duplicate", first event id} |
--   {"idempotency_conflict", first event id} | {"stale", version} |
--   {"no_integration"}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'no_integration'}
end

if ARGV[10] == '1' then
  local prior = redis.call('HMGET', KEYS[7], 'event_id', 'body_sha256')
  if prior[1] then
    if prior[2] == ARGV[11] then
      return {'duplicate', prior[1]}
    end
    return {'idempotency_conflict', prior[1]}
  end
end

-- The caller chose the endpoints from a cached copy of the endpoint list;
-- the version check makes that choice exact at the moment of the write.
local version = redis.call('GET', KEYS[2]) or '0'
if version ~= ARGV[1] then
  return {'stale', version}
end

local event_id = ARGV[2]
local received_ms = ARGV[4]
local retention = tonumber(ARGV[9])
local integration = ARGV[14]
local n = tonumber(ARGV[15])
local delivery_ids = {}
local activity_deliveries = {}

for i = 1, n do
  local endpoint_id = ARGV[15 + i]
  local delivery_id = ARGV[15 + n + i]
  local key = KEYS[7 + i]
  redis.call('HSET', key, 'id', delivery_id, 'event_id', event_id,
             'endpoint_id', endpoint_id, 'status', 'pending',
             'attempt_count', '0', 'retry_index', '0',
             'created_at', ARGV[5], 'updated_at', ARGV[5])
  redis.call('EXPIRE', key, retention)
  redis.call('XADD', KEYS[5], '*', 'i', integration, 'd', delivery_id)
  delivery_ids[i] = delivery_id
  activity_deliveries[i] = '{"id":' .. cjson.encode(delivery_id) ..
    ',"endpoint_id":' .. cjson.encode(endpoint_id) .. ',"status":"pending"}'
end

redis.call('HSET', KEYS[3], 'id', event_id, 'type', ARGV[3],
           'received_at', ARGV[5], 'received_ms', received_ms,
           'payload', ARGV[6], 'correlation_id', ARGV[7],
           'traceparent', ARGV[8], 'deliveries', table.concat(delivery_ids, ' '))
redis.call('EXPIRE', KEYS[3], retention)

local min_id = tostring(tonumber(received_ms) - retention * 1000)
redis.call('XADD', KEYS[4], 'MINID', '~', min_id, '*', 'e', event_id,
           't', ARGV[3])

if ARGV[10] == '1' then
  redis.call('HSET', KEYS[7], 'event_id', event_id, 'body_sha256', ARGV[11])
  redis.call('EXPIRE', KEYS[7], tonumber(ARGV[12]))
end

local record = '{"kind":"event","integration_id":' .. cjson.encode(integration) ..
  ',"event_id":' .. cjson.encode(event_id) ..
  ',"type":' .. cjson.encode(ARGV[3]) ..
  ',"received_at":' .. cjson.encode(ARGV[5]) ..
  ',"correlation_id":' .. cjson.encode(ARGV[7]) ..
  ',"deliveries":[' .. table.concat(activity_deliveries, ',') .. ']}'
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[13], '*', 'i', integration,
           'j', record)

return {'ok', event_id}
