-- cache_store.lua — store a computed simulation and release the compute lock.
--
-- KEYS[1]  cached result      <prefix>:{c:<fingerprint>}:result
-- KEYS[2]  compute lock       <prefix>:{c:<fingerprint>}:lock
-- ARGV[1]  owner token of the lock (may be absent from Redis when the lease ran out)
-- ARGV[2]  result JSON
-- ARGV[3]  time to live, seconds
--
-- Returns  1 when the lock was the caller's and is released, 0 when it was not held by the
--          caller (the result is stored either way: identical inputs give identical bytes).
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
