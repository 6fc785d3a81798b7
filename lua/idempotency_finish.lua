-- idempotency_finish.lua — end a claimed idempotency key whose operation touched keys in
-- another slot (admin grants): keep the final response, or drop the claim so a retry runs.
-- Uses lib/args, lib/idempotency.
--
-- KEYS[1]  idempotency_record  <prefix>:{adm}:idem:<scope>:<key hash>
-- ARGV[1]  owner               token of the claim
-- ARGV[2]  end_mode            "store" | "forget"
-- ARGV[3]  status              response status (mode "store")
-- ARGV[4]  body                response body (mode "store")
-- ARGV[5]  ttl_seconds         how long the response is kept (mode "store")
--
-- Returns  "stored" | "forgotten" | "not_owner"
local mode = word_arg(ARGV[2], 'end_mode', {'store', 'forget'})
local ttl = 0
if mode == 'store' then
  ttl = int_arg(ARGV[5], 'ttl_seconds', 1)
end
return idem_finish(KEYS[1], ARGV[1], mode, ARGV[3], ARGV[4], ttl)
