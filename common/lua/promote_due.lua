-- Moves retries that are due from the schedule to the work stream. Running
-- as one script makes the move atomic, so two schedulers never queue the
-- same retry twice.
-- KEYS: 1 retry schedule, 2 work stream
-- ARGV: 1 now (ms), 2 maximum entries to move
-- Returns {moved, due time of the next remaining entry in ms or -1}
-- @include schedule

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],
                       'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local members = {}
for i = 1, #due, 2 do
  hg_queue_member(KEYS[2], due[i], tonumber(due[i + 1]))
  members[#members + 1] = due[i]
end
if #members > 0 then
  redis.call('ZREM', KEYS[1], unpack(members))
end
local next_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#members, next_due[2] and math.floor(tonumber(next_due[2])) or -1}
