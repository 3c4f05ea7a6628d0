-- Queues a manual attempt of one delivery now; the dispatcher sends it
-- whatever the delivery's status, with the same webhook-id. A delivery
-- whose endpoint was deleted or is disabled is not queued, because the
-- dispatcher would only end it without an attempt.
-- KEYS: 1 delivery hash, 2 work stream
-- ARGV: 1 integration id, 2 delivery id
-- Returns {"ok"} | {"missing"} | {"endpoint_deleted", endpoint id} |
--   {"endpoint_disabled", endpoint id}
local endpoint_id = redis.call('HGET', KEYS[1], 'endpoint_id')
if not endpoint_id then
  return {'missing'}
end
local status = redis.call('HGET', 'hg:{' .. ARGV[1] .. '}:ep:' .. endpoint_id,
                          'status')
if not status then
  return {'endpoint_deleted', endpoint_id}
end
if status ~= 'enabled' then
  return {'endpoint_disabled', endpoint_id}
end
redis.call('XADD', KEYS[2], '*', 'i', ARGV[1], 'd', ARGV[2], 'm', '1')
return {'ok'}
