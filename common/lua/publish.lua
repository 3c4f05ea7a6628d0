-- Checks the caller, applies the rate limits, and stores one published
-- event with its deliveries and their work entries, in one atomic step:
-- the gateway answers 202 only after this script ran.
--
-- KEYS: 1 integration hash, 2 endpoint version counter, 3 event hash,
--       4 event index stream, 5 work stream, 6 activity stream,
--       7 idempotency hash, 8 principal record, 9 principal bucket,
--       10 integration bucket, 11 delivery index (sorted by id, which
--       starts with the event's time), 12.. one delivery hash
--       per matched endpoint
-- ARGV: 1 endpoint version the caller matched against, 2 event id,
--       3 type, 4 received_at (ms), 5 received_at (RFC 3339), 6 payload,
--       7 correlation id, 8 traceparent, 9 retention (s),
--       10 "1" when an Idempotency-Key was given, 11 body SHA-256,
--       12 idempotency TTL (s), 13 activity max length, 14 integration id,
--       15 "admin" or "principal", 16 token scopes ("" for an API key),
--       17 rate per principal, 18 rate per integration, 19 "1" for a
--       test event, 20 n = number of deliveries, then n endpoint ids,
--       then n delivery ids
-- Returns {"ok", event id, remaining, reset_ms} |
--   {"duplicate", first event id, remaining, reset_ms} |
--   {"idempotency_conflict", first event id} | {"stale", version} |
--   {"no_integration"} | {"denied", reason} |
--   {"limited", retry_after_ms, which}
-- @include principal
-- @include activity

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'no_integration'}
end

local now = hg_now_ms()
local remaining, reset = 0, 0
if ARGV[15] ~= 'admin' then
  local id, why = hg_check_principal(KEYS[8], now, 'publish', ARGV[16])
  if not id then
    return {'denied', why}
  end
  local limited
  limited, remaining, reset = hg_rate_limit(KEYS[9], KEYS[10], now,
                                            tonumber(ARGV[17]),
                                            tonumber(ARGV[18]))
  if limited then
    return limited
  end
end

if ARGV[10] == '1' then
  local prior = redis.call('HMGET', KEYS[7], 'event_id', 'body_sha256')
  if prior[1] then
    if prior[2] == ARGV[11] then
      return {'duplicate', prior[1], remaining, math.ceil(reset)}
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
local received_ms = tonumber(ARGV[4])
local retention = tonumber(ARGV[9])
local integration = ARGV[14]
local test = ARGV[19]
local n = tonumber(ARGV[20])
local prefix = 'hg:{' .. integration .. '}:'
local delivery_ids = {}
local activity_deliveries = {}

for i = 1, n do
  local endpoint_id = ARGV[20 + i]
  local delivery_id = ARGV[20 + n + i]
  local key = KEYS[11 + i]
  redis.call('HSET', key, 'id', delivery_id, 'event_id', event_id,
             'endpoint_id', endpoint_id, 'status', 'pending',
             'attempt_count', '0', 'retry_index', '0', 'test', test,
             'created_at', ARGV[5], 'created_ms', ARGV[4],
             'updated_at', ARGV[5])
  redis.call('EXPIRE', key, retention)
  redis.call('ZADD', KEYS[11], 0, delivery_id)
  redis.call('SADD', prefix .. 'ep:' .. endpoint_id .. ':pending', delivery_id)
  redis.call('XADD', KEYS[5], '*', 'i', integration, 'd', delivery_id)
  delivery_ids[i] = delivery_id
  activity_deliveries[i] = '{"id":' .. cjson.encode(delivery_id) ..
    ',"endpoint_id":' .. cjson.encode(endpoint_id) .. ',"status":"pending"}'
end
if n > 0 then
  -- Ids start with the time in Crockford base32 (as in ULIDs), so the ids
  -- older than the retention sort before this bound.
  local alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
  local ms = received_ms - retention * 1000
  local digits = {}
  for i = 10, 1, -1 do
    local d = ms % 32
    digits[i] = string.sub(alphabet, d + 1, d + 1)
    ms = math.floor(ms / 32)
  end
  redis.call('ZREMRANGEBYLEX', KEYS[11], '-',
             '(dlv_' .. table.concat(digits))
end

redis.call('HSET', KEYS[3], 'id', event_id, 'type', ARGV[3],
           'received_at', ARGV[5], 'received_ms', ARGV[4],
           'payload', ARGV[6], 'correlation_id', ARGV[7],
           'traceparent', ARGV[8], 'test', test,
           'deliveries', table.concat(delivery_ids, ' '))
redis.call('EXPIRE', KEYS[3], retention)

local min_id = string.format('%d', received_ms - retention * 1000)
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
  ',"test":' .. (test == '1' and 'true' or 'false') ..
  ',"deliveries":[' .. table.concat(activity_deliveries, ',') .. ']}'
hg_activity(KEYS[6], integration, record, ARGV[13])

return {'ok', event_id, remaining, math.ceil(reset)}
