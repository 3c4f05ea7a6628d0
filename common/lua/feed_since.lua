-- Reads activity entries after a given id for a reconnecting feed client.
-- Returns "reset" instead when the client must reload: entries after its
-- id were already trimmed or deleted, or its id is newer than any id the
-- stream has generated (the stream was recreated, or the id was never
-- issued).
-- KEYS: 1 activity stream
-- ARGV: 1 last id the client saw ("<ms>-<seq>"), 2 maximum entries
-- Returns {"reset", id to go on from (the stream's newest id)} or
--   {"ok", {entries as XRANGE returns them}}
-- Ids are compared as decimal text: a sequence number can exceed 2^53,
-- where Lua's numbers (doubles) stop telling neighbours apart. Both parts
-- come without leading zeros (Redis writes them so, and the inspector
-- formats the client's id again), so the longer text is the larger number.
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  if not dash then
    return id, '0'
  end
  return string.sub(id, 1, dash - 1), string.sub(id, dash + 1)
end

local function greater(a, b)
  if #a ~= #b then
    return #a > #b
  end
  return a > b
end

local function after(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  return greater(ams, bms) or (ams == bms and greater(aseq, bseq))
end

if redis.call('EXISTS', KEYS[1]) == 0 then
  if after(ARGV[1], '0-0') then
    return {'reset', '0-0'}
  end
  return {'ok', {}}
end

local newest, deleted, oldest = '0-0', '0-0', nil
local added, length = 0, 0
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  local name, value = info[i], info[i + 1]
  if name == 'last-generated-id' then
    newest = value
  elseif name == 'max-deleted-entry-id' then
    deleted = value
  elseif name == 'entries-added' then
    added = tonumber(value)
  elseif name == 'length' then
    length = tonumber(value)
  elseif name == 'first-entry' and type(value) == 'table' then
    oldest = value[1]
  end
end
-- Trimming (XADD MAXLEN) removes the oldest entries but leaves
-- max-deleted-entry-id at 0-0 (observed with redis-server 7.0.15); XDEL
-- sets it. So when some
-- entries are gone (fewer than were ever added) and the client's id is
-- older than the oldest entry left, entries after its id may be gone.
-- NOTE: a client whose id is the newest removed entry, or lies between it
-- and the oldest entry left, gets a reset it did not need, because the
-- removed ids are not known.
local trimmed = added > length and
  ((oldest ~= nil and after(oldest, ARGV[1])) or
   (oldest == nil and after(newest, ARGV[1])))
if trimmed or after(deleted, ARGV[1]) or after(ARGV[1], newest) then
  return {'reset', newest}
end
return {'ok', redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT',
                         tonumber(ARGV[2]))}
