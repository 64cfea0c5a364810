"""One line per task of an `airflow dags test` run, from the log lines Airflow 3.3 prints.

`dags test` runs the tasks one at a time in its own process and logs, for each one,
"[DAG TEST] starting task_id=... map_index=..." then, at the end, the state the task reached
("Task instance state updated ... new_state=success") and "[DAG TEST] end task ...". The
rendered map index (the case's label) is not logged, so segbench's bench and confirm tasks
log it ("case: cpu bs=1 fp32"); the worker's lines, prefixed "[<case key>]", and the task's
outcome from segtasks.nightly, "<case key>: <status> (...)", name the case too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

# 2026-12-07T10:50:14.638271Z [info     ] message [logger.name] key=value ...
# (the logger is the last [dotted.name]: a message may hold brackets, "[None]", "[cpu-bs1]")
_LINE = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT[\d:.]+Z?) \[(?P<level>\w+)\s*\] (?P<msg>.*)"
                   r"\s+\[(?P<logger>[\w.]+)\](?P<rest>(?: \w+=.*)?)$")
_STARTING = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>\S+) map_index=(?P<index>-?\d+)")
_ENDED = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>\S+) map_index=(?P<index>-?\d+)")
_NEW_STATE = re.compile(r"\bnew_state=(?P<state>\w+)")
_NOTHING_TO_MAP = re.compile(r"^Marking <TaskInstance: [\w-]+\.(?P<task>\S+) .* as SKIPPED since "
                             r"the map has 0 values to expand")
_RUN_ENDED = re.compile(r"^Marking run <DagRun (?P<dag>\S+) .*> (?P<how>successful|failed)$")
# segtasks.nightly: "cpu-bs1-fp32: ok (12.3 images/s)", "... (confirming process 1): ok (...)"
_OUTCOME = re.compile(r"^(?P<case>[\w.=-]+(?: \(confirming process \d+\))?): (?P<outcome>.+)$")
_CASE = re.compile(r"^case: (?P<case>.+)$")  # logged by the DAG's bench and confirm tasks
_WORKER_LINE = re.compile(r"^\[(?P<case>[\w.=-]+)\] (?P<text>.*)$")
# what the worker's own logging prints: "WARNING segtasks.measure.case_runner: <message>"
_WORKER_PROBLEM = re.compile(r"^(?P<level>WARNING|ERROR|CRITICAL) [\w.]+: (?P<text>.*)$")


@dataclass
class _Task:
    task_id: str
    map_index: int
    started: datetime | None
    state: str | None = None
    case: str | None = None
    outcome: str | None = None


def message_of(line: str) -> str:
    """An Airflow log line's message, without its timestamp, level and fields; any other
    line as it is."""
    match = _LINE.match(line)
    return match["msg"].rstrip() if match else line


def _timestamp(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class DagTestTasks:
    """Feed it the log's lines; it answers the lines to show (possibly none) for each."""

    def __init__(self) -> None:
        self.current: _Task | None = None

    def running(self, now: datetime | None = None) -> str | None:
        """The task under way and for how long (by the log's clock, UTC), for the heartbeat."""
        if self.current is None:
            return None
        now = now or datetime.now(UTC)
        started = self.current.started
        took = f" for {(now - started).total_seconds():.0f} s" if started is not None else ""
        return f"{_name(self.current)} running{took}"

    def feed(self, line: str) -> list[str]:
        match = _LINE.match(line.rstrip("\n"))
        if match is None:
            return []
        msg, logger, rest = match["msg"].rstrip(), match["logger"], match["rest"]
        if started := _STARTING.match(msg):
            self.current = _Task(started["task"], int(started["index"]),
                                 _timestamp(match["ts"]))
            return []
        if ended := _ENDED.match(msg):
            task = self.current
            if task is None or task.task_id != ended["task"]:
                task = _Task(ended["task"], int(ended["index"]), None)
            self.current = None
            return [_task_line(task, _timestamp(match["ts"]))]
        if skipped := _NOTHING_TO_MAP.match(msg):
            return [f"  {skipped['task']}: skipped (nothing to map)"]
        if run_ended := _RUN_ENDED.match(msg):
            how = "success" if run_ended["how"] == "successful" else "failed"
            return [f"DAG run {run_ended['dag']}: {how}"]
        if self.current is None:
            return []
        if (state := _NEW_STATE.search(rest)) and "state updated" in msg:
            self.current.state = state["state"]
        elif case := _CASE.match(msg):
            self.current.case = case["case"]
        elif logger == "segtasks.nightly" and (outcome := _OUTCOME.match(msg)):
            self.current.case = self.current.case or outcome["case"]
            self.current.outcome = outcome["outcome"]
        elif logger == "segtasks.launch.process" and (worker := _WORKER_LINE.match(msg)):
            self.current.case = self.current.case or worker["case"]
            if problem := _WORKER_PROBLEM.match(worker["text"]):
                return [f"    {problem['level'].lower()}: {problem['text']}"]
        elif logger.startswith("segtasks.") and match["level"] in ("warning", "error"):
            # e.g. a disturbed case measured again: why this task takes long
            return [f"    {match['level']}: {msg}"]
        return []


def _name(task: _Task) -> str:
    name = task.task_id if task.map_index < 0 else f"{task.task_id}[{task.map_index}]"
    return f"{name} ({task.case})" if task.case else name


def _task_line(task: _Task, ended: datetime | None) -> str:
    took = (f" in {(ended - task.started).total_seconds():.1f} s"
            if ended is not None and task.started is not None else "")
    outcome = f"; {task.outcome}" if task.outcome else ""
    return f"  {_name(task)}: {task.state or 'ended'}{took}{outcome}"
