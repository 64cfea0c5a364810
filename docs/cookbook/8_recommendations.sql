-- Which configuration to ship: the Pareto front of each device's latest run on each
-- machine (images/s, p90 latency, peak memory, energy per image), across runtimes
-- (torch, onnxruntime, openvino), fastest first.
SELECT p.device, p.hardware_name, p.runtime, p.precision, p.channels_last, p.compile,
       p.batch_size, p.images_per_s, p.speedup_vs_fp32_eager, p.latency_p90_ms,
       p.memory_bytes / 1073741824.0 AS memory_gib, p.energy_j_per_image, p.masks_identical
FROM v_recommendations p
WHERE p.started_at = (SELECT MAX(l.started_at) FROM v_recommendations l
                      WHERE l.device = p.device AND l.hardware_key = p.hardware_key)
ORDER BY p.device, p.images_per_s DESC;
