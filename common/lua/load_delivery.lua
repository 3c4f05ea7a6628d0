-- Reads what the dispatcher needs to send one delivery: the delivery, its
-- event and its endpoint. The event and endpoint keys are derived here from
-- the delivery; they carry the same hash tag as KEYS[1], so the script stays
-- within one Redis Cluster slot.
-- KEYS: 1 delivery hash
-- ARGV: 1 integration id
-- Returns {"missing"} or {"ok", status, event id, endpoint id,
--   attempt count, retry index, payload|nil, type, traceparent,
--   url|nil, secret, endpoint status, previous secret,
--   previous secret expiry (ms), custom headers (JSON), connect timeout,
--   total timeout}
local d = redis.call('HMGET', KEYS[1], 'status', 'event_id', 'endpoint_id',
                     'attempt_count', 'retry_index')
if not d[1] then
  return {'missing'}
end
local prefix = 'hg:{' .. ARGV[1] .. '}:'
local e = redis.call('HMGET', prefix .. 'evt:' .. d[2], 'payload', 'type',
                     'traceparent')
local ep = redis.call('HMGET', prefix .. 'ep:' .. d[3], 'url', 'secret',
                      'status', 'previous_secret', 'previous_expires_ms',
                      'headers', 'connect_timeout_ms', 'timeout_ms')
return {'ok', d[1], d[2], d[3], d[4] or '0', d[5] or '0', e[1], e[2] or '',
        e[3] or '', ep[1], ep[2] or '', ep[3] or '', ep[4] or '',
        ep[5] or '0', ep[6] or '{}', ep[7] or '', ep[8] or ''}
