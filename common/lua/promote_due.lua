-- Moves retries that are due from the schedule to the work stream. Running
-- as one script makes the move atomic, so two schedulers never queue the
-- same retry twice. It also trims the acknowledged entries off the work
-- stream.
-- KEYS: 1 retry schedule, 2 work stream
-- ARGV: 1 now (ms), 2 maximum entries to move, 3 consumer group
-- Returns {moved, due time of the next remaining entry in ms or -1,
--   malformed members dropped, the first of them or ""}. A malformed
--   member (written by hand) is removed, so it cannot stop the retries
--   behind it.
-- @include schedule

-- True when stream id a ("<ms>-<seq>") is lower than b.
local function id_below(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if not ams or not bms then
    return false
  end
  ams, bms = tonumber(ams), tonumber(bms)
  if ams ~= bms then
    return ams < bms
  end
  return tonumber(aseq) < tonumber(bseq)
end

-- Every entry below both the group's last delivered id and its oldest
-- unacknowledged entry has been acknowledged, so it can go. MINID with "~"
-- drops whole stream nodes only, which costs Redis next to nothing; the
-- rest go with a later call. Without the group (it is created again at the
-- next read) nothing is trimmed.
local function trim_acknowledged(work_key, group)
  local groups = redis.pcall('XINFO', 'GROUPS', work_key)
  if type(groups) ~= 'table' or groups.err then
    return
  end
  for _, g in ipairs(groups) do
    local info = {}
    for i = 1, #g, 2 do
      info[g[i]] = g[i + 1]
    end
    if info['name'] == group then
      local bound = info['last-delivered-id']
      if not bound then
        return
      end
      if tonumber(info['pending'] or 0) > 0 then
        local oldest = redis.call('XPENDING', work_key, group)[2]
        if oldest and id_below(oldest, bound) then
          bound = oldest
        end
      end
      if bound ~= '0-0' then
        redis.call('XTRIM', work_key, 'MINID', '~', bound)
      end
      return
    end
  end
end

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],
                       'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local members = {}
local dropped, first_dropped = 0, ''
for i = 1, #due, 2 do
  if not hg_queue_member(KEYS[2], due[i], tonumber(due[i + 1])) then
    dropped = dropped + 1
    if first_dropped == '' then
      first_dropped = due[i]
    end
  end
  members[#members + 1] = due[i]
end
if #members > 0 then
  redis.call('ZREM', KEYS[1], unpack(members))
end
trim_acknowledged(KEYS[2], ARGV[3])
local next_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#members - dropped,
        next_due[2] and math.floor(tonumber(next_due[2])) or -1, dropped,
        first_dropped}
