-- ledger_settle.lua — finish a request on the actor's account: commit or refund its hold,
-- and record (or forget) its idempotent response — one atomic step, so a stored response
-- and its charge can never disagree. Uses lib/args, lib/clock, lib/account, lib/idempotency.
--
-- KEYS[1]  account             <prefix>:{a:<actor>}:account (hash)
-- KEYS[2]  ledger              <prefix>:{a:<actor>}:ledger (stream)
-- KEYS[3]  holds               <prefix>:{a:<actor>}:holds (hash)
-- KEYS[4]  idempotency_record  <prefix>:{a:<actor>}:idem:<scope>:<key hash> (any key of the
--                              slot when there is none)
-- ARGV[1]  time_override       ms since the epoch ('' = Redis TIME)
-- ARGV[2]  hold_id             the request's hold ('' = no hold)
-- ARGV[3]  hold_end            "commit" | "refund" ('' with no hold)
-- ARGV[4]  refund_reason       ledger text of a refund
-- ARGV[5]  owner               token of the idempotency claim ('' = no claim)
-- ARGV[6]  end_mode            "store" (keep the final response) | "forget" (transient
--                              outcome: drop the claim) ('' with no claim)
-- ARGV[7]  status              response status (mode "store")
-- ARGV[8]  body                response body (mode "store")
-- ARGV[9]  ttl_seconds         how long the response is kept (mode "store")
-- ARGV[10] daily_allowance     tokens (for the idle rule of lib/account)
-- ARGV[11] idle_ttl_seconds    how long an idle account that holds nothing is kept (0 = ever)
--
-- Returns  {hold outcome, idempotency outcome, tokens refunded}
--          hold outcome: "committed" | "refunded" | "absent" (no such hold: its lease ran
--          out and it was released already, or it was never taken) | "none"
--          idempotency outcome: "stored" | "forgotten" | "not_owner" | "none"
-- Safe to run twice: a hold settles once (the second run finds it "absent"), and a claim's
-- end is written once by its owner.
local now = now_ms(ARGV[1])
local daily = int_arg(ARGV[10], 'daily_allowance', 0)
local idle_ttl = int_arg(ARGV[11], 'idle_ttl_seconds', 0)
local hold_end = ''
if ARGV[2] ~= '' then
  hold_end = word_arg(ARGV[3], 'hold_end', {'commit', 'refund'})
end
local end_mode = ''
local ttl = 0
if ARGV[5] ~= '' then
  end_mode = word_arg(ARGV[6], 'end_mode', {'store', 'forget'})
  if end_mode == 'store' then
    ttl = int_arg(ARGV[9], 'ttl_seconds', 1)
  end
end

local hold_outcome = 'none'
local refunded = 0
if ARGV[2] ~= '' then
  local hold = redis.call('HGET', KEYS[3], ARGV[2])
  if not hold then
    hold_outcome = 'absent'
  elseif hold_end == 'commit' then
    redis.call('HDEL', KEYS[3], ARGV[2])
    hold_outcome = 'committed'
  else
    local amount, _, request_id = string.match(hold, '^(%d+):(%d+):(.*)$')
    redis.call('HDEL', KEYS[3], ARGV[2])
    local balance = tonumber(redis.call('HGET', KEYS[1], 'balance') or '0') + tonumber(amount)
    redis.call('HSET', KEYS[1], 'balance', balance, 'updated', now)
    append_entry(KEYS[2], 'refund', tonumber(amount), balance, ARGV[4], request_id, now)
    refunded = tonumber(amount)
    hold_outcome = 'refunded'
  end
end

if hold_outcome ~= 'none' then
  expire_if_idle(KEYS[1], KEYS[2], KEYS[3], now, daily, idle_ttl)
end

local idem_outcome = 'none'
if ARGV[5] ~= '' then
  idem_outcome = idem_finish(KEYS[4], ARGV[5], end_mode, ARGV[7], ARGV[8], ttl)
end
return {hold_outcome, idem_outcome, refunded}
