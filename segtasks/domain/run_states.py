"""What a run's `state` can be, and which of them are a finished night.

A run is opened `running`; the night's last step closes it (segtasks.nightly.judge_and_close)
as `success`, `regressed` (a regression or outputs that left the golden ones), `failed` (a
case errored, or nothing was measured) or `incomplete` (tasks that did not finish: cases
with no stored result, named in `runs.unfinished`). A run nobody closed is closed by the
next night: `abandoned` (silent longer than its budget) or `incomplete` (a later run of
its DAG opened, which Airflow allows only once it ended). `segbench run` stopped by a
signal closes its run as `interrupted`.
"""

from __future__ import annotations

RUNNING = "running"
SUCCESS = "success"
REGRESSED = "regressed"
FAILED = "failed"
INCOMPLETE = "incomplete"
ABANDONED = "abandoned"
INTERRUPTED = "interrupted"

# every planned case measured and judged: the pipeline worked, whatever the verdicts
COMPLETE = frozenset({SUCCESS, REGRESSED})
# the night did not do its work: it needs someone (segtasks.report.attention)
BROKEN = frozenset({FAILED, INCOMPLETE, ABANDONED, INTERRUPTED})


def is_finished(state: str) -> bool:
    """Closed, one way or another (not `running`)."""
    return state != RUNNING
