"""What `segbench train-demo` prints while it trains, so that nobody waits in silence.

A line at each held-out evaluation, and otherwise at least every `every` seconds: the step,
the last loss, the last held-out IoU and the time since training began. A training step or an
evaluation can itself take longer than `every` on a loaded machine, so a small thread prints
the latest state when the loop has been quiet that long. On a terminal a tqdm bar (steps out
of the cap) sits below the lines.

No torch here: the state is plain numbers, and the clock is injectable for tests.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

LINE_EVERY_S = 15.0


class TrainingProgress:
    def __init__(self, max_steps: int, *, out: TextIO | None = None,
                 every: float = LINE_EVERY_S, bar: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_steps = max_steps
        self.out = out if out is not None else sys.stdout
        self.every = every
        self.clock = clock
        self.started = clock()
        self.last_line_at = self.started
        self.doing = "starting"
        self.step_done = 0
        self.loss = math.nan
        self.held_iou: float | None = None
        self.held_step = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        use_bar = self.out.isatty() if bar is None else bar
        self._bar = self._make_bar() if use_bar else None

    # what the training loop reports

    def phase(self, doing: str) -> None:
        """What happens before the first step (loading images, building the model)."""
        with self._lock:
            self.doing = doing

    def stepped(self, step: int, loss: float) -> None:
        """After each step: prints a line only when `every` seconds passed without one."""
        with self._lock:
            self.step_done, self.loss, self.doing = step, loss, "training"
            self._advance_bar()
            if self.clock() - self.last_line_at >= self.every:
                self._line(self._state())

    def evaluated(self, step: int, loss: float, held_iou: float, full_size_iou: float) -> None:
        """After each held-out evaluation: always a line."""
        with self._lock:
            self.step_done, self.loss, self.held_iou = step, loss, held_iou
            self.held_step, self.doing = step, "training"
            self._advance_bar()
            self._line(f"{self._state()}, at full size through the pipeline "
                       f"{full_size_iou:.4f}")

    def tick(self) -> None:
        """From the ticker: the latest state, when the loop has been quiet `every` seconds."""
        with self._lock:
            if self.clock() - self.last_line_at >= self.every:
                self._line(self._state())

    # the ticker thread and the bar

    def __enter__(self) -> TrainingProgress:
        self._ticker = threading.Thread(target=self._tick_until_stopped, daemon=True,
                                        name="train-progress")
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._bar is not None:
            self._bar.close()

    def _tick_until_stopped(self) -> None:
        # wakes often enough that a quiet spell ends within a tenth of `every` of being due
        while not self._stop.wait(self.every / 10):
            self.tick()

    def _advance_bar(self) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(self._numbers(), refresh=False)  # shown by the update
            self._bar.update(self.step_done - self._bar.n)

    def _make_bar(self) -> Any:
        from tqdm import tqdm

        return tqdm(total=self.max_steps, file=self.out, unit="step", leave=False,
                    dynamic_ncols=True)

    # the text

    def _numbers(self) -> str:
        parts = [f"loss {self.loss:.4f}"] if self.step_done else []
        if self.held_iou is not None:
            since = "" if self.held_step == self.step_done else f" at step {self.held_step}"
            parts.append(f"held-out IoU {self.held_iou:.4f}{since}")
        return ", ".join(parts)

    def _state(self) -> str:
        elapsed = f"{self.clock() - self.started:.0f} s elapsed"
        if self.step_done == 0:
            return f"step 0/{self.max_steps}: {self.doing}, {elapsed}"
        return f"step {self.step_done}/{self.max_steps}: {self._numbers()}, {elapsed}"

    def _line(self, text: str) -> None:
        self.last_line_at = self.clock()
        if self._bar is not None:
            self._bar.write(text, file=self.out)
        else:
            print(text, file=self.out, flush=True)
