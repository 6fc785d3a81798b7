-- cache_release.lua — give up a compute lock without a result (the computation failed), so
-- a waiting request can claim it at once instead of waiting for the lease to run out.
--
-- KEYS[1]  lock                <prefix>:{c:<fingerprint>}:lock
-- ARGV[1]  owner               token of the lock
--
-- Returns  1 when the caller's lock was released, 0 when the caller did not hold it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
