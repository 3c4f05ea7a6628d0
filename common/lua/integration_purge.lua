-- Starts deleting an integration: removes its record, so nothing new is
-- published or authorized for it, and returns what the global indexes hold
-- for it. The rest of its keys are removed afterwards by purge_batch.lua.
-- A marker key keeps the id from being created again while the purge
-- runs (the purge would delete the new integration's keys) and, for a
-- while after it, from receiving the old one's late metric flushes.
-- The marker is "running" without an expiry until the purge finishes, so
-- a purge cut short (a gateway crash, a Redis error) keeps the id blocked
-- and the next delete of the id resumes it here. Older versions wrote
-- "1" with an expiry, and once that expired only the keys were left: both
-- count as a purge to resume too.
-- A lease names the request that runs the purge. Its holder refreshes it
-- at every batch, so a delete sent meanwhile gets "busy" rather than
-- running the same purge a second time, and a lease left by a crashed
-- gateway expires.
-- KEYS: 1 integration hash, 2 its API keys (id -> hash), 3 its OAuth
--       clients (id -> "1"), 4 the purge marker, 5 the purge lease,
--       6 its endpoint index (the lease is hg:{I}:purge_lease)
-- ARGV: 1 the request that purges, 2 lease length (ms)
-- Returns {"ok", key count, client count, key hashes..., client ids...} |
--   {"not_found"} | {"busy", milliseconds left of the lease}
if redis.call('EXISTS', KEYS[1]) == 0 then
  local marker = redis.call('GET', KEYS[4])
  -- The indexes that only an integration has; an older purge removed keys
  -- in SCAN order, so any of them may be what it left.
  local p = string.gsub(KEYS[1], 'integration$', '')
  local unfinished = (marker and marker ~= 'done') or
    redis.call('EXISTS', KEYS[2], KEYS[3], KEYS[6], p .. 'eplist',
               p .. 'epver', p .. 'events', p .. 'dlvidx') > 0
  if not unfinished then
    return {'not_found'}
  end
  local holder = redis.call('GET', KEYS[5])
  if holder and holder ~= ARGV[1] then
    return {'busy', redis.call('PTTL', KEYS[5])}
  end
end
redis.call('SET', KEYS[4], 'running')
redis.call('SET', KEYS[5], ARGV[1], 'PX', ARGV[2])
local hashes = redis.call('HVALS', KEYS[2])
local clients = redis.call('HKEYS', KEYS[3])
redis.call('DEL', KEYS[1])
local out = {'ok', #hashes, #clients}
for _, h in ipairs(hashes) do out[#out + 1] = h end
for _, c in ipairs(clients) do out[#out + 1] = c end
return out
