"""Run a command, keep its whole output in a log, show what matters and say, whenever
`every` seconds pass without a line, that it is still running: a person never waits in
silence, and a failure still ends with the tail of the log and the command's exit status."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from segtasks.follow.airflow_tasks import DagTestTasks, message_of

HEARTBEAT_EVERY_S = 15.0
SHOWN_WIDTH = 160  # a shown line longer than this is cut (pip's one-line package lists)


def follow(command: Sequence[str], *, what: str, log: Path | None = None,
           every: float = HEARTBEAT_EVERY_S, show: Sequence[str] = (), show_all: bool = False,
           airflow_tasks: bool = False, tail: int = 40, out: TextIO | None = None) -> int:
    """Run `command`, return its exit status. Its lines go to `log` (if given); those that
    match a `show` pattern (all with `show_all`, one per finished task with
    `airflow_tasks`) are printed to `out`."""
    out = out if out is not None else sys.stdout
    patterns = [re.compile(p) for p in show]
    tasks = DagTestTasks() if airflow_tasks else None
    hidden = log is not None and not show_all
    started = last_printed = time.monotonic()
    recent: deque[str] = deque(maxlen=tail)
    last_seen = ""

    def say(text: str) -> None:
        nonlocal last_printed
        print(text, file=out, flush=True)
        last_printed = time.monotonic()

    say(f"==> {what}" + (f" (full output: {log})" if log is not None else ""))
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    # the child's Python output reaches us line by line, not in 8 KiB blocks
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", bufsize=1, env=env)
    except OSError as exc:
        say(f"{what} failed: cannot run {command[0]}: {exc.strerror}")
        return 127
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc, lines), daemon=True).start()

    with open(log, "w") if log is not None else contextlib.nullcontext() as log_file:
        while True:
            try:
                line = lines.get(timeout=max(0.0, last_printed + every - time.monotonic()))
            except queue.Empty:
                running = tasks.running() if tasks else None
                last = message_of(last_seen)
                detail = (f": {running}" if running
                          else f"; last: {_cut(last, 80)}" if hidden and last else "")
                say(f"... still {what}{detail} ({time.monotonic() - started:.0f} s so far)")
                continue
            if line is None:
                break
            if log_file is not None:
                log_file.write(line)
                log_file.flush()
            line = line.rstrip("\n")
            recent.append(line)
            if line.strip():
                last_seen = line.strip()
            if show_all or any(p.search(line) for p in patterns):
                say(_cut(line, SHOWN_WIDTH) if not show_all else line)
            for text in tasks.feed(line) if tasks else []:
                say(text)
    status = proc.wait()
    took = time.monotonic() - started
    if status != 0:
        if hidden:
            say(f"--- the last {len(recent)} lines of {log}:")
            for line in recent:
                say(line)
        say(f"{what} failed (exit status {status}, {took:.0f} s)"
            + (f"; full output in {log}" if log is not None else ""))
    elif hidden:
        say(f"    done in {took:.0f} s")
    return status


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)
    lines.put(None)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."

