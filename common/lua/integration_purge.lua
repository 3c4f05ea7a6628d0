-- Starts deleting an integration: removes its record, so nothing new is
-- published or authorized for it, and returns what the global indexes hold
-- for it. The rest of its keys are removed afterwards by purge_batch.lua.
-- KEYS: 1 integration hash, 2 its API keys (id -> hash), 3 its OAuth
--       clients (id -> "1")
-- Returns {"ok", key count, client count, key hashes..., client ids...} |
--   {"not_found"}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_found'}
end
local hashes = redis.call('HVALS', KEYS[2])
local clients = redis.call('HKEYS', KEYS[3])
redis.call('DEL', KEYS[1])
local out = {'ok', #hashes, #clients}
for _, h in ipairs(hashes) do out[#out + 1] = h end
for _, c in ipairs(clients) do out[#out + 1] = c end
return out
