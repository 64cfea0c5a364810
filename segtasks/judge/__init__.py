"""Judging a night against earlier nights of the same series (no torch here).

`thresholds` builds each series' thresholds from the run parameters (the one place that
does); `decide` is the pure decision on one metric (noise, minimum detectable effect,
screening, the criterion `flagged`); `confirm` turns a screened change and its same-night
re-measurements into a confirmed or unconfirmed verdict; `steps` pools the nights since a
suspected change; `series.judge_series` is the detector: one metric of one series, as
plain values, through all three (the nightly and benchmarks/detector_rules.py call it);
`two_runs` answers the compare page's question (do two chosen nights differ) with the same
criterion; `night` turns a loaded night into verdicts; `outputs` judges outputs and their
drift from the golden ones; `evidence` loads what a night is judged against (frozen values
from the store, segtasks.domain); `stored` is the I/O.
"""
