-- Queues a manual attempt now for every delivery of one event, with the
-- same webhook-id, as redeliver.lua does for one delivery. The dispatcher
-- sends each attempt whatever the delivery's status, and ends a delivery
-- as dead when its endpoint was deleted or disabled since.
-- KEYS: 1 event hash, 2 work stream
-- ARGV: 1 integration id
-- Returns {"missing"} | {"ok", delivery id...}: the ids of the deliveries
--   queued, in publish order; an expired delivery hash is left out
local ids = redis.call('HGET', KEYS[1], 'deliveries')
if not ids then
  return {'missing'}
end
local prefix = 'hg:{' .. ARGV[1] .. '}:'
local out = {'ok'}
for delivery_id in string.gmatch(ids, '%S+') do
  if redis.call('EXISTS', prefix .. 'dlv:' .. delivery_id) == 1 then
    redis.call('XADD', KEYS[2], '*', 'i', ARGV[1], 'd', delivery_id, 'm', '1')
    out[#out + 1] = delivery_id
  end
end
return out
