-- The latest table per device: every case of the last run that measured each device.
SELECT device, precision, batch_size, status, images_per_s, latency_p90_ms, stable,
       cuda_peak_reserved_bytes / 1073741824.0 AS cuda_reserved_gib,
       host_peak_rss_bytes / 1073741824.0 AS host_rss_gib
FROM v_latest
ORDER BY device, precision, batch_size;
