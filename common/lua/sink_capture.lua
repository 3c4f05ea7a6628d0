-- Stores one request received by a sink, keeps the newest N captures, and
-- announces it on the activity stream.
-- KEYS: 1 capture list, 2 activity stream
-- ARGV: 1 capture JSON, 2 N, 3 list TTL (s), 4 activity record JSON,
--       5 activity max length, 6 sink id
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 's', ARGV[6],
           'j', ARGV[4])
return 'ok'
