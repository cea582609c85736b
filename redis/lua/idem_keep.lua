-- Keeps the answer of a request that claimed an Idempotency-Key (idem_claim),
-- for the retries to come, or frees the key when a retry should run again
-- (an empty answer). Written whatever the deadline: the request ran. KEYS:
-- the idempotency key. ARGV: deadline_ms (not used), the answer or '', ms to
-- keep it. Answers {'OK'}.
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return {'OK'}
