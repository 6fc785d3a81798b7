-- cache_claim.lua — fetch a cached simulation, or claim the right to compute it.
-- Uses lib/args.
--
-- Single flight across instances: of all requests that miss the same fingerprint at once,
-- exactly one gets "claimed" and computes; the others see "busy" and wait for the result.
--
-- KEYS[1]  result              <prefix>:{c:<fingerprint>}:result
-- KEYS[2]  lock                <prefix>:{c:<fingerprint>}:lock
-- ARGV[1]  owner               token unique to the request
-- ARGV[2]  lease_ms            lock lease (a crashed owner frees the lock when it runs out)
--
-- Returns  {"hit", <stored JSON>}  the result exists
--          {"claimed"}             the caller holds the lock and must compute
--          {"busy", <ms left>}     another request holds the lock
local lease = int_arg(ARGV[2], 'lease_ms', 1)
local cached = redis.call('GET', KEYS[1])
if cached then
  return {'hit', cached}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', lease) then
  return {'claimed'}
end
return {'busy', redis.call('PTTL', KEYS[2])}
