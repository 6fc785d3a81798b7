-- idempotency_confirm.lua — rewrite a stored final answer unchanged, so that the caller's
-- WAIT (replica acknowledgements) covers it before the answer is replayed: WAIT waits for
-- what the caller's own connection wrote, and the answer was written through another.
--
-- KEYS[1]  idempotency_record  <prefix>:{a:<actor>}:idem:<scope>:<key hash>
--
-- Returns  1 when the record holds a final answer (rewritten as it was), 0 when it no longer
--          does (nothing written)
if redis.call('HGET', KEYS[1], 'state') == 'done' then
  redis.call('HSET', KEYS[1], 'state', 'done')
  return 1
end
return 0
