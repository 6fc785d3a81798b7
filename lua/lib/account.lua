-- lib/account.lua — helpers shared by the scripts that touch an actor's account.
--
-- Prepended (src/store/scripts.rs) to the scripts that declare it, so each of them runs as
-- one self-contained script.
--
-- Account hash fields: balance (integer tokens), day (UTC day number of the last
-- allowance check), updated (ms of the last balance change).
-- Holds hash: field = hold id, value = "<amount>:<expires ms>:<request id>".
-- Ledger: a stream; every balance change appends one entry in the same script:
--   kind, amount (signed), balance_after, reason, request_id, at (ms).

local function append_entry(ledger, kind, amount, balance, reason, request_id, now)
  return redis.call('XADD', ledger, '*',
    'kind', kind, 'amount', amount, 'balance_after', balance,
    'reason', reason, 'request_id', request_id, 'at', now)
end

-- Brings the account up to date before anything else: releases holds whose lease ran out
-- (their request never finished) and applies the daily allowance on the first touch of a
-- UTC day. Writes only when something changed. Returns the balance, the tokens released and
-- whether the balance changed (a release or an allowance: ledger entries a caller waiting
-- for replicas must wait for).
local function refresh_account(acct, ledger, holds, now, daily)
  local balance = tonumber(redis.call('HGET', acct, 'balance') or '0')
  local changed = false
  local released = 0
  local held = redis.call('HGETALL', holds)
  for i = 1, #held, 2 do
    local amount, expires, request_id = string.match(held[i + 1], '^(%d+):(%d+):(.*)$')
    if tonumber(expires) <= now then
      redis.call('HDEL', holds, held[i])
      balance = balance + tonumber(amount)
      released = released + tonumber(amount)
      append_entry(ledger, 'release', tonumber(amount), balance,
        'hold released: its request did not finish within the lease', request_id, now)
      changed = true
    end
  end
  -- Only a later day grants: Redis time stepping back across midnight (a failover to a
  -- replica whose clock is behind) must not grant the same day twice.
  local day = math.floor(now / 86400000)
  if tonumber(redis.call('HGET', acct, 'day') or '-1') < day then
    if balance < daily then
      local credit = daily - balance
      balance = daily
      append_entry(ledger, 'daily_grant', credit, balance, 'daily allowance', '', now)
      changed = true
    end
    redis.call('HSET', acct, 'day', day)
  end
  if changed then
    redis.call('HSET', acct, 'balance', balance, 'updated', now)
  end
  return balance, released, changed
end

-- Whether bringing the account up to date would change its balance: a hold whose lease ran
-- out, or the day's allowance to credit. Reads only.
local function account_due(acct, holds, now, daily)
  for _, held in ipairs(redis.call('HVALS', holds)) do
    local expires = string.match(held, '^%d+:(%d+):')
    if tonumber(expires) <= now then
      return true
    end
  end
  local day = math.floor(now / 86400000)
  return tonumber(redis.call('HGET', acct, 'day') or '-1') < day
    and tonumber(redis.call('HGET', acct, 'balance') or '0') < daily
end

-- A reply's flag for "this call changed the account".
local function flag(changed)
  if changed then
    return 1
  end
  return 0
end

-- An idle account that holds nothing beyond what a new one would get (no open hold, a
-- balance not above the daily allowance) may be forgotten: recreated later it starts with
-- the allowance, which it would have been topped up to anyway — but never before the next
-- UTC day, or spending today and coming back new would grant today twice. With idle_ttl
-- 0 (API-key mode) accounts are kept. Called last by every script that touches the account.
local function expire_if_idle(acct, ledger, holds, now, daily, idle_ttl_seconds)
  if idle_ttl_seconds <= 0 then
    return
  end
  local balance = tonumber(redis.call('HGET', acct, 'balance') or '0')
  if balance <= daily and redis.call('HLEN', holds) == 0 then
    local until_tomorrow = 86400000 - (now % 86400000)
    local ttl = math.max(idle_ttl_seconds * 1000, until_tomorrow)
    redis.call('PEXPIRE', acct, ttl)
    redis.call('PEXPIRE', ledger, ttl)
  else
    redis.call('PERSIST', acct)
    redis.call('PERSIST', ledger)
  end
end

-- The stream entries as flat arrays {id, kind, amount, balance_after, reason, request_id, at}.
local function flatten_entries(entries)
  local out = {}
  for _, entry in ipairs(entries) do
    local f = {}
    local fields = entry[2]
    for i = 1, #fields, 2 do
      f[fields[i]] = fields[i + 1]
    end
    table.insert(out, {entry[1], f.kind, f.amount, f.balance_after, f.reason, f.request_id, f.at})
  end
  return out
end
