-- Every regression of the last week, newest first.
SELECT started_at, case_key, metric, baseline, tonight, relative_change, detail
FROM v_regressions
WHERE started_at >= now() - interval '7 days'
ORDER BY started_at DESC, case_key;
