-- Cancels a background job that has not finished. The worker checks the
-- status at the start of each batch (recover_batch.lua), so no batch runs
-- after this one returns.
-- KEYS: 1 job hash
-- ARGV: 1 now (RFC 3339)
-- Returns {"ok", field, value, ...} with the job record after the change
--   (also for a job cancelled before), {"finished", field, value, ...} for
--   a job that is done, or {"missing"}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {'missing'}
end
local result = 'ok'
if status == 'done' then
  result = 'finished'
elseif status ~= 'cancelled' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updated_at', ARGV[1],
             'finished_at', ARGV[1])
end
local out = {result}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do
  out[#out + 1] = v
end
return out
