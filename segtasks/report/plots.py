"""The report's figures, as PNG bytes (matplotlib, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

GIB = 2**30


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def by_batch_size(series: dict[str, list[tuple[int, float]]], title: str, ylabel: str
                  ) -> bytes | None:
    """One line per table (device and options) against batch size on a log2 axis."""
    series = {name: points for name, points in series.items() if points}
    if not series:
        return None
    fig, ax = _figure(title, "batch size", ylabel)
    for name, points in series.items():
        xs, ys = zip(*sorted(points), strict=True)
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.legend(fontsize="small")
    return _png(fig)


def trend(case_key: str, metric: str, nights: Sequence[tuple[datetime, float]],
          tonight: datetime, baseline: float | None) -> bytes:
    """A series' recent nights with tonight's change marked."""
    fig, ax = _figure(f"{case_key}: {metric}, last {len(nights)} nights", "night", metric)
    xs, ys = zip(*nights, strict=True) if nights else ((), ())
    ax.plot(xs, ys, marker=".", color="tab:blue")
    ax.axvline(tonight, color="tab:red", linestyle="--", label="tonight")
    if baseline is not None:
        ax.axhline(baseline, color="tab:gray", linestyle=":", label="baseline median")
    ax.legend(fontsize="small")
    fig.autofmt_xdate()
    return _png(fig)
