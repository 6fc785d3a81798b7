-- lib/clock.lua — "now" for every script: Redis TIME, one clock for all instances.

-- Milliseconds since the epoch from Redis TIME, unless the caller passes an explicit time
-- (tests cross day boundaries and leases this way without waiting).
local function now_ms(override)
  if override ~= nil and override ~= '' then
    return int_arg(override, 'time override', 0)
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
