"""segtasks.follow: what `make run` prints while a step runs (one line per finished Airflow
task, a heartbeat when a step is quiet) and that a failure keeps its exit status. The fake
commands print lines copied from a real `airflow dags test` run of Airflow 3.3 and sleep a
few tenths of a second; the heartbeat interval is a tenth of a second."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from segtasks.follow.__main__ import main
from segtasks.follow.airflow_tasks import DagTestTasks
from segtasks.follow.runner import follow

RUN = "manual__2026-12-07T10:50:10.312878+00:00"
TI = "ti_id=01a25020-1acf-7ee3-a7e9-a6fb706cf52a"
API = "[airflow.api_fastapi.execution_api.routes.task_instances]"
DAG = "[airflow.sdk.definitions.dag]"


def _starting(ts: str, task: str, index: int) -> str:
    return f"{ts} [info     ] [DAG TEST] starting task_id={task} map_index={index} {DAG} " \
           "loc=dag.py:1501"


def _state(ts: str, state: str) -> str:
    return (f"{ts} [info     ] Task instance state updated    {API} correlation_id=01a2 "
            f"loc=task_instances.py:485 new_state={state} rows_affected=1 {TI}")


def _ended(ts: str, task: str, index: int) -> str:
    return f"{ts} [info     ] [DAG TEST] end task task_id={task} map_index={index} {DAG} " \
           "loc=dag.py:1563"


NIGHT = [
    "2026-12-07T10:50:08.464360Z [warning  ] Could not import graphviz. [py.warnings] "
    "category=UserWarning",
    _starting("2026-12-07T10:50:11.094637Z", "plan_cpu", -1),
    f"2026-12-07T10:50:14.483852Z [info     ] Task started                   {API} "
    f"hostname=vm loc=task_instances.py:226 previous_state=queued {TI}",
    "2026-12-07T10:50:14.562945Z [info     ] Done. Returned value was: [{'device': 'cpu', "
    "'batch_size': 1}] [airflow.task.operators.airflow.providers.standard.decorators.python."
    "_PythonDecoratedOperator] loc=python.py:233",
    _state("2026-12-07T10:50:14.593184Z", "success"),
    _ended("2026-12-07T10:50:14.638271Z", "plan_cpu", -1),
    f"2026-12-07T10:50:14.953760Z [info     ] Marking <TaskInstance: segbench_nightly.bench_cuda "
    f"{RUN} [None] {TI}> as SKIPPED since the map has 0 values to expand "
    "[airflow.serialization.definitions.mappedoperator.SerializedMappedOperator] "
    "loc=taskmap.py:196",
    _starting("2026-12-07T10:50:14.967253Z", "bench_cpu", 0),
    # structlog pads a short message with spaces
    "2026-12-07T10:50:15.101000Z [info     ] case: cpu bs=1 fp32            "
    "[unusual_prefix_0123abcd_segbench_nightly] loc=segbench_nightly.py:140",
    "2026-12-07T10:55:08.993898Z [info     ] [cpu-bs1-fp32] WARNING "
    "segtasks.measure.case_runner: cpu-bs1-fp32: disturbed: other processes used 36% of the "
    "cores in use (at most 10% allowed) [segtasks.launch.process] loc=process.py:116",
    "2026-12-07T10:55:11.603679Z [warning  ] cpu-bs1-fp32 was disturbed (other processes used "
    "36% of the cores in use (at most 10% allowed)): measuring it again in a fresh process "
    "[segtasks.launch.attempts] loc=attempts.py:34",
    "2026-12-07T10:56:01.100000Z [info     ] cpu-bs1-fp32: ok (3.210 images/s) "
    "[segtasks.nightly] loc=nightly.py:114",
    _state("2026-12-07T10:56:01.200000Z", "success"),
    _ended("2026-12-07T10:56:01.467253Z", "bench_cpu", 0),
    _starting("2026-12-07T10:56:02.000000Z", "bench_cpu", 1),
    "2026-12-07T10:56:09.000000Z [info     ] [cpu-bs2-fp32] worker started "
    "[segtasks.launch.process] loc=process.py:116",
    _state("2026-12-07T10:56:12.500000Z", "up_for_retry"),
    _ended("2026-12-07T10:56:12.500000Z", "bench_cpu", 1),
    f"2026-12-07T10:58:00.000000Z [info     ] Marking run <DagRun segbench_nightly @ 2026-12-07 "
    f"10:50:08.569767+00:00: {RUN}, state:running, queued_at: None. run_type: manual> failed "
    "[airflow.models.dagrun.DagRun] loc=dagrun.py:1219",
]

SHOWN = [
    "  plan_cpu: success in 3.5 s",
    "  bench_cuda: skipped (nothing to map)",
    "    warning: cpu-bs1-fp32: disturbed: other processes used 36% of the cores in use "
    "(at most 10% allowed)",
    "    warning: cpu-bs1-fp32 was disturbed (other processes used 36% of the cores in use "
    "(at most 10% allowed)): measuring it again in a fresh process",
    # the case as the DAG names it (Airflow's map index name), and what segbench measured
    "  bench_cpu[0] (cpu bs=1 fp32): success in 346.5 s; ok (3.210 images/s)",
    # a task that logged no case: named after its worker's case key
    "  bench_cpu[1] (cpu-bs2-fp32): up_for_retry in 10.5 s",
    "DAG run segbench_nightly: failed",
]


def test_a_dag_test_log_reads_as_one_line_per_finished_task_with_its_case():
    tasks = DagTestTasks()
    shown = [text for line in NIGHT for text in tasks.feed(line + "\n")]
    assert shown == SHOWN
    assert tasks.running() is None


def test_the_task_under_way_is_named_with_its_case_and_how_long_it_has_run():
    from datetime import UTC, datetime

    tasks = DagTestTasks()
    for line in NIGHT[:9]:  # bench_cpu[0] started at 10:50:14.97 and named its case
        tasks.feed(line)
    now = datetime(2026, 12, 7, 10, 51, 0, tzinfo=UTC)
    assert tasks.running(now) == "bench_cpu[0] (cpu bs=1 fp32) running for 45 s"


def test_between_tasks_the_heartbeat_quotes_the_last_message_without_its_fields(tmp_path):
    out = _TimedLines()
    command = _script(tmp_path, NIGHT[:1], pause_after=0, pause_s=0.35, status=0)
    assert follow(command, what="running the DAG", log=tmp_path / "dag.log", every=0.1,
                  airflow_tasks=True, out=out) == 0  # type: ignore[arg-type]
    assert any(re.fullmatch(r"\.\.\. still running the DAG; last: Could not import graphviz\. "
                            r"\(\d+ s so far\)", t) for t in out.texts()), out.texts()


class _TimedLines:
    """An `out` that notes when each line was printed."""

    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            self.lines.append((time.monotonic(), line))
        return len(text)

    def flush(self) -> None:
        pass

    def texts(self) -> list[str]:
        return [line for _, line in self.lines]


def _script(tmp_path: Path, lines: list[str], *, pause_after: int, pause_s: float,
            status: int) -> list[str]:
    """A command that prints `lines`, pausing `pause_s` after line number `pause_after`."""
    script = tmp_path / "fake_airflow.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        lines = {lines!r}
        for number, line in enumerate(lines):
            print(line, flush=True)
            if number == {pause_after}:
                time.sleep({pause_s})
        sys.exit({status})
    """))
    return [sys.executable, str(script)]


