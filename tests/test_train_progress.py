"""What `segbench train-demo` prints while it trains: a line at least every 15 s, with a fake
clock (no sleeping), and the real ticker thread once with a tiny interval."""

from __future__ import annotations

import io
import re
import time

import pytest

from segtasks.measure.train_progress import LINE_EVERY_S, TrainingProgress


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _progress(clock: FakeClock, every: float = LINE_EVERY_S
              ) -> tuple[TrainingProgress, io.StringIO]:
    out = io.StringIO()
    return TrainingProgress(400, out=out, every=every, clock=clock, bar=False), out


def test_steps_print_a_line_once_the_interval_has_passed_and_evaluations_always():
    clock = FakeClock()
    progress, out = _progress(clock)
    printed_at: list[float] = []
    for step in range(1, 41):  # 4 s a step, an evaluation every tenth
        clock.now += 4.0
        before = out.getvalue().count("\n")
        if step % 10 == 0:
            progress.evaluated(step, 0.5 - step / 100, 0.6 + step / 100, 0.55 + step / 100)
        else:
            progress.stepped(step, 0.5 - step / 100)
        if out.getvalue().count("\n") > before:
            printed_at.append(clock.now - 1000.0)

    lines = out.getvalue().splitlines()
    assert len(lines) == len(printed_at)
    gaps = [b - a for a, b in zip([0.0, *printed_at], printed_at, strict=False)]
    assert max(gaps) <= LINE_EVERY_S + 4.0  # at most one step late
    assert lines[0] == "step 4/400: loss 0.4600, 16 s elapsed"
    # the evaluation at step 10 came 8 s after the line at step 8: printed anyway
    assert lines[1:3] == [
        "step 8/400: loss 0.4200, 32 s elapsed",
        "step 10/400: loss 0.4000, held-out IoU 0.7000, 40 s elapsed, at full size through the "
        "pipeline 0.6500"]
    # the next steps carry its IoU and say when it was measured
    assert lines[3] == "step 14/400: loss 0.3600, held-out IoU 0.7000 at step 10, 56 s elapsed"
    assert len(lines) == 12


def test_the_ticker_speaks_for_a_step_slower_than_the_interval():
    clock = FakeClock()
    progress, out = _progress(clock)
    progress.phase("building the model and running the first step")
    clock.now += 10.0
    progress.tick()
    assert out.getvalue() == ""  # quiet for less than the interval: nothing
    clock.now += 6.0
    progress.tick()
    assert out.getvalue() == "step 0/400: building the model and running the first step, " \
                             "16 s elapsed\n"
    progress.stepped(1, 0.7)  # just after a line: nothing new
    clock.now += 15.0
    progress.tick()
    assert out.getvalue().splitlines()[-1] == "step 1/400: loss 0.7000, 31 s elapsed"


def test_the_real_ticker_thread_prints_while_the_loop_is_silent():
    out = io.StringIO()
    with TrainingProgress(10, out=out, every=0.05, bar=False) as progress:
        progress.stepped(1, 0.25)
        deadline = time.monotonic() + 5
        while out.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all(re.fullmatch(r"step 1/10: loss 0\.2500, \d+ s elapsed", line)
                                   for line in lines)


def test_a_bar_on_a_terminal_keeps_the_lines_above_it():
    pytest.importorskip("tqdm")
    clock = FakeClock()
    out = io.StringIO()
    progress = TrainingProgress(400, out=out, every=15.0, clock=clock, bar=True)
    clock.now += 3.0
    progress.stepped(1, 0.5)
    progress.evaluated(10, 0.4, 0.7, 0.69)
    progress.close()
    text = out.getvalue()
    assert "10/400" in text and ("step/s" in text or "s/step" in text)  # tqdm's bar
    assert "step 10/400: loss 0.4000, held-out IoU 0.7000, 3 s elapsed" in text
