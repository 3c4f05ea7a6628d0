-- Lists every sink: the configured ones with their owners, and the
-- integrations, each of which has a sink of the same id.
-- KEYS: 1 sink index hash (sink id -> owner), 2 integration set
-- Returns {{sink id, owner, ...}, {integration id, ...}}
return {redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[2])}
