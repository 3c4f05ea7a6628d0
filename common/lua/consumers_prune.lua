-- Deletes the consumers of a work stream's group that own no pending entry
-- and have not read for at least the given time. Workers name their
-- consumer "<host>:<pid>", so every restart leaves one behind, and
-- XPENDING's summary and XINFO CONSUMERS walk them all. The check and the
-- delete run in one script, so no entry reaches a consumer between them;
-- a live worker whose consumer is deleted gets it back at its next read.
-- KEYS: 1 work stream
-- ARGV: 1 consumer group, 2 minimum idle time (ms), 3 consumer to keep
-- Returns the number of consumers deleted (0 when the group is missing).
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1],
                            ARGV[1])
if not ok then
  return 0
end
local min_idle = tonumber(ARGV[2])
local deleted = 0
for _, consumer in ipairs(consumers) do
  local fields = {}
  for i = 1, #consumer, 2 do
    fields[consumer[i]] = consumer[i + 1]
  end
  if fields.name ~= ARGV[3] and tonumber(fields.pending) == 0 and
     tonumber(fields.idle) >= min_idle then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields.name)
    deleted = deleted + 1
  end
end
return deleted
