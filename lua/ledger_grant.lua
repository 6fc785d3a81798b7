-- ledger_grant.lua — credit tokens to an actor (admin grant), exactly once per grant id.
-- Prepended with lib/account.lua.
--
-- KEYS[1]  account hash        <prefix>:{a:<actor>}:account
-- KEYS[2]  ledger stream       <prefix>:{a:<actor>}:ledger
-- KEYS[3]  holds hash          <prefix>:{a:<actor>}:holds
-- KEYS[4]  grant marker        <prefix>:{a:<actor>}:grant:<grant id>
-- ARGV[1]  time override, ms ('' = Redis TIME)
-- ARGV[2]  daily allowance (tokens)
-- ARGV[3]  amount (tokens, > 0)
-- ARGV[4]  reason (ledger text)
-- ARGV[5]  request id
-- ARGV[6]  marker time to live, seconds
--
-- Returns  {"granted", balance after, entry id, released}
--          {"duplicate", balance, entry id, 0}   this grant id was applied already
--          (released: tokens returned by expired holds while bringing the account up to date)
local previous = redis.call('GET', KEYS[4])
if previous then
  return {'duplicate', tonumber(redis.call('HGET', KEYS[1], 'balance') or '0'), previous, 0}
end
local now = now_ms(ARGV[1])
local balance, released = refresh_account(KEYS[1], KEYS[2], KEYS[3], now, tonumber(ARGV[2]))
balance = balance + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'balance', balance, 'updated', now)
local id = append_entry(KEYS[2], 'grant', tonumber(ARGV[3]), balance, ARGV[4], ARGV[5], now)
redis.call('SET', KEYS[4], id, 'EX', ARGV[6])
return {'granted', balance, id, released}
