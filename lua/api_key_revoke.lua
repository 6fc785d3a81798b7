-- api_key_revoke.lua — revoke an API key: later requests with it get 401.
--
-- KEYS[1]  key record          <prefix>:{k:<key id>}
-- ARGV[1]  time, ms
--
-- Returns  1 when the key existed and is now revoked (or already was), 0 when unknown.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
return 1
