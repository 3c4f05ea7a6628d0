-- Reads one page of the API keys or OAuth clients of an integration, in id
-- (creation) order.
-- KEYS: 1 the integration's list (hash: id -> record suffix)
-- ARGV: 1 integration id, 2 record kind: "key" or "client", 3 cursor: the
--       last id of the previous page, or "" for the first page,
--       4 page size
-- Returns {next cursor or "", {fields...}, {fields...}, ...}; secrets and
-- hashes are never included.
local prefix = 'hg:{' .. ARGV[1] .. '}:' .. ARGV[2] .. ':'
local cursor = ARGV[3]
local limit = tonumber(ARGV[4])
local list = redis.call('HGETALL', KEYS[1])

local entries = {}
for i = 1, #list, 2 do
  if cursor == '' or list[i] > cursor then
    entries[#entries + 1] = {id = list[i], value = list[i + 1]}
  end
end
table.sort(entries, function(a, b) return a.id < b.id end)

local out = {''}
for i = 1, math.min(#entries, limit) do
  local suffix = ARGV[2] == 'key' and entries[i].value or entries[i].id
  local f = redis.call('HMGET', prefix .. suffix, 'id', 'name', 'scopes',
                       'prefix', 'created_at', 'expires_at', 'revoked_at')
  if f[1] then
    out[#out + 1] = {'id', f[1], 'name', f[2] or '', 'scopes', f[3] or '',
                     'prefix', f[4] or '', 'created_at', f[5] or '',
                     'expires_at', f[6] or '', 'revoked_at', f[7] or ''}
  end
end
-- One entry beyond the page means that another page follows, so the last
-- page is never empty.
if #entries > limit then
  out[1] = entries[limit].id
end
return out
