-- Members of the retry schedule: "<integration> <delivery id>", with " m"
-- for a manual attempt that was deferred.

-- Splits a member into integration id, delivery id and the manual mark.
-- Returns nil for a member of another form, which hookgate never writes.
local function hg_member_parts(member)
  local integration, delivery_id, mark =
    string.match(member, '^([^ ]+) ([^ ]+)(.*)$')
  if not integration or (mark ~= '' and mark ~= ' m') then
    return nil
  end
  return integration, delivery_id, mark == ' m'
end

-- Adds a work entry for a schedule member. due (ms, optional) is the
-- member's score, from which the dispatcher measures the scheduler's lag.
-- Returns false, and adds nothing, for a malformed member.
local function hg_queue_member(work_key, member, due)
  local integration, delivery_id, manual = hg_member_parts(member)
  if not integration then
    return false
  end
  local fields = {'XADD', work_key, '*', 'i', integration, 'd', delivery_id}
  if manual then
    fields[#fields + 1] = 'm'
    fields[#fields + 1] = '1'
  end
  if due then
    fields[#fields + 1] = 't'
    fields[#fields + 1] = string.format('%d', math.floor(due))
  end
  redis.call(unpack(fields))
  return true
end

-- Formats milliseconds since the epoch as an RFC 3339 UTC time with
-- milliseconds, like the C side (days to civil date, proleptic Gregorian).
local function hg_time_iso(ms)
  ms = math.floor(ms)
  local secs = math.floor(ms / 1000)
  local days = math.floor(secs / 86400)
  local rem = secs - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) +
                          math.floor(doe / 36524) -
                          math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', year, month,
                       day, math.floor(rem / 3600),
                       math.floor(rem % 3600 / 60), rem % 60, ms % 1000)
end
