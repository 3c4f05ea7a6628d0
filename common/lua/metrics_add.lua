-- Adds one flush of metric counters to a minute hash and its hour roll-up.
-- Nothing is written for an integration that no longer exists, so a flush
-- right after the integration was deleted does not bring its keys back.
-- KEYS: 1 minute hash, 2 hour hash, 3 integration hash
-- ARGV: 1 expiry in seconds, then field and increment pairs
-- Returns 1, or 0 when the integration does not exist
if redis.call('EXISTS', KEYS[3]) == 0 then
  return 0
end
for i = 2, #ARGV, 2 do
  local n = tonumber(ARGV[i + 1])
  redis.call('HINCRBY', KEYS[1], ARGV[i], n)
  redis.call('HINCRBY', KEYS[2], ARGV[i], n)
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
