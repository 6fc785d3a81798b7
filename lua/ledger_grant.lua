-- ledger_grant.lua — credit tokens to an actor (admin grant), exactly once per grant id.
-- Uses lib/args, lib/clock, lib/account.
--
-- KEYS[1]  account             <prefix>:{a:<actor>}:account (hash)
-- KEYS[2]  ledger              <prefix>:{a:<actor>}:ledger (stream)
-- KEYS[3]  holds               <prefix>:{a:<actor>}:holds (hash)
-- KEYS[4]  grant_marker        <prefix>:{a:<actor>}:grant:<grant id>
-- ARGV[1]  time_override       ms since the epoch ('' = Redis TIME)
-- ARGV[2]  daily_allowance     tokens
-- ARGV[3]  amount              tokens to credit (> 0)
-- ARGV[4]  reason              ledger text
-- ARGV[5]  request_id          the request that grants
-- ARGV[6]  marker_ttl_seconds  how long the grant id is remembered
-- ARGV[7]  request_hash        SHA-256 of the canonical grant request ('' = not compared)
-- ARGV[8]  idle_ttl_seconds    how long an idle account that holds nothing is kept (0 = ever)
--
-- Returns  {"granted", balance after, entry id, released, amount}
--          {"duplicate", balance, entry id, 0, amount credited then}   this grant id was
--                                                  applied already, by the same request
--          {"mismatch", balance, entry id, 0, amount credited then}    ... by another request
--          (released: tokens returned by expired holds while bringing the account up to date)
-- Marker value: "<entry id>|<request hash>". A duplicate rewrites the marker unchanged: the
-- grant it found may have been written through another connection, and WAIT (replica
-- acknowledgements) covers only what the caller's own connection wrote.
local now = now_ms(ARGV[1])
local daily = int_arg(ARGV[2], 'daily_allowance', 0)
local amount = int_arg(ARGV[3], 'amount', 1)
local marker_ttl = int_arg(ARGV[6], 'marker_ttl_seconds', 1)
local idle_ttl = int_arg(ARGV[8], 'idle_ttl_seconds', 0)
local previous = redis.call('GET', KEYS[4])
if previous then
  local id, hash = string.match(previous, '^([^|]*)|(.*)$')
  local credited = 0
  local entry = redis.call('XRANGE', KEYS[2], id, id)
  if entry[1] then
    local fields = entry[1][2]
    for i = 1, #fields, 2 do
      if fields[i] == 'amount' then
        credited = tonumber(fields[i + 1])
      end
    end
  end
  local outcome = 'duplicate'
  if hash ~= ARGV[7] then
    outcome = 'mismatch'
  else
    redis.call('SET', KEYS[4], previous, 'KEEPTTL')
  end
  return {outcome, tonumber(redis.call('HGET', KEYS[1], 'balance') or '0'), id, 0, credited}
end
local balance, released = refresh_account(KEYS[1], KEYS[2], KEYS[3], now, daily)
balance = balance + amount
redis.call('HSET', KEYS[1], 'balance', balance, 'updated', now)
local id = append_entry(KEYS[2], 'grant', amount, balance, ARGV[4], ARGV[5], now)
redis.call('SET', KEYS[4], id .. '|' .. ARGV[7], 'EX', marker_ttl)
expire_if_idle(KEYS[1], KEYS[2], KEYS[3], now, daily, idle_ttl)
return {'granted', balance, id, released, amount}
