-- Decides what the dispatcher does with one work entry, and prepares it:
--   skip     the delivery is gone or already finished (not for a manual
--            attempt): the entry is acknowledged;
--   ended    the event expired, or the endpoint was deleted or disabled:
--            the delivery ends dead and the entry is acknowledged;
--   deferred the endpoint's breaker is open, or its concurrency cap or rate
--            limit is reached: the entry is acknowledged and the delivery
--            goes back to the schedule, without using an attempt;
--   send     a lease on one of the endpoint's concurrency slots is taken
--            and everything needed to send is returned; the entry stays
--            pending until record_attempt.lua acknowledges it.
-- The event and endpoint keys are derived from the delivery; they share
-- its hash tag.
-- KEYS: 1 delivery hash, 2 work stream, 3 retry schedule, 4 activity stream
-- ARGV: 1 integration id, 2 work entry id, 3 consumer group, 4 "1" for a
--       manual attempt, 5 lease length (ms), 6 default concurrency cap,
--       7 now (RFC 3339), 8 activity max length, 9 schedule member
-- Returns {"skip"} | {"ended", reason} | {"deferred", wait ms, why:
--   "cap", "breaker" or "rate", endpoint id} |
--   {"send", status, event id, endpoint id, attempt count, retry index,
--   payload, type, traceparent, url, secret, previous secret, previous
--   secret expiry (ms), custom headers (JSON), connect timeout, total
--   timeout, "1" when this is a breaker probe, tracestate ("" for none),
--   hops of the event ("" for 0)}
-- @include principal
-- @include activity
-- @include schedule
-- @include delivery
-- @include event_index
-- @include endpoint

local integration = ARGV[1]
local manual = ARGV[4] == '1'
local d = redis.call('HMGET', KEYS[1], 'status', 'event_id', 'endpoint_id',
                     'attempt_count', 'retry_index', 'id')
-- A deleted integration's delivery that the purge has not reached yet is
-- skipped: sending it would write keys that the purge already removed.
if d[1] and redis.call('EXISTS', hg_prefix(integration) .. 'integration') == 0 then
  d[1] = nil
end
if not d[1] or (not manual and (d[1] == 'succeeded' or d[1] == 'dead')) then
  hg_ack(KEYS[2], ARGV[3], ARGV[2], true)
  return {'skip'}
end

local prefix = hg_prefix(integration)
local e = redis.call('HMGET', prefix .. 'evt:' .. d[2], 'payload', 'type',
                     'traceparent', 'tracestate', 'hops')
local ep = redis.call('HMGET', prefix .. 'ep:' .. d[3], 'url', 'secret',
                      'status', 'previous_secret', 'previous_expires_ms',
                      'headers', 'connect_timeout_ms', 'timeout_ms',
                      'max_concurrency', 'rate_limit')
local reason = nil
if not e[1] then
  reason = 'event_expired'
elseif not ep[1] then
  reason = 'endpoint_deleted'
elseif ep[3] ~= 'enabled' then
  reason = 'endpoint_disabled'
end
if reason then
  hg_end_delivery(integration, KEYS[1], reason, ARGV[7], KEYS[4], ARGV[8])
  redis.call('ZREM', KEYS[3], ARGV[9])
  hg_ack(KEYS[2], ARGV[3], ARGV[2], not manual)
  return {'ended', reason}
end

local now = hg_now_ms()
local cap = tonumber(ep[9] ~= nil and ep[9] ~= '' and ep[9] or ARGV[6])
local rate = tonumber(ep[10] ~= nil and ep[10] ~= '' and ep[10] or '0')
local wait, why, probe =
  hg_endpoint_admit(integration, d[3], hg_lease_member(d[6], manual, ARGV[2]),
                    KEYS[1], now,
                    now + tonumber(ARGV[5]), cap, rate, manual)
if wait > 0 then
  -- A manual attempt keeps its mark ("m") through the schedule.
  local member = ARGV[9] .. (manual and ' m' or '')
  hg_ack(KEYS[2], ARGV[3], ARGV[2])
  redis.call('ZADD', KEYS[3], now + wait, member)
  if why == 'cap' or why == 'breaker' then
    hg_endpoint_park(integration, d[3], member, now, tonumber(ARGV[5]) * 2)
  end
  if why ~= 'cap' and not manual then
    -- Shows when the held delivery is looked at again; a cap wait usually
    -- ends sooner than its bound, when a slot is released.
    redis.call('HSET', KEYS[1], 'next_attempt_at', hg_time_iso(now + wait))
  end
  return {'deferred', wait, why, d[3]}
end

-- Admitted: a parked copy would otherwise wake this delivery again later,
-- ahead of its own schedule.
redis.call('ZREM', prefix .. 'ep:' .. d[3] .. ':waiting', ARGV[9],
           ARGV[9] .. ' m')

return {'send', d[1], d[2], d[3], d[4] or '0', d[5] or '0', e[1], e[2] or '',
        e[3] or '', ep[1], ep[2] or '', ep[4] or '', ep[5] or '0',
        ep[6] or '{}', ep[7] or '', ep[8] or '', probe and '1' or '0',
        e[4] or '', e[5] or ''}
