"""Judging a night against earlier nights of the same series (no torch here).

`thresholds` builds each series' thresholds from the run parameters (the one place that
does); `decide` is the pure decision on one metric; `night` turns a loaded night into
verdicts; `evidence` loads what a night is judged against.
"""
