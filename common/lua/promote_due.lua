-- Moves retries that are due from the schedule to the work stream. Running
-- as one script makes the move atomic, so two schedulers never queue the
-- same retry twice.
-- KEYS: 1 retry schedule, 2 work stream
-- ARGV: 1 now (ms), 2 maximum entries to move
-- Returns {moved, due time of the next remaining entry in ms or -1}
-- @include schedule

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0,
                       tonumber(ARGV[2]))
for _, member in ipairs(due) do
  hg_queue_member(KEYS[2], member)
  redis.call('ZREM', KEYS[1], member)
end
local next_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, next_due[2] and math.floor(tonumber(next_due[2])) or -1}
