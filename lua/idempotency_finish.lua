-- idempotency_finish.lua — end a claimed idempotency key whose operation touched keys in
-- another slot (admin grants): keep the final response, or drop the claim so a retry runs.
--
-- KEYS[1]  idempotency record  <prefix>:{adm}:idem:<scope>:<key hash>
-- ARGV[1]  owner token
-- ARGV[2]  "store" | "forget"
-- ARGV[3]  response status
-- ARGV[4]  response body
-- ARGV[5]  response time to live, seconds
--
-- Returns  "stored" | "forgotten" | "not_owner"
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return 'not_owner'
end
if ARGV[2] == 'store' then
  redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[3], 'body', ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return 'stored'
end
redis.call('DEL', KEYS[1])
return 'forgotten'
