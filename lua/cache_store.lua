-- cache_store.lua — store a computed simulation and release the compute lock.
-- Uses lib/args.
--
-- KEYS[1]  result              <prefix>:{c:<fingerprint>}:result
-- KEYS[2]  lock                <prefix>:{c:<fingerprint>}:lock
-- ARGV[1]  owner               token of the lock ('' or absent from Redis when the request
--                              never claimed it or the lease ran out)
-- ARGV[2]  json                the result as served, without event and meta
-- ARGV[3]  ttl_seconds         time to live of the result
--
-- Returns  1 when the lock was the caller's and is released, 0 when it was not held by the
--          caller (the result is stored either way: identical inputs give identical bytes).
local ttl = int_arg(ARGV[3], 'ttl_seconds', 1)
redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
