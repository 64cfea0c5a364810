"""One case in a fresh Python process, so that an OOM or a crash cannot poison the next."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from segtasks.launch.process import run_streamed
from segtasks.measure.failures import no_nvidia_driver
from segtasks.plan.case import Case
from segtasks.result import CaseResult

log = logging.getLogger(__name__)
WORKER = "segtasks.launch.worker"
CASE_FOLDER_PREFIX = "segbench-case-"


def crash_reason(returncode: int, stderr_tail: str) -> str:
    if returncode < 0:
        sig = signal.Signals(-returncode).name
        why = " (the kernel's OOM killer sends this when host memory runs out)" \
            if sig == "SIGKILL" else ""
        head = f"case process killed by {sig}{why}"
    else:
        head = f"case process exited with code {returncode} without a result"
    return head + (f"; last output: {stderr_tail}" if stderr_tail else "")


def _hardware_of_this_machine() -> tuple[str, dict]:
    """The fingerprint for a result the worker never wrote (it needs torch: a subprocess)."""
    code = "import json; from segtasks.measure import environment as e; " \
           "print(json.dumps(e.fingerprint()))"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120, check=True).stdout
        env = json.loads(out)
        return env["hardware_key"], env
    except (subprocess.SubprocessError, OSError, ValueError):
        return "unknown", {}


def run_case_isolated(
    case: Case, inputs: Path, weights: Path, timeout_s: float | None = None,
    watch_pid: int | None = None, python: str | None = None, headline_only: bool = False,
) -> CaseResult:
    """Run the case in a fresh Python process and return its result, whatever happened
    (but the death of `watch_pid`: see segtasks.launch.process.run_streamed).

    `python`: the interpreter of another environment (segtasks.envs) to measure in. The
    harness stays tonight's segtasks (put first on its path), so that only the packages
    under test differ between the two sides of a pair. `headline_only`: measure the timed
    loop only (segtasks.measure.case_runner.run_case)."""
    if case.device == "cuda" and python is None and (why := no_nvidia_driver()) is not None:
        return _skipped_here(case, why)
    remove_stale_case_folders()
    with tempfile.TemporaryDirectory(prefix=f"{CASE_FOLDER_PREFIX}{os.getpid()}-") as tmp:
        job, out = Path(tmp) / "case.json", Path(tmp) / "result.json"
        job.write_text(json.dumps(
            {"case": case.to_dict(), "inputs": str(inputs), "weights": str(weights),
             "headline_only": headline_only}
        ))
        cmd = [python or sys.executable, "-m", WORKER, str(job), str(out)]
        finished = run_streamed(cmd, label=case.key, timeout_s=timeout_s,
                                watch_pid=watch_pid, extra_env=harness_env(python))
        if out.is_file():
            return CaseResult.from_dict(json.loads(out.read_text()))
    hardware_key, env = _hardware_of_this_machine()
    reason = (
        f"case did not finish within {timeout_s:g} s"
        if finished.returncode is None
        else crash_reason(finished.returncode, finished.tail.strip()[-500:])
    )
    return CaseResult(case=case, status="error", reason=reason, hardware_key=hardware_key,
                      environment=env)


def _skipped_here(case: Case, reason: str) -> CaseResult:
    """A case this machine cannot run at all, recorded without a process of its own: with
    this process's fingerprint, which a skipped case's row keeps to join its series."""
    from segtasks.measure.environment import fingerprint

    env = fingerprint()
    log.info("%s: skipped without a process: %s", case.key, reason)
    return CaseResult(case=case, status="skipped", reason=reason,
                      hardware_key=env["hardware_key"], environment=env)


def harness_env(python: str | None) -> dict[str, str]:
    """The variables a process of another environment's interpreter runs with: tonight's
    segtasks first on its path, and its bytecode kept in that environment's folder
    (segtasks.envs.build.bytecode_env)."""
    if python is None or Path(python).absolute() == Path(sys.executable).absolute():
        return {}
    from segtasks.envs.build import bytecode_env

    root = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": root + (os.pathsep + rest if rest else ""), **bytecode_env(python)}


def remove_stale_case_folders() -> None:
    """The folders of cases whose parent was killed outright (SIGKILL gives it no chance to
    clean up): named with the parent's pid, removed once that process is gone."""
    import psutil

    for folder in Path(tempfile.gettempdir()).glob(f"{CASE_FOLDER_PREFIX}*-*"):
        owner = folder.name[len(CASE_FOLDER_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not psutil.pid_exists(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
