-- Reads an event with its deliveries, and optionally the attempts of each.
-- KEYS: 1 event hash
-- ARGV: 1 integration id, 2 "1" to include attempts
-- Returns {} when the event does not exist, else
--   {{field, value, ...} of id, type, received_at, correlation_id,
--   traceparent and test, {delivery fields, {attempt JSON...}}, ...}
local fields = redis.call('HMGET', KEYS[1], 'id', 'type', 'received_at',
                          'correlation_id', 'traceparent', 'deliveries',
                          'test')
if not fields[1] then
  return {}
end
local prefix = 'hg:{' .. ARGV[1] .. '}:'
local out = {{'id', fields[1], 'type', fields[2], 'received_at', fields[3],
              'correlation_id', fields[4] or '', 'traceparent', fields[5] or '',
              'test', fields[7] or '0'}}
for delivery_id in string.gmatch(fields[6] or '', '%S+') do
  local d = redis.call('HGETALL', prefix .. 'dlv:' .. delivery_id)
  if #d > 0 then
    local attempts = {}
    if ARGV[2] == '1' then
      attempts = redis.call('LRANGE', prefix .. 'att:' .. delivery_id, 0, -1)
    end
    out[#out + 1] = {d, attempts}
  end
end
return out
