-- Memory against batch size, from each device's latest run.
SELECT device, precision, batch_size,
       cuda_peak_allocated_bytes / 1048576.0 AS cuda_allocated_mib,
       cuda_peak_reserved_bytes / 1048576.0 AS cuda_reserved_mib,
       nvml_process_bytes / 1048576.0 AS gpu_process_mib,
       host_peak_rss_bytes / 1048576.0 AS host_rss_mib
FROM v_latest
WHERE status = 'ok'
ORDER BY device, precision, batch_size;
