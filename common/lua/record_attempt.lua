-- Records one delivery attempt and its consequences atomically: the
-- attempt, the new delivery status, the next retry (if any), the endpoint's
-- health (circuit breaker, automatic disabling) and concurrency lease, an
-- endpoint disabled by the receiver's answer, the acknowledgement of the
-- work entry, the endpoint's set of unfinished deliveries, and the activity
-- record. A delivery that already succeeded is never moved back to failed
-- by a late duplicate attempt.
-- KEYS: 1 delivery hash, 2 attempt list, 3 work stream, 4 retry schedule,
--       5 activity stream
-- ARGV: 1 work entry id ("" for none), 2 the attempt record without its
--       number, packed by hg_attempt_pack (attempt_codec.h), 3 outcome:
--       succeeded | failed | dead,
--       4 next attempt due (ms), 5 next attempt (RFC 3339), 6 dead reason,
--       7 now (RFC 3339), 8 "1" for a manual attempt, 9 schedule member,
--       10 retention (s), 11 activity max length, 12 integration id,
--       13 consumer group, 14 activity fields (a JSON fragment),
--       15 attempt id, unique per attempt: a retry of this script after a
--       timeout (when the first run went through after all) records
--       nothing twice, 16 endpoint action: "" or the reason to disable the
--       endpoint ("gone", "disabled_by_receiver"), 17 breaker threshold
--       (consecutive failures), 18 first probe interval (ms), 19 longest
--       probe interval (ms), 20 disable after failing for (ms, 0 = never),
--       21 event id for an endpoint.disabled event, 22 "1" when the
--       attempt counts for the endpoint's health (the receiver answered or
--       the network failed; not a refusal by hookgate's own policy),
--       23 "1" when the attempt was the breaker's probe
-- Returns {attempt number, status, endpoint action: "", "opened",
--   "closed" or "disabled", "1" for a late duplicate} or {0, "missing"}.
--   A late duplicate is a scheduled attempt of a delivery that ended while
--   it was in flight, such as one sent again by a worker that took the
--   entry over from a stalled one. Its outcome does not count for the
--   endpoint's health, because the attempt that ended the delivery did.
-- @include principal
-- @include activity
-- @include schedule
-- @include delivery
-- @include event_index
-- @include endpoint

-- The delivery is read with one HMGET and written with one HSET, because
-- each command costs Redis time and each write is copied to the AOF.
local delivery = redis.call('HMGET', KEYS[1], 'id', 'event_id',
                            'endpoint_id', 'status', 'next_attempt_at',
                            'attempt_count', 'last_attempt_id',
                            'retry_index', 'lane', 'late_attempt_id')

-- Returns true when a consumer group created again after a loss would only
-- skip this work entry: the delivery ended through a scheduled attempt.
local function settled(status)
  return ARGV[8] ~= '1' and (status == 'succeeded' or status == 'dead')
end

-- While its integration is being deleted, an attempt writes nothing: its
-- records would outlive the purge, which already passed some of them.
if not delivery[1] or
   redis.call('EXISTS', hg_prefix(ARGV[12]) .. 'integration') == 0 then
  hg_ack(KEYS[3], ARGV[13], ARGV[1], true)
  return {0, 'missing'}
end
if delivery[7] == ARGV[15] then
  hg_ack(KEYS[3], ARGV[13], ARGV[1], settled(delivery[4]))
  return {tonumber(delivery[6]), delivery[4], '',
          delivery[10] == ARGV[15] and '1' or ''}
end

local integration = ARGV[12]
local now = hg_now_ms()
local n = tonumber(delivery[6] or '0') + 1
local len = redis.call('RPUSH', KEYS[2], 'z1:' .. n .. ':' .. ARGV[2])
if len == 1 then
  -- The list starts after its delivery, so it outlives it.
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[10]))
elseif len > 100 then
  -- Only the newest attempts are kept, so repeated redeliveries cannot
  -- grow a delivery without bound; their numbers show what was dropped.
  redis.call('LTRIM', KEYS[2], -100, -1)
end

