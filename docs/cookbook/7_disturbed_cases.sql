-- Cases the machine did not leave alone in the last week (measured twice, not compared),
-- with the cause.
SELECT started_at, case_key, attempts, interference, steal, validity_reason
FROM v_results
WHERE valid = false
  AND started_at >= now() - interval '7 days'
ORDER BY started_at DESC, case_key;
