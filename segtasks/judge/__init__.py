"""Judging a night against earlier nights of the same series (no torch here).

`thresholds` builds each series' thresholds from the run parameters (the one place that
does); `decide` is the pure decision on one metric (noise, minimum detectable effect,
screening); `confirm` turns a screened change and its same-night re-measurements into a
confirmed or unconfirmed verdict; `steps` pools the nights since a suspected change;
`series` takes one metric of one case through all three; `night` turns a loaded night
into verdicts; `evidence` loads what a night is judged against; `stored` is the I/O.
"""
