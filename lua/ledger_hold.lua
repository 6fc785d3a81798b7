-- ledger_hold.lua — charge a computed simulation as a hold: the tokens leave the balance
-- now (a `spend` entry), and the hold either commits when the request succeeds, is refunded
-- when it fails, or is released after its lease if the instance dies mid-request.
-- Prepended with lib/account.lua.
--
-- KEYS[1]  account hash        <prefix>:{a:<actor>}:account
-- KEYS[2]  ledger stream       <prefix>:{a:<actor>}:ledger
-- KEYS[3]  holds hash          <prefix>:{a:<actor>}:holds
-- ARGV[1]  time override, ms ('' = Redis TIME)
-- ARGV[2]  daily allowance (tokens)
-- ARGV[3]  cost (tokens, > 0)
-- ARGV[4]  hold id (unique)
-- ARGV[5]  lease, ms
-- ARGV[6]  request id
-- ARGV[7]  reason (ledger text)
--
-- Returns  {"held", balance after, released}
--          {"insufficient", balance, released}   nothing was charged
--          (released: tokens returned by expired holds while bringing the account up to date)
local now = now_ms(ARGV[1])
local balance, released = refresh_account(KEYS[1], KEYS[2], KEYS[3], now, tonumber(ARGV[2]))
local cost = tonumber(ARGV[3])
if balance < cost then
  return {'insufficient', balance, released}
end
balance = balance - cost
redis.call('HSET', KEYS[1], 'balance', balance, 'updated', now)
redis.call('HSET', KEYS[3], ARGV[4], cost .. ':' .. (now + tonumber(ARGV[5])) .. ':' .. ARGV[6])
append_entry(KEYS[2], 'spend', -cost, balance, ARGV[7], ARGV[6], now)
return {'held', balance, released}
