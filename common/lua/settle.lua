-- Acknowledges a work entry that was prepared but will not be sent, and,
-- with a reason, ends its delivery as dead (such as a secret that cannot
-- be decoded). Releases the endpoint lease load_delivery.lua took.
-- KEYS: 1 delivery hash, 2 work stream, 3 retry schedule, 4 activity stream
-- ARGV: 1 work entry id, 2 consumer group, 3 reason ("" to only
--       acknowledge), 4 now (RFC 3339), 5 schedule member,
--       6 activity max length, 7 integration id, 8 "1" for a manual
--       attempt
-- Returns "ok"
-- @include activity
-- @include schedule
-- @include delivery
-- @include event_index
-- @include endpoint

hg_ack(KEYS[2], ARGV[2], ARGV[1])
-- Nothing more for an integration being deleted (see record_attempt.lua).
if redis.call('EXISTS', hg_prefix(ARGV[7]) .. 'integration') == 0 then
  return 'ok'
end
local d = redis.call('HMGET', KEYS[1], 'id', 'endpoint_id')
if d[1] then
  hg_endpoint_release(ARGV[7], d[2],
                      hg_lease_member(d[1], ARGV[8] == '1', ARGV[1]), KEYS[3],
                      KEYS[2])
end
if ARGV[3] ~= '' and
   hg_end_delivery(ARGV[7], KEYS[1], ARGV[3], ARGV[4], KEYS[4], ARGV[6]) then
  redis.call('ZREM', KEYS[3], ARGV[5])
end
return 'ok'
