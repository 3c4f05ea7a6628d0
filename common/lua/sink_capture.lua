-- Stores one request received by a sink, keeps the newest N captures, and
-- announces it on the activity stream. A sink exists when an integration
-- of the same name exists (its keys share the hash tag), so anonymous
-- requests cannot create sinks at will.
-- KEYS: 1 capture list, 2 activity stream, 3 integration hash
-- ARGV: 1 capture JSON, 2 N, 3 list TTL (s), 4 activity record JSON,
--       5 activity max length, 6 sink id
-- Returns "ok" | "no_sink"
if redis.call('EXISTS', KEYS[3]) == 0 then
  return 'no_sink'
end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 's', ARGV[6],
           'j', ARGV[4])
return 'ok'
