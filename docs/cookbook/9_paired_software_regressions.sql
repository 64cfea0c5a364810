-- Tonight's software regressions on a paired night: the paired change (treatment over
-- control, less 1) with its interval, beside what the machine did and the packages that
-- changed between the baseline night's lock and tonight's.
SELECT r.started_at, v.case_key, v.metric, v.ratio - 1 AS change,
       v.ci_low - 1 AS ci_low_change, v.ci_high - 1 AS ci_high_change, v.pairs, v.mde,
       v.machine_verdict, v.machine_change, v.packages_changed
FROM paired_verdicts v
JOIN runs r ON r.id = v.run_pk
WHERE v.verdict = 'regression'
  AND r.id = (SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1)
ORDER BY v.case_key, v.metric;
