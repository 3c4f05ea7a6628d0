-- Deletes the consumers of a work stream's group that own no pending entry,
-- were not served an entry for at least the given time, and belong to no
-- worker with a recent heartbeat. Workers name their consumer
-- "<host>:<pid>", so every restart leaves one behind, and XPENDING's
-- summary and XINFO CONSUMERS walk them all. Before Redis 7.2, "idle"
-- counts from the last entry served, not the last read, so a live worker
-- on a quiet stream looks idle, and its heartbeat keeps it. The
-- check and the delete run in one script, so no entry reaches a consumer
-- between them. A live worker's consumer deleted by mistake comes back at
-- its next read.
-- KEYS: 1 work stream, 2 worker heartbeats (sorted set of consumer names
--       scored by their last heartbeat in ms)
-- ARGV: 1 consumer group, 2 minimum idle time (ms), 3 consumer to keep,
--       4 now (ms, the clock the heartbeats use)
-- Returns the number of consumers deleted (0 when the group is missing).
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1],
                            ARGV[1])
if not ok then
  return 0
end
local min_idle = tonumber(ARGV[2])
local alive_after = tonumber(ARGV[4]) - min_idle
local deleted = 0
for _, consumer in ipairs(consumers) do
  local fields = {}
  for i = 1, #consumer, 2 do
    fields[consumer[i]] = consumer[i + 1]
  end
  local beat = tonumber(redis.call('ZSCORE', KEYS[2], fields.name) or '0')
  if fields.name ~= ARGV[3] and tonumber(fields.pending) == 0 and
     tonumber(fields.idle) >= min_idle and beat < alive_after then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields.name)
    deleted = deleted + 1
  end
end
return deleted
