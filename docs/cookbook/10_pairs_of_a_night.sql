-- Each pair of the latest paired night: which side ran first (or both together, in a
-- duet), each side's images/s, and their ratio.
SELECT c.case_key, c.pair, c.mode,
       CASE WHEN c.position < t.position THEN 'control'
            WHEN t.position < c.position THEN 'treatment'
            ELSE 'together' END AS first,
       c.images_per_s AS control_images_per_s, t.images_per_s AS treatment_images_per_s,
       t.images_per_s / c.images_per_s AS ratio
FROM pairs c
JOIN pairs t ON t.run_pk = c.run_pk AND t.case_key = c.case_key AND t.pair = c.pair
            AND t.side = 'treatment'
WHERE c.side = 'control'
  AND c.run_pk = (SELECT p.run_pk FROM pairs p JOIN runs r ON r.id = p.run_pk
                  ORDER BY r.started_at DESC, r.id DESC LIMIT 1)
ORDER BY c.case_key, c.pair;
