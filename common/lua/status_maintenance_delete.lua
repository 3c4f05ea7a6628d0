-- Cancels (deletes) a maintenance window.
-- KEYS: 1 window index, 2 window hash
-- ARGV: 1 id
-- Returns {fields...} of the deleted window, or {} when it did not exist
local fields = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return fields
