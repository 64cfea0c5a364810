-- CPU-vs-GPU speed-up per batch size and precision, from each device's latest run.
SELECT c.batch_size, c.precision,
       c.images_per_s AS cpu_images_per_s, g.images_per_s AS gpu_images_per_s,
       g.images_per_s / c.images_per_s AS gpu_speedup
FROM v_latest c
JOIN v_latest g ON g.batch_size = c.batch_size AND g.precision = c.precision
               AND g.channels_last = c.channels_last AND g.compile = c.compile
WHERE c.device = 'cpu' AND g.device = 'cuda' AND c.threads IS NULL
ORDER BY c.precision, c.batch_size;
