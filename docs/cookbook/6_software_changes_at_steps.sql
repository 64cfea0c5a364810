-- Nights whose throughput stepped by more than 5% from the night before, with the software
-- (torch, CUDA runtime, driver, code) that changed between the two.
SELECT started_at, case_key, prev_images_per_s, images_per_s,
       images_per_s / prev_images_per_s - 1 AS change,
       prev_torch_version, torch_version, prev_cuda_runtime, cuda_runtime,
       prev_nvidia_driver, nvidia_driver, prev_code_version, code_version
FROM v_series
WHERE prev_images_per_s IS NOT NULL
  AND abs(images_per_s / prev_images_per_s - 1) > 0.05
  AND (torch_version IS DISTINCT FROM prev_torch_version
       OR cuda_runtime IS DISTINCT FROM prev_cuda_runtime
       OR nvidia_driver IS DISTINCT FROM prev_nvidia_driver
       OR code_version IS DISTINCT FROM prev_code_version)
ORDER BY started_at DESC, case_key;
