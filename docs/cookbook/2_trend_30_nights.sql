-- The throughput trend of one case over the last 30 nights, on the machine that ran it last.
SELECT started_at, images_per_s, latency_p90_ms, ci_rel, stable, torch_version
FROM v_series
WHERE case_key = 'cpu-bs4-fp32'
  AND hardware_key = (SELECT hardware_key FROM v_series WHERE case_key = 'cpu-bs4-fp32'
                      ORDER BY started_at DESC LIMIT 1)
  AND started_at >= now() - interval '30 days'
ORDER BY started_at;
