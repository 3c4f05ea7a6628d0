-- Queues a manual attempt of one delivery now; the dispatcher sends it
-- whatever the delivery's status, with the same webhook-id.
-- KEYS: 1 delivery hash, 2 work stream
-- ARGV: 1 integration id, 2 delivery id
-- Returns "ok" | "missing"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'missing'
end
redis.call('XADD', KEYS[2], '*', 'i', ARGV[1], 'd', ARGV[2], 'm', '1')
return 'ok'