local current = delivery[4]
local outcome = ARGV[3]
local late = ARGV[8] ~= '1' and (current == 'succeeded' or current == 'dead')
local status = current
local next_at = delivery[5] or ''
local fields = {'HSET', KEYS[1], 'last_attempt_id', ARGV[15],
                'attempt_count', n, 'updated_at', ARGV[7]}
local function set(...)
  for _, v in ipairs({...}) do
    fields[#fields + 1] = v
  end
end
if late then
  -- So that a retry of this script after a timeout reports it late too.
  set('late_attempt_id', ARGV[15])
end

if outcome == 'succeeded' then
  status = 'succeeded'
  next_at = ''
  set('status', status, 'reason', '', 'next_attempt_at', '')
  redis.call('ZREM', KEYS[4], ARGV[9])
elseif outcome == 'dead' and ARGV[6] ~= 'attempts_exhausted' and
       current ~= 'succeeded' then
  -- The receiver or the policy ended it, even for a manual attempt.
  status = 'dead'
  next_at = ''
  set('status', status, 'reason', ARGV[6], 'next_attempt_at', '')
  redis.call('ZREM', KEYS[4], ARGV[9])
elseif ARGV[8] == '1' or current == 'succeeded' or current == 'dead' then
  -- A failed manual attempt, or a late duplicate, leaves the schedule alone.
  status = current
elseif outcome == 'failed' then
  status = 'failed'
  next_at = ARGV[5]
  set('status', status, 'next_attempt_at', next_at,
      'retry_index', tonumber(delivery[8] or '0') + 1)
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[9])
else
  status = 'dead'
  next_at = ''
  set('status', status, 'reason', ARGV[6], 'next_attempt_at', '')
  redis.call('ZREM', KEYS[4], ARGV[9])
end
redis.call(unpack(fields))
hg_ack(KEYS[3], ARGV[13], ARGV[1], settled(status))

local d = {delivery[1], delivery[2], delivery[3]}
local prefix = hg_prefix(integration)
if status == 'succeeded' or status == 'dead' then
  redis.call('SREM', prefix .. 'ep:' .. d[3] .. ':pending', d[1])
  if delivery[9] and delivery[9] ~= '' then
    hg_lane_leave(integration, KEYS[1])
  end
end

local op = {event_id = ARGV[21], now_ms = now, now_iso = ARGV[7],
            work_key = KEYS[3], activity_key = KEYS[5], maxlen = ARGV[11],
            retention = tonumber(ARGV[10])}
local action = ''
if ARGV[16] ~= '' then
  hg_disable_endpoint(integration, d[3], ARGV[16], op)
  action = 'disabled'
elseif ARGV[22] == '1' and not late then
  action = hg_endpoint_health(integration, d[3], outcome == 'succeeded', now,
                              {failures = tonumber(ARGV[17]),
                               probe_ms = tonumber(ARGV[18]),
                               probe_max_ms = tonumber(ARGV[19]),
                               disable_after_ms = tonumber(ARGV[20])}, op,
                              ARGV[23] == '1')
end
hg_endpoint_release(integration, d[3],
                    hg_lease_member(d[1], ARGV[8] == '1', ARGV[1]), KEYS[4],
                    KEYS[3])
if action == 'closed' then
  -- The endpoint recovered: what the breaker held goes now, within the
  -- concurrency cap (the rest park again in their order).
  hg_endpoint_wake(integration, d[3], KEYS[4], KEYS[3], 100)
end

local record = '{"kind":"attempt","integration_id":' .. cjson.encode(integration) ..
  ',"delivery_id":' .. cjson.encode(d[1]) ..
  ',"event_id":' .. cjson.encode(d[2]) ..
  ',"endpoint_id":' .. cjson.encode(d[3]) ..
  ',"attempt":' .. n .. ',"status":' .. cjson.encode(status) ..
  ',"next_attempt_at":' .. (next_at ~= '' and cjson.encode(next_at) or 'null') ..
  ',' .. ARGV[14] .. '}'
hg_activity(KEYS[5], integration, record, ARGV[11])
return {n, status, action, late and '1' or ''}
