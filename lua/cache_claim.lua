-- cache_claim.lua — fetch a cached simulation, or claim the right to compute it.
--
-- Single flight across instances: of all requests that miss the same fingerprint at once,
-- exactly one gets "claimed" and computes; the others see "busy" and wait for the result.
--
-- KEYS[1]  cached result      <prefix>:{c:<fingerprint>}:result
-- KEYS[2]  compute lock       <prefix>:{c:<fingerprint>}:lock
-- ARGV[1]  owner token (unique per request)
-- ARGV[2]  lock lease, milliseconds (a crashed owner frees the lock when it runs out)
--
-- Returns  {"hit", <stored JSON>}  the result exists
--          {"claimed"}             the caller holds the lock and must compute
--          {"busy", <ms left>}     another request holds the lock
local cached = redis.call('GET', KEYS[1])
if cached then
  return {'hit', cached}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'claimed'}
end
return {'busy', redis.call('PTTL', KEYS[2])}
