-- account_touch.lua — read an actor's account (and optionally a page of its ledger) after
-- bringing it up to date (expired holds released, daily allowance applied).
-- Prepended with lib/account.lua.
--
-- KEYS[1]  account hash        <prefix>:{a:<actor>}:account
-- KEYS[2]  ledger stream       <prefix>:{a:<actor>}:ledger
-- KEYS[3]  holds hash          <prefix>:{a:<actor>}:holds
-- ARGV[1]  time override, ms ('' = Redis TIME)
-- ARGV[2]  daily allowance (tokens)
-- ARGV[3]  page size (0 = no ledger page)
-- ARGV[4]  cursor: the id of the last entry already seen ('' = start at the newest)
--
-- Returns  {balance, updated ms (0 if never), now ms, open holds, tokens released by expired
--          holds in this call, entries...} where each
--          entry is {id, kind, amount, balance_after, reason, request_id, at}; at most
--          page size + 1 entries (one extra tells the caller another page exists).
local now = now_ms(ARGV[1])
local balance, released = refresh_account(KEYS[1], KEYS[2], KEYS[3], now, tonumber(ARGV[2]))
local reply = {
  balance,
  tonumber(redis.call('HGET', KEYS[1], 'updated') or '0'),
  now,
  redis.call('HLEN', KEYS[3]),
  released,
}
local limit = tonumber(ARGV[3])
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
