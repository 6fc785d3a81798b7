-- lib/idempotency.lua — the idempotency record of one (caller, operation, key).
--
-- Prepended (src/store/scripts.rs) to the scripts that declare it: admit (look up, claim,
-- store a known answer), ledger_settle and idempotency_finish (end a claim).
--
-- Record hash fields: state ("running" while its request runs, "done" once the final
-- response is kept), hash (SHA-256 of the canonical request body), owner (token of the
-- request that claimed it), status and body (the final response, state "done" only).
-- A running record expires after its lease (a crashed owner frees the key); a done record
-- after the stored response's time to live.

-- What an existing record means for the request `owner` with body hash `hash`:
-- nil (no record, or the record is this request's own: admission ran twice for it),
-- {'mismatch'}, {'replay', status, body} or {'in_flight', ms left}.
local function idem_lookup(key, hash, owner)
  local record = redis.call('HMGET', key, 'state', 'hash', 'status', 'body', 'owner')
  if not record[1] or record[5] == owner then
    return nil
  end
  if record[2] ~= hash then
    return {'mismatch'}
  end
  if record[1] == 'done' then
    return {'replay', record[3], record[4]}
  end
  return {'in_flight', redis.call('PTTL', key)}
end

-- The records of one caller are indexed (member: record key, score: when it expires at the
-- latest), so a caller can be held to a number of live records however many keys it
-- invents. Returns nil when another record may be added, else ms until one expires.
local function idem_room(index, now, max_records)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  if redis.call('ZCARD', index) < max_records then
    return nil
  end
  local oldest = redis.call('ZRANGE', index, 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) - now, 1)
end

local function idem_index(index, key, now, expires_at)
  redis.call('ZADD', index, expires_at, key)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', index, math.max(tonumber(last[2]) - now, 1))
end

-- Claims the key for a request that is about to run.
local function idem_claim(key, hash, owner, lease_ms)
  redis.call('HSET', key, 'state', 'running', 'hash', hash, 'owner', owner)
  redis.call('PEXPIRE', key, lease_ms)
end

-- Keeps a final response that is known at once (no claim needed).
local function idem_store(key, hash, owner, status, body, ttl_seconds)
  redis.call('HSET', key, 'state', 'done', 'hash', hash, 'owner', owner,
    'status', status, 'body', body)
  redis.call('EXPIRE', key, ttl_seconds)
end

-- Ends the claim of `owner`: "store" keeps the final response for replays, "forget" drops
-- the claim so a retry runs again. Returns "stored", "forgotten" or "not_owner" (the lease
-- ran out and the key is free or someone else's: nothing is written).
local function idem_finish(key, owner, mode, status, body, ttl_seconds)
  if redis.call('HGET', key, 'owner') ~= owner then
    return 'not_owner'
  end
  if mode == 'store' then
    redis.call('HSET', key, 'state', 'done', 'status', status, 'body', body)
    redis.call('EXPIRE', key, ttl_seconds)
    return 'stored'
  end
  redis.call('DEL', key)
  return 'forgotten'
end
