-- api_key_revoke.lua — revoke an API key: later requests with it get 401.
-- Uses lib/args.
--
-- KEYS[1]  key_record          <prefix>:{k:<key id>}:key
-- ARGV[1]  revoked_at          ms since the epoch
--
-- Returns  1 when the key existed and is now revoked (or already was), 0 when unknown.
local at = int_arg(ARGV[1], 'revoked_at', 0)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'revoked_at', at)
return 1
