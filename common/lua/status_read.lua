-- Everything the public status page shows that lives in Redis, in one
-- round trip: live delivery workers, current and recent incidents with
-- their latest updates, and maintenance windows that have not ended.
-- KEYS: 1 worker heartbeats, 2 incident index, 3 window index
-- ARGV: 1 now_ms, 2 worker staleness bound (ms), 3 resolved incidents
--       newer than this (ms) are shown, 4 at most this many incidents and
--       windows, 5 at most this many updates per incident
-- Returns {workers, {{fields}, {updates}, ...}, {{fields}, ...}}
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[4])
local workers = redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[2]), '+inf')
local incidents = {}
local ids = redis.call('ZREVRANGE', KEYS[2], 0, 199)
for _, id in ipairs(ids) do
  if #incidents >= limit * 2 then
    break
  end
  local key = 'hg:{status}:inc:' .. id
  local f = redis.call('HMGET', key, 'status', 'updated_at')
  local keep = f[1] and f[1] ~= 'resolved'
  if f[1] == 'resolved' then
    local ms = tonumber(redis.call('HGET', key, 'resolved_ms') or '0')
    keep = ms >= tonumber(ARGV[3])
  end
  if keep then
    incidents[#incidents + 1] = redis.call('HGETALL', key)
    incidents[#incidents + 1] = redis.call('LRANGE', key .. ':updates',
                                           -tonumber(ARGV[5]), -1)
  end
end
local windows = {}
local wids = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf',
                        'LIMIT', 0, limit)
for _, id in ipairs(wids) do
  local fields = redis.call('HGETALL', 'hg:{status}:mnt:' .. id)
  if #fields > 0 then
    windows[#windows + 1] = fields
  end
end
return {workers, incidents, windows}