def test_a_dag_run_prints_each_task_as_it_ends_and_a_heartbeat_while_a_task_is_quiet(tmp_path):
    out = _TimedLines()
    log = tmp_path / "var" / "last-dag-test.log"
    command = _script(tmp_path, NIGHT, pause_after=8, pause_s=2.0, status=0)
    status = follow(command, what="running the DAG", log=log, every=0.2,
                    airflow_tasks=True, out=out)  # type: ignore[arg-type]

    assert status == 0
    texts = out.texts()
    assert texts[0] == f"==> running the DAG (full output: {log})"
    # the tasks in order, with the heartbeats between them
    assert [t for t in texts[1:-1] if not t.startswith("... still")] == SHOWN
    beats = [t for t in texts if t.startswith("... still")]
    # while bench_cpu[0] was quiet, it is named with its case (a loaded machine may also
    # be slow to start the fake command: beats before its first line name no task)
    during = [t for t in beats if t.startswith(
        "... still running the DAG: bench_cpu[0] (cpu bs=1 fp32) running for ")]
    assert len(during) >= 3
    assert all(t in during or re.fullmatch(r"\.\.\. still running the DAG \(\d+ s so far\)", t)
               for t in beats), beats
    assert texts[-1].startswith("    done in ")
    gaps = [b - a for (a, _), (b, _) in zip(out.lines, out.lines[1:], strict=False)]
    # a heartbeat within the interval, give or take a loaded machine's scheduling (without
    # one, the 2 s pause would be a gap)
    assert max(gaps) < 0.2 + 1.0
    assert log.read_text().splitlines() == NIGHT  # the whole output, untouched


