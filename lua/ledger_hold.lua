-- ledger_hold.lua — charge a computed simulation as a hold: the tokens leave the balance
-- now (a `spend` entry), and the hold either commits when the request succeeds, is refunded
-- when it fails, or is released after its lease if the instance dies mid-request.
-- Uses lib/args, lib/clock, lib/account.
--
-- KEYS[1]  account             <prefix>:{a:<actor>}:account (hash)
-- KEYS[2]  ledger              <prefix>:{a:<actor>}:ledger (stream)
-- KEYS[3]  holds               <prefix>:{a:<actor>}:holds (hash)
-- ARGV[1]  time_override       ms since the epoch ('' = Redis TIME)
-- ARGV[2]  daily_allowance     tokens
-- ARGV[3]  cost                tokens to hold (> 0)
-- ARGV[4]  hold_id             unique id of this hold
-- ARGV[5]  lease_ms            how long the hold lives without being settled
-- ARGV[6]  request_id          the request that is charged
-- ARGV[7]  reason              ledger text
-- ARGV[8]  idle_ttl_seconds    how long an idle account that holds nothing is kept (0 = ever)
--
-- Returns  {"held", balance after, released, 1}
--          {"insufficient", balance, released, changed}   nothing was charged
--          (released: tokens returned by expired holds while bringing the account up to date;
--          changed: 1 when the balance changed all the same, by releases or the allowance)
-- Safe to run twice: a hold id that is already held is not charged again.
local now = now_ms(ARGV[1])
local daily = int_arg(ARGV[2], 'daily_allowance', 0)
local cost = int_arg(ARGV[3], 'cost', 1)
local lease = int_arg(ARGV[5], 'lease_ms', 1)
local idle_ttl = int_arg(ARGV[8], 'idle_ttl_seconds', 0)
if redis.call('HEXISTS', KEYS[3], ARGV[4]) == 1 then
  return {'held', tonumber(redis.call('HGET', KEYS[1], 'balance') or '0'), 0, 1}
end
local balance, released, changed = refresh_account(KEYS[1], KEYS[2], KEYS[3], now, daily)
if balance < cost then
  expire_if_idle(KEYS[1], KEYS[2], KEYS[3], now, daily, idle_ttl)
  return {'insufficient', balance, released, flag(changed)}
end
balance = balance - cost
redis.call('HSET', KEYS[1], 'balance', balance, 'updated', now)
redis.call('HSET', KEYS[3], ARGV[4], cost .. ':' .. (now + lease) .. ':' .. ARGV[6])
append_entry(KEYS[2], 'spend', -cost, balance, ARGV[7], ARGV[6], now)
expire_if_idle(KEYS[1], KEYS[2], KEYS[3], now, daily, idle_ttl)
return {'held', balance, released, 1}
