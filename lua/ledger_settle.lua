-- ledger_settle.lua — finish a request on the actor's account: commit or refund its hold,
-- and record (or forget) its idempotent response — one atomic step, so a stored response
-- and its charge can never disagree. Prepended with lib/account.lua.
--
-- KEYS[1]  account hash        <prefix>:{a:<actor>}:account
-- KEYS[2]  ledger stream       <prefix>:{a:<actor>}:ledger
-- KEYS[3]  holds hash          <prefix>:{a:<actor>}:holds
-- KEYS[4]  idempotency record  <prefix>:{a:<actor>}:idem:<scope>:<key hash> (any key of the
--          slot when there is none)
-- ARGV[1]  time override, ms ('' = Redis TIME)
-- ARGV[2]  hold id ('' = no hold)
-- ARGV[3]  "commit" | "refund"
-- ARGV[4]  idempotency owner token ('' = no idempotency record)
-- ARGV[5]  "store" (keep the final response) | "forget" (transient outcome: drop the claim)
-- ARGV[6]  response status
-- ARGV[7]  response body
-- ARGV[8]  response time to live, seconds
-- ARGV[9]  reason for a refund (ledger text)
--
-- Returns  {hold outcome, idempotency outcome, tokens refunded}
--          hold outcome: "committed" | "refunded" | "expired" (the lease ran out and the
--          hold was already released) | "none"
--          idempotency outcome: "stored" | "forgotten" | "not_owner" | "none"
local now = now_ms(ARGV[1])
local hold_outcome = 'none'
local refunded = 0
if ARGV[2] ~= '' then
  local hold = redis.call('HGET', KEYS[3], ARGV[2])
  if not hold then
    hold_outcome = 'expired'
  elseif ARGV[3] == 'commit' then
    redis.call('HDEL', KEYS[3], ARGV[2])
    hold_outcome = 'committed'
  else
    local amount, _, request_id = string.match(hold, '^(%d+):(%d+):(.*)$')
    redis.call('HDEL', KEYS[3], ARGV[2])
    local balance = tonumber(redis.call('HGET', KEYS[1], 'balance') or '0') + tonumber(amount)
    redis.call('HSET', KEYS[1], 'balance', balance, 'updated', now)
    append_entry(KEYS[2], 'refund', tonumber(amount), balance, ARGV[9], request_id, now)
    refunded = tonumber(amount)
    hold_outcome = 'refunded'
  end
end

local idem_outcome = 'none'
if ARGV[4] ~= '' then
  if redis.call('HGET', KEYS[4], 'owner') ~= ARGV[4] then
    idem_outcome = 'not_owner'
  elseif ARGV[5] == 'store' then
    redis.call('HSET', KEYS[4], 'state', 'done', 'status', ARGV[6], 'body', ARGV[7])
    redis.call('EXPIRE', KEYS[4], ARGV[8])
    idem_outcome = 'stored'
  else
    redis.call('DEL', KEYS[4])
    idem_outcome = 'forgotten'
  end
end
return {hold_outcome, idem_outcome, refunded}