def test_a_failed_command_keeps_its_exit_status_and_shows_the_tail_of_its_log(tmp_path):
    out = _TimedLines()
    log = tmp_path / "dag.log"
    command = _script(tmp_path, [f"line {n}" for n in range(10)], pause_after=-1, pause_s=0,
                      status=3)
    assert follow(command, what="running the DAG", log=log, tail=4, out=out) == 3  # type: ignore[arg-type]
    texts = out.texts()
    assert texts[-6:] == [f"--- the last 4 lines of {log}:", "line 6", "line 7", "line 8",
                          "line 9", texts[-1]]
    assert texts[-1].startswith("running the DAG failed (exit status 3, ")
    assert texts[-1].endswith(f"; full output in {log}")


def test_a_hidden_output_shows_the_lines_asked_for_and_the_last_line_in_the_heartbeat(
        tmp_path):
    out = _TimedLines()
    lines = ["Collecting torch<3,>=2.14", "Installing collected packages: " + "pkg " * 100,
             "Successfully installed " + "pkg-1.0 " * 100]
    command = _script(tmp_path, lines, pause_after=0, pause_s=0.35, status=0)
    assert follow(command, what="installing", log=tmp_path / "install.log", every=0.1,
                  show=[r"^Successfully installed"], out=out) == 0  # type: ignore[arg-type]
    texts = out.texts()
    assert any(re.fullmatch(r"\.\.\. still installing; last: Collecting torch<3,>=2\.14 "
                            r"\(\d+ s so far\)", t) for t in texts)
    shown = [t for t in texts if t.startswith("Successfully")]
    assert len(shown) == 1 and len(shown[0]) == 160 and shown[0].endswith("...")
    assert not any(t.startswith("Installing") for t in texts)


def test_the_command_line_shows_everything_without_a_log_and_passes_the_status_on(
        tmp_path, capsys):
    command = _script(tmp_path, ["wrote 64 images"], pause_after=-1, pause_s=0, status=5)
    assert main(["--what", "writing the inputs", "--", *command]) == 5
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == ["==> writing the inputs", "wrote 64 images"]
    assert printed[2].startswith("writing the inputs failed (exit status 5, ")
    assert len(printed) == 3  # the output was shown already: no tail of a log


def test_a_command_that_cannot_start_is_a_failure_with_a_reason(tmp_path):
    out = _TimedLines()
    assert follow([str(tmp_path / "missing")], what="x", out=out) == 127  # type: ignore[arg-type]
    assert out.texts()[-1].startswith("x failed: cannot run ")


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_every_step_of_make_run_goes_through_the_follower():
    """So that no step of `make run` can be silent for long (a dry run: nothing executes)."""
    root = Path(__file__).resolve().parents[1]
    # under `make test` the outer make's variables would add "Entering directory" lines
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry = subprocess.run(["make", "--no-print-directory", "-n", "-B", "run", "TRAIN=1",
                          "PYTHON=python3"], cwd=root, env=env, text=True,
                         capture_output=True, check=True).stdout
    commands = [c for c in dry.replace("\\\n", " ").splitlines() if c.strip()]
    steps = [c for c in commands if not c.startswith(("mkdir ", "touch "))]
    assert len(steps) >= 7  # install, Airflow, data, training, results DB, DAG, report
    assert all(c.startswith("python3 -m segtasks.follow --what ") for c in steps), steps
    assert any("--airflow-tasks" in c and "airflow dags test" in c for c in steps)
    assert any("segbench train-demo" in c for c in steps)
