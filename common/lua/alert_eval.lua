-- Evaluates the alert rules of one integration, for the integration as a
-- whole and for each of its endpoints, and records what changed. A value
-- above its threshold raises a new alert. An active alert resolves once its
-- value stayed below threshold x resolve_ratio for resolve_after_s.
-- Each change stores or updates the alert record and queues an
-- alert.triggered or alert.resolved event to the integration's operational
-- endpoint. Only this script writes the alert state, and Redis runs it
-- atomically, so workers evaluating at the same time raise one alert.
-- KEYS: 1 integration hash, 2 work stream of the integration's shard
-- ARGV: 1 integration id, 2 id seed (26 id characters; alert and event ids
--       are derived from it), 3 evaluation interval (ms), 4 retention (s),
--       5-10 default rules: error_rate_threshold, p95_latency_ms,
--       window_s, min_samples, resolve_ratio, resolve_after_s,
--       11 fine bucket width (s), 12 longest window read from fine
--       buckets (s), 13 alert records kept per integration,
--       14 endpoints evaluated at most, 15-29 upper bounds of the latency
--       buckets (ms)
-- Returns {status, active alerts of the integration (error_rate,
--   p95_latency), active alerts of endpoints (error_rate, p95_latency),
--   then 6 entries per change: "triggered" or "resolved", alert id,
--   endpoint id ("" for the integration), rule, value, threshold}.
--   status is "ok", "skipped" (evaluated less than half an interval ago)
--   or "missing" (no such integration).
-- @include principal
-- @include schedule
-- @include delivery
-- @include event_index
-- @include endpoint
-- @include alert_record

local integration = ARGV[1]
local prefix = hg_prefix(integration)
local state_key = prefix .. 'alertstate'

-- Counts the active alerts from the state hash: fields "a|<scope>|<rule>"
-- hold the id of the active alert of that scope ("-" for the integration).
local function active_counts()
  local counts = {0, 0, 0, 0}
  local fields = redis.call('HKEYS', state_key)
  for _, f in ipairs(fields) do
    local scope, rule = string.match(f, '^a|([^|]+)|(.+)$')
    if scope then
      local i = (scope == '-' and 1 or 3) + (rule == 'p95_latency' and 1 or 0)
      counts[i] = counts[i] + 1
    end
  end
  return counts
end

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing', 0, 0, 0, 0}
end
local now = hg_now_ms()
local interval = tonumber(ARGV[3])
local last = tonumber(redis.call('HGET', state_key, 'evaluated_ms') or '0')
if now - last < interval / 2 then
  local c = active_counts()
  return {'skipped', c[1], c[2], c[3], c[4]}
end
-- NOTE: this is one write per integration and evaluation even when
-- nothing changed, so many idle integrations add a steady trickle of
-- small HSETs to the AOF.
redis.call('HSET', state_key, 'evaluated_ms', now)
local now_iso = hg_time_iso(now)
local retention = tonumber(ARGV[4])

-- Rules: the defaults, overridden by what the integration stored.
local rules = {
  error_rate_threshold = tonumber(ARGV[5]),
  p95_latency_ms = tonumber(ARGV[6]),
  window_s = tonumber(ARGV[7]),
  min_samples = tonumber(ARGV[8]),
  resolve_ratio = tonumber(ARGV[9]),
  resolve_after_s = tonumber(ARGV[10]),
}
local stored = redis.call('HGETALL', prefix .. 'alertrules')
for i = 1, #stored, 2 do
  local v = tonumber(stored[i + 1])
  if v and rules[stored[i]] then
    rules[stored[i]] = v
  end
