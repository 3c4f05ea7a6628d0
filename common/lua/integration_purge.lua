-- Starts deleting an integration: removes its record, so nothing new is
-- published or authorized for it, and returns what the global indexes hold
-- for it. The rest of its keys are removed afterwards by purge_batch.lua.
-- A marker key keeps the id from being created again while the purge
-- runs (the purge would delete the new integration's keys) and, for a
-- while after it, from receiving the old one's late metric flushes.
-- The marker is "running" without an expiry until the purge finishes, so
-- a purge cut short (a gateway crash, a Redis error) keeps the id blocked
-- and the next delete of the id resumes it here.
-- KEYS: 1 integration hash, 2 its API keys (id -> hash), 3 its OAuth
--       clients (id -> "1"), 4 the purge marker
-- Returns {"ok", key count, client count, key hashes..., client ids...} |
--   {"not_found"}
if redis.call('EXISTS', KEYS[1]) == 0 and
   redis.call('GET', KEYS[4]) ~= 'running' then
  return {'not_found'}
end
redis.call('SET', KEYS[4], 'running')
local hashes = redis.call('HVALS', KEYS[2])
local clients = redis.call('HKEYS', KEYS[3])
redis.call('DEL', KEYS[1])
local out = {'ok', #hashes, #clients}
for _, h in ipairs(hashes) do out[#out + 1] = h end
for _, c in ipairs(clients) do out[#out + 1] = c end
return out
