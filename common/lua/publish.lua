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
--       test event, 20 n = number of deliveries, 21 tracestate ("" for
--       none), 22 hops (the hookgate deliveries the event came through,
--       "0" for a first publish), then n endpoint ids, then n delivery
--       ids, then n ordering keys (each endpoint's JSON Pointer, "" for
--       none, as of the endpoint version in ARGV[1]); a test event has
--       n = 1, its endpoint
-- Returns {"ok", event id, remaining, reset_ms, policy} |
--   {"duplicate", first event id, remaining, reset_ms, policy} |
--   {"idempotency_conflict", first event id} | {"stale", version} |
--   {"no_integration"} | {"no_endpoint"} (a test event's endpoint does
--   not exist or is disabled) | {"denied", reason} |
--   {"limited", retry_after_ms, which}, where policy names the limit
--   that remaining and reset_ms describe ("key", "integration" or "")
-- @include principal
-- @include activity
-- @include event_index
-- @include delivery

-- The caller is checked before the integration: a missing integration has
-- no principal records, so a caller without a valid credential gets
-- "denied" and cannot learn whether the integration exists.
local now = hg_now_ms()
if ARGV[15] ~= 'admin' then
  local id, why = hg_check_principal(KEYS[8], now, 'publish', ARGV[16])
  if not id then
    return {'denied', why}
  end
end

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'no_integration'}
end

-- The caller chose the endpoints from a cached copy of the endpoint list;
-- the version check makes that choice exact at the moment of the write.
-- It comes before the rate limit, so the caller's retry with a fresh list
-- is not charged twice.
local version = redis.call('GET', KEYS[2]) or '0'
if version ~= ARGV[1] then
  return {'stale', version}
end

local remaining, reset, policy = 0, 0, ''
if ARGV[15] ~= 'admin' then
  local limited
  limited, remaining, reset, policy =
    hg_rate_limit(KEYS[9], KEYS[10], now, tonumber(ARGV[17]),
                  tonumber(ARGV[18]))
  if limited then
    return limited
  end
end

if ARGV[10] == '1' then
  local prior = redis.call('HMGET', KEYS[7], 'event_id', 'body_sha256')
  if prior[1] then
    if prior[2] == ARGV[11] then
      return {'duplicate', prior[1], remaining, math.ceil(reset), policy}
    end
    return {'idempotency_conflict', prior[1]}
  end
end

-- A test event names its endpoint, which is checked here rather than in
-- the caller's cached endpoint list.
local prefix = 'hg:{' .. ARGV[14] .. '}:'
if ARGV[19] == '1' then
  local entry = redis.call('HGET', prefix .. 'endpoints', ARGV[23])
  if not entry or string.sub(entry, 1, 8) ~= 'enabled ' then
    return {'no_endpoint'}
  end
end

local event_id = ARGV[2]
local received_ms = tonumber(ARGV[4])
local retention = tonumber(ARGV[9])
-- Commands get the retention as the caller's string: a Lua number would be
-- formatted again for every command that takes it.
local ttl = ARGV[9]
local integration = ARGV[14]
local test = ARGV[19]
local n = tonumber(ARGV[20])
local delivery_ids = {}
local activity_deliveries = {}
-- Decoded only when an endpoint orders by a value in the payload.
local doc = nil
local function payload_doc()
  if doc == nil then
    local ok, value = pcall(cjson.decode, ARGV[6])
    doc = ok and value or false
  end
  return doc
end

for i = 1, n do
  local endpoint_id = ARGV[22 + i]
  local delivery_id = ARGV[22 + n + i]
  local key = KEYS[11 + i]
  redis.call('HSET', key, 'id', delivery_id, 'event_id', event_id,
             'endpoint_id', endpoint_id, 'status', 'pending',
             'attempt_count', '0', 'retry_index', '0', 'test', test,
             'created_at', ARGV[5], 'created_ms', ARGV[4],
             'updated_at', ARGV[5])
  redis.call('EXPIRE', key, ttl)
  redis.call('ZADD', KEYS[11], '0', delivery_id)
  redis.call('SADD', prefix .. 'ep:' .. endpoint_id .. ':pending', delivery_id)
  -- Members whose delivery expired are dropped with the set once the
  -- endpoint has been idle for the retention.
  redis.call('EXPIRE', prefix .. 'ep:' .. endpoint_id .. ':pending', ttl)
  local pointer = ARGV[22 + 2 * n + i]
  local value = nil
  if pointer ~= '' and payload_doc() then
    value = hg_pointer_value(doc, pointer)
  end
  -- An event without a value at the pointer is delivered unordered.
  if not value or hg_lane_join(integration, prefix .. 'ep:' .. endpoint_id ..
                                 ':lane:' .. redis.sha1hex(value), key,
                               delivery_id, KEYS[5], retention) then
    redis.call('XADD', KEYS[5], '*', 'i', integration, 'd', delivery_id)
  end
  delivery_ids[i] = delivery_id
  activity_deliveries[i] = '{"id":' .. cjson.encode(delivery_id) ..
    ',"endpoint_id":' .. cjson.encode(endpoint_id) .. ',"status":"pending"}'
end
-- The index is trimmed at about one publish in 16 (the event id's last
-- character is random), which keeps it within a few publishes of the
-- retention at a sixteenth of the cost; readers already skip ids whose
-- delivery expired.
if n > 0 and string.byte(event_id, -1) % 16 == 0 then
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
if ARGV[21] ~= '' then
  redis.call('HSET', KEYS[3], 'tracestate', ARGV[21])
end
-- Most events come first hand; only the others store their hop count.
if ARGV[22] ~= '0' then
  redis.call('HSET', KEYS[3], 'hops', ARGV[22])
end
redis.call('EXPIRE', KEYS[3], ttl)
-- The inspector's search finds events by correlation id through this set.
-- It lives as long as the newest of its events, and an integration purge
-- removes it with the integration's other keys.
if ARGV[7] ~= '' then
  local corr_key = prefix .. 'corr:' .. ARGV[7]
  redis.call('SADD', corr_key, event_id)
  redis.call('EXPIRE', corr_key, ttl)
end

local min_id = string.format('%d', received_ms - retention * 1000)
hg_event_index_add(KEYS[4], ARGV[4], event_id, ARGV[3], min_id)

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

return {'ok', event_id, remaining, math.ceil(reset), policy}