end
local fine_s = tonumber(ARGV[11])
local fine_max_s = tonumber(ARGV[12])
local records_max = tonumber(ARGV[13])
local endpoints_max = tonumber(ARGV[14])
local bounds = {}
for i = 15, 29 do
  bounds[#bounds + 1] = tonumber(ARGV[i])
end

-- The buckets of the window: every bucket that overlaps the last window_s
-- seconds, so the window covers between window_s and window_s plus one
-- bucket width.
local now_s = math.floor(now / 1000)
local kind, width = 'm5:', fine_s
if rules.window_s > fine_max_s then
  kind, width = 'm:', 60
end
local first_slot = math.floor((now_s - rules.window_s) / width)
local last_slot = math.floor(now_s / width)

local fields = {'d_ok', 'd_fail', 'd_dead'}
for i = 0, #bounds do
  fields[#fields + 1] = 'dl:' .. i
end

-- Sums the delivery counters of one scope over the window.
local function window_sums(suffix)
  local sums = {}
  for i = 1, #fields do
    sums[i] = 0
  end
  for slot = first_slot, last_slot do
    local values = redis.call('HMGET', prefix .. kind .. slot .. suffix,
                              unpack(fields))
    for i = 1, #fields do
      sums[i] = sums[i] + (tonumber(values[i]) or 0)
    end
  end
  return sums
end

-- The 0.95 quantile of a latency histogram (counts[1..#bounds + 1]),
-- interpolated inside its bucket as hg_metrics_percentile does.
local function p95(counts)
  local total = 0
  for i = 1, #counts do
    total = total + counts[i]
  end
  if total == 0 then
    return 0
  end
  local rank = 0.95 * total
  local below = 0
  for i = 1, #counts do
    local lo = i == 1 and 0 or bounds[i - 1]
    if counts[i] > 0 and below + counts[i] >= rank then
      if i == #counts then
        return lo
      end
      return lo + (bounds[i] - lo) * (rank - below) / counts[i]
    end
    below = below + counts[i]
  end
  return bounds[#bounds]
end

-- Ids: the seed with its last two characters replaced by a sequence
-- number, so one run can make up to 1024 distinct ids.
local alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
local seed = string.sub(ARGV[2], 1, 24)
local sequence = 0
local function next_id(id_prefix)
  local hi = math.floor(sequence / 32) % 32 + 1
  local lo = sequence % 32 + 1
  sequence = sequence + 1
  return id_prefix .. seed .. string.sub(alphabet, hi, hi) ..
    string.sub(alphabet, lo, lo)
end

local changes = {}
local list_key = prefix .. 'alerts'

local function announce(event_type, alert)
  local op = {event_id = next_id('evt_'), now_ms = now, now_iso = now_iso,
              work_key = KEYS[2], retention = retention}
  hg_operational_event(integration, event_type, hg_alert_json(alert), nil, op)
end

local function trigger(scope, rule, value, threshold)
  local alert = {
    id = next_id('alr_'), integration_id = integration,
    endpoint_id = scope == '-' and '' or scope, rule = rule,
    state = 'triggered', threshold = threshold, value = value,
    window_s = rules.window_s, triggered_at = now_iso, resolved_at = '',
    last_value = value,
  }
  local key = prefix .. 'alert:' .. alert.id
  local flat = {}
  for k, v in pairs(alert) do
    flat[#flat + 1] = k
    flat[#flat + 1] = tostring(v)
  end
  redis.call('HSET', key, unpack(flat))
  redis.call('EXPIRE', key, retention)
  redis.call('LPUSH', list_key, alert.id)
  redis.call('LTRIM', list_key, 0, records_max - 1)
  redis.call('EXPIRE', list_key, retention)
  redis.call('HSET', state_key, 'a|' .. scope .. '|' .. rule, alert.id)
  redis.call('HDEL', state_key, 'b|' .. scope .. '|' .. rule)
  announce('alert.triggered', alert)
  for _, v in ipairs({'triggered', alert.id, alert.endpoint_id, rule,
                      tostring(value), tostring(threshold)}) do
    changes[#changes + 1] = v
  end
end

local function resolve(scope, rule, alert_id, value)
  local key = prefix .. 'alert:' .. alert_id
  redis.call('HDEL', state_key, 'a|' .. scope .. '|' .. rule,
             'b|' .. scope .. '|' .. rule)
  local alert = hg_alert_load(key)
  if alert == nil then
    -- The record expired while active; there is nothing left to resolve.
    return
  end
  alert.state = 'resolved'
  alert.resolved_at = now_iso
  alert.last_value = value
  redis.call('HSET', key, 'state', 'resolved', 'resolved_at', now_iso,
             'last_value', tostring(value))
  redis.call('EXPIRE', key, retention)
  announce('alert.resolved', alert)
  for _, v in ipairs({'resolved', alert_id, alert.endpoint_id, rule,
                      tostring(value), alert.threshold}) do
    changes[#changes + 1] = v
  end
end

-- Applies the hysteresis to one rule of one scope. An inactive rule
-- triggers when the window contains min_samples and the value is above the
-- threshold. An active one resolves once the value stayed below
-- threshold x resolve_ratio for resolve_after_s. A window with too few
-- samples counts with the value of the attempts it contains (0 for none),
-- so an endpoint that went quiet resolves.
local function evaluate(scope, rule, value, samples, threshold)
  local active_field = 'a|' .. scope .. '|' .. rule
  local below_field = 'b|' .. scope .. '|' .. rule
  local active = redis.call('HGET', state_key, active_field)
  if not active then
    if samples >= rules.min_samples and value > threshold then
      trigger(scope, rule, value, threshold)
    end
    return
  end
  if redis.call('EXISTS', prefix .. 'alert:' .. active) == 0 then
    -- The record expired while active: an HSET here would bring back a
    -- record without its fields. Forget the alert, so the rule can trigger
    -- anew, and send no event for it.
    redis.call('HDEL', state_key, active_field, below_field)
    return
  end
  redis.call('HSET', prefix .. 'alert:' .. active, 'last_value',
             tostring(value))
  redis.call('EXPIRE', prefix .. 'alert:' .. active, retention)
  if value >= threshold * rules.resolve_ratio then
    redis.call('HDEL', state_key, below_field)
    return
  end
  local since = tonumber(redis.call('HGET', state_key, below_field) or '')
  if since == nil then
    since = now
    redis.call('HSET', state_key, below_field, now)
  end
  if now - since >= rules.resolve_after_s * 1000 then
    resolve(scope, rule, active, value)
  end
end

local function evaluate_scope(scope)
  local suffix = scope == '-' and '' or ':ep:' .. scope
  local sums = window_sums(suffix)
  local ok, failed = sums[1], sums[2] + sums[3]
  local attempts = ok + failed
  local rate = 0
  if attempts > 0 then
    rate = tonumber(string.format('%.4f', failed / attempts))
  end
  local counts = {}
  for i = 4, #sums do
    counts[#counts + 1] = sums[i]
  end
  local latency = tonumber(string.format('%.1f', p95(counts)))
  evaluate(scope, 'error_rate', rate, attempts, rules.error_rate_threshold)
  evaluate(scope, 'p95_latency', latency, ok, rules.p95_latency_ms)
end

-- Scopes: the integration, its endpoints, and endpoints (perhaps deleted
-- since) that still have an active alert.
local scopes = {'-'}
local seen = {['-'] = true}
for _, f in ipairs(redis.call('HKEYS', state_key)) do
  local scope = string.match(f, '^a|([^|]+)|')
  if scope and not seen[scope] then
    seen[scope] = true
    scopes[#scopes + 1] = scope
  end
end
local endpoints = redis.call('HKEYS', prefix .. 'endpoints')
table.sort(endpoints)
for _, ep in ipairs(endpoints) do
  if #scopes > endpoints_max then
    break
  end
  if not seen[ep] then
    seen[ep] = true
    scopes[#scopes + 1] = ep
  end
end
for _, scope in ipairs(scopes) do
  evaluate_scope(scope)
end

local c = active_counts()
local out = {'ok', c[1], c[2], c[3], c[4]}
for _, v in ipairs(changes) do
  out[#out + 1] = v
end
return out
