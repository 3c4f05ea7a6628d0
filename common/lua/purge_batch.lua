-- Deletes one batch of an integration's keys (all share its hash tag) and
-- counts what they held: events, deliveries, attempts and endpoints.
-- KEYS: the keys to delete
-- Returns {events, deliveries, attempts, endpoints}
local events, deliveries, attempts, endpoints = 0, 0, 0, 0
-- The purge marker and lease go when the whole purge has finished.
local function kept(key)
  return string.sub(key, -9) == '}:purging' or
    string.sub(key, -13) == '}:purge_lease'
end
for _, key in ipairs(KEYS) do
  if kept(key) then
    -- removed by the gateway at the end
  elseif string.find(key, '}:evt:', 1, true) then
    events = events + 1
  elseif string.find(key, '}:dlv:', 1, true) then
    deliveries = deliveries + 1
  elseif string.find(key, '}:att:', 1, true) then
    attempts = attempts + redis.call('LLEN', key)
  elseif string.match(key, '}:ep:[^:]+$') then
    -- The endpoint hash itself, not its sets, lanes or health.
    endpoints = endpoints + 1
  end
  if not kept(key) then
    redis.call('UNLINK', key)
  end
end
return {events, deliveries, attempts, endpoints}
