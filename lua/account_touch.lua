-- account_touch.lua — read an actor's account (and optionally a page of its ledger) after
-- bringing it up to date (expired holds released, daily allowance applied).
-- Uses lib/args, lib/clock, lib/account.
--
-- KEYS[1]  account             <prefix>:{a:<actor>}:account (hash)
-- KEYS[2]  ledger              <prefix>:{a:<actor>}:ledger (stream)
-- KEYS[3]  holds               <prefix>:{a:<actor>}:holds (hash)
-- ARGV[1]  time_override       ms since the epoch ('' = Redis TIME)
-- ARGV[2]  daily_allowance     tokens
-- ARGV[3]  page_size           entries to return (0 = no ledger page)
-- ARGV[4]  cursor              id of the last entry already seen ('' = start at the newest)
-- ARGV[5]  idle_ttl_seconds    how long an idle account that holds nothing is kept (0 = ever)
-- ARGV[6]  read_only           '1': when bringing the account up to date would change its
--                              balance, change nothing and answer {"due"}, so the caller can
--                              run it again where the change can be confirmed by replicas
--                              ('' = bring it up to date)
--
-- Returns  {balance, updated ms (0 if never), now ms, open holds, tokens released by expired
--          holds in this call, changed (1 when this call changed the balance: releases or the
--          daily allowance), entries...} where each
--          entry is {id, kind, amount, balance_after, reason, request_id, at}; at most
--          page size + 1 entries (one extra tells the caller another page exists)
--          {"due"}   read_only, and the balance would change: nothing was written
local now = now_ms(ARGV[1])
local daily = int_arg(ARGV[2], 'daily_allowance', 0)
local limit = int_arg(ARGV[3], 'page_size', 0)
local idle_ttl = int_arg(ARGV[5], 'idle_ttl_seconds', 0)
if ARGV[6] == '1' and account_due(KEYS[1], KEYS[3], now, daily) then
  return {'due'}
end
local balance, released, changed = refresh_account(KEYS[1], KEYS[2], KEYS[3], now, daily)
expire_if_idle(KEYS[1], KEYS[2], KEYS[3], now, daily, idle_ttl)
local reply = {
  balance,
  tonumber(redis.call('HGET', KEYS[1], 'updated') or '0'),
  now,
  redis.call('HLEN', KEYS[3]),
  released,
  flag(changed),
}
-- Nothing is older than the first possible id (and "(0-0" is not a valid reverse start).
if limit > 0 and ARGV[4] ~= '0-0' then
  local start = '+'
  if ARGV[4] ~= '' then
    start = '(' .. ARGV[4]
  end
  local page = redis.call('XREVRANGE', KEYS[2], start, '-', 'COUNT', limit + 1)
  for _, entry in ipairs(flatten_entries(page)) do
    table.insert(reply, entry)
  end
end
return reply
