-- Queues one status notice (incident.* or maintenance.*) to the
-- operational endpoint of each integration of a batch that subscribed
-- with status_notices. The event and its delivery are stored like the
-- endpoint.disabled event of lib/endpoint.lua, so the worker sends them
-- like any other delivery. The caller sends the integrations in batches,
-- so one call never runs long.
-- NOTE: a batch touches keys of several integrations, which a single Redis
-- primary allows; on Redis Cluster each integration would need its own
-- call.
-- KEYS: none (the keys are built from the integration ids)
-- ARGV: 1 event type, 2 data (JSON object text), 3 now_ms, 4 now
--       (RFC 3339), 5 retention (s), then triples: integration id, its
--       work stream key, a new event id
-- Returns the number of notices queued
-- @include event_index
local event_type, data = ARGV[1], ARGV[2]
local now_ms, now_iso, retention = ARGV[3], ARGV[4], tonumber(ARGV[5])
local queued = 0
for i = 6, #ARGV - 2, 3 do
  local integration, work_key, event_id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local prefix = 'hg:{' .. integration .. '}:'
  local s = redis.call('HMGET', prefix .. 'integration', 'status_notices',
                       'operational_endpoint_id')
  local target = s[2] or ''
  if s[1] == '1' and target ~= '' and
     redis.call('HGET', prefix .. 'ep:' .. target, 'status') == 'enabled' then
    local payload = '{"type":' .. cjson.encode(event_type) .. ',"id":' ..
      cjson.encode(event_id) .. ',"created_at":' .. cjson.encode(now_iso) ..
      ',"data":' .. data .. '}'
    local delivery_id = 'dlv_' .. string.sub(event_id, 5) .. '_0'
    local event_key = prefix .. 'evt:' .. event_id
    local delivery_key = prefix .. 'dlv:' .. delivery_id
    redis.call('HSET', event_key, 'id', event_id, 'type', event_type,
               'received_at', now_iso, 'received_ms', now_ms,
               'payload', payload, 'correlation_id', '', 'traceparent', '',
               'test', '0', 'operational', '1', 'deliveries', delivery_id)
    redis.call('EXPIRE', event_key, retention)
    redis.call('HSET', delivery_key, 'id', delivery_id,
               'event_id', event_id, 'endpoint_id', target,
               'status', 'pending', 'attempt_count', '0', 'retry_index', '0',
               'test', '0', 'created_at', now_iso, 'created_ms', now_ms,
               'updated_at', now_iso)
    redis.call('EXPIRE', delivery_key, retention)
    redis.call('ZADD', prefix .. 'dlvidx', 0, delivery_id)
    redis.call('SADD', prefix .. 'ep:' .. target .. ':pending', delivery_id)
    hg_event_index_add(prefix .. 'events', now_ms, event_id, event_type)
    redis.call('XADD', work_key, '*', 'i', integration, 'd', delivery_id)
    queued = queued + 1
  end
end
return queued
