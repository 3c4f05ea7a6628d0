-- Lists the alerts of one integration, newest first.
-- KEYS: 1 alert list (hg:{I}:alerts)
-- ARGV: 1 integration id, 2 state: active, resolved or all, 3 limit
-- Returns the JSON text of each alert. Ids whose record expired are
-- skipped.
-- @include alert_record

local prefix = 'hg:{' .. ARGV[1] .. '}:'
local want = ARGV[2]
local limit = tonumber(ARGV[3])
local out = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local alert = hg_alert_load(prefix .. 'alert:' .. id)
  if alert and (want == 'all' or
                (want == 'active' and alert.state == 'triggered') or
                (want == 'resolved' and alert.state == 'resolved')) then
    out[#out + 1] = hg_alert_json(alert)
    if #out >= limit then
      break
    end
  end
end
return out
