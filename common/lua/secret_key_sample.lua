-- Reads what a process needs to compare its HOOKGATE_SECRET_KEY with the
-- key the stored endpoint secrets were sealed with: the check value when
-- one exists, else up to five stored endpoint secrets to try to open.
-- NOTE: the integration and endpoint keys are named here, not in KEYS; a
-- single Redis primary allows that.
-- KEYS: 1 check value (hg:secret_key_check), 2 integration set
-- Returns {"check", sealed value} | {"sample", (aad, sealed secret)...}
local check = redis.call('GET', KEYS[1])
if check then
  return {'check', check}
end
local out = {'sample'}
for _, id in ipairs(redis.call('SRANDMEMBER', KEYS[2], 20)) do
  local prefix = 'hg:{' .. id .. '}:'
  local endpoint = redis.call('HRANDFIELD', prefix .. 'endpoints')
  if endpoint then
    local sealed = redis.call('HGET', prefix .. 'ep:' .. endpoint, 'secret')
    if sealed then
      out[#out + 1] = id .. '/' .. endpoint
      out[#out + 1] = sealed
    end
  end
  if #out > 10 then
    break
  end
end
return out
