"""Chart specifications: plain data that static/charts.js draws with uPlot.

A spec names its x axis (`log2` batch sizes or `time` in Unix seconds), the shared x
values, and series of y values aligned to them (None where a series has no point), each
on a scale with an axis label and unit. Bands fill between two series; events are
vertical marks (software changes, accepted levels, excluded nights).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from segtasks.report.tables import variant
from segtasks.ui.columns import GIB, metric_view


def epoch(at: datetime) -> float:
    return at.timestamp()


def spec(chart_id: str, title: str, x_kind: str, x_label: str, xs: Sequence[float],
         axes: list[dict[str, Any]], series: list[dict[str, Any]], **extra: Any
         ) -> dict[str, Any]:
    return {"id": chart_id, "title": title, "x": {"kind": x_kind, "label": x_label},
            "xs": list(xs), "axes": axes, "series": series, "bands": [], "events": [],
            "labels": None, **extra}


def line(label: str, values: list[float | None], *, scale: str = "y", unit: str = "",
         digits: int = 3, style: str = "line", tone: str | None = None,
         dash: bool = False) -> dict[str, Any]:
    return {"label": label, "scale": scale, "values": values, "unit": unit, "digits": digits,
            "style": style, "tone": tone, "dash": dash}


def aligned(xs: Sequence[float], points: dict[float, float]) -> list[float | None]:
    return [points.get(x) for x in xs]


def by_batch_size(chart_id: str, results: Iterable[Any], kind: str) -> dict[str, Any] | None:
    """Throughput (kind "speed") or peak memory ("memory") against batch size, one line per
    table (device and options); on the speed chart, CPU and GPU on their own axes."""
    ok = [r for r in results if r.status == "ok"]
    lines: dict[tuple[str, str], dict[float, float]] = {}  # (label, scale) -> points
    for r in ok:
        name = variant(r)
        if kind == "speed":
            scale = r.device
            lines.setdefault((name, scale), {})[r.batch_size] = r.images_per_s
            continue
        if r.cuda_peak_reserved_bytes is not None:
            lines.setdefault((f"{name} CUDA reserved", "y"), {})[r.batch_size] = \
                r.cuda_peak_reserved_bytes / GIB
        if r.host_peak_rss_bytes is not None:
            lines.setdefault((f"{name} host RSS", "y"), {})[r.batch_size] = \
                r.host_peak_rss_bytes / GIB
    if not lines:
        return None
    xs = sorted({x for points in lines.values() for x in points})
    if kind == "speed":
        scales = sorted({scale for _, scale in lines}, key=("cpu", "cuda").index)
        axes = [{"scale": s, "label": f"{'GPU' if s == 'cuda' else 'CPU'} images/s",
                 "side": "left" if i == 0 else "right"} for i, s in enumerate(scales)]
        title, unit = "Inference throughput against batch size", "images/s"
    else:
        axes = [{"scale": "y", "label": "peak memory (GiB)", "side": "left"}]
        title, unit = "Peak memory against batch size", "GiB"
    series = [line(label, aligned(xs, points), scale=scale, unit=unit)
              for (label, scale), points in lines.items()]
    return spec(chart_id, title, "log2", "batch size", xs, axes, series)


def trend(chart_id: str, case_key: str, metric: str, nights: Sequence[tuple[datetime, float]],
          tonight: datetime, baseline: float | None) -> dict[str, Any]:
    """A regressed series' recent nights, tonight marked, the baseline median drawn."""
    view = metric_view(metric)
    xs = [epoch(at) for at, _ in nights]
    values = [view.shown(v) for _, v in nights]
    series = [line(view.label, values, unit=view.unit, digits=view.digits)]
    if baseline is not None:
        series.append(line("baseline median", [view.shown(baseline)] * len(xs),
                           unit=view.unit, digits=view.digits, dash=True, tone="info"))
    marks = [view.shown(v) if epoch(at) == epoch(tonight) else None for at, v in nights]
    series.append(line("tonight", marks, unit=view.unit, digits=view.digits, style="points",
                       tone="bad"))
    return spec(chart_id, f"{case_key}: {view.label}, last {len(xs)} nights", "time", "night",
                xs, [{"scale": "y", "label": f"{view.label} ({view.unit})", "side": "left"}],
                series)
