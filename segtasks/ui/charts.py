"""Chart specifications: plain data that static/charts.js draws with uPlot.

A spec names its x axis (`log2` batch sizes or `time` in Unix seconds), the shared x
values, and series of y values aligned to them (None where a series has no point), each
on a scale with an axis label and unit. Bands fill between two series; events are
vertical marks (software changes, accepted levels, excluded nights). A series' `notes`,
aligned to its values, add what the tooltip says about a point beyond its value (its
baseline, change and z).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.report.tables import variant
from segtasks.ui.columns import GIB, metric_view, verdict_words


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
         dash: bool = False, notes: list[str | None] | None = None) -> dict[str, Any]:
    return {"label": label, "scale": scale, "values": values, "unit": unit, "digits": digits,
            "style": style, "tone": tone, "dash": dash, "notes": notes}


def verdict_note(verdict: Verdict | None) -> str | None:
    """What a tooltip adds to a judged night's value: 'baseline 10.000 images/s, change
    -20.0%, z -6.2: regression' (the parts the verdict has)."""
    if verdict is None:
        return None
    view = metric_view(verdict.metric)
    parts = []
    if verdict.baseline is not None:
        parts.append(f"baseline {view.text(verdict.baseline)} {view.unit}".rstrip())
    if verdict.relative_change is not None:
        parts.append(f"change {verdict.relative_change:+.1%}")
    if verdict.z is not None:
        parts.append(f"z {verdict.z:+.1f}")
    words = verdict.described if verdict.verdict == VerdictKind.INCONCLUSIVE \
        else verdict_words(verdict.verdict)
    return ", ".join(parts) + (": " if parts else "") + words


def aligned(xs: Sequence[float], points: dict[float, float]) -> list[float | None]:
    return [points.get(x) for x in xs]


def by_batch_size(chart_id: str, results: Iterable[Any], kind: str,
                  verdicts: Iterable[Verdict] = ()) -> dict[str, Any] | None:
    """Throughput (kind "speed") or peak memory ("memory") against batch size, one line per
    table (device and options); on the speed chart, CPU and GPU on their own axes. With
    the night's `verdicts`, each point's tooltip gives its baseline, change and z."""
    judged = {(v.case_key, v.metric): v for v in verdicts}
    ok = [r for r in results if r.status == "ok"]
    lines: dict[tuple[str, str], dict[float, float]] = {}  # (label, scale) -> points
    notes: dict[tuple[str, str], dict[float, str | None]] = {}
    for r in ok:
        name = variant(r)
        if kind == "speed":
            measured = [((name, r.device), r.images_per_s, "images_per_s")]
        else:
            measured = [((f"{name} CUDA reserved", "y"), r.cuda_peak_reserved_bytes,
                         "cuda_peak_reserved_bytes"),
                        ((f"{name} host RSS", "y"), r.host_peak_rss_bytes,
                         "host_peak_rss_bytes")]
        for key, value, metric in measured:
            if value is None:
                continue
            lines.setdefault(key, {})[r.batch_size] = value if kind == "speed" else value / GIB
            notes.setdefault(key, {})[r.batch_size] = verdict_note(
                judged.get((r.case_key, metric)))
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
    series = []
    for (label, scale), points in lines.items():
        said = [notes[(label, scale)].get(x) for x in xs]
        series.append(line(label, aligned(xs, points), scale=scale, unit=unit,
                           notes=said if any(said) else None))
    return spec(chart_id, title, "log2", "batch size", xs, axes, series)


def trend(chart_id: str, case_key: str, metric: str, nights: Sequence[tuple[datetime, float]],
          tonight: datetime, baseline: float | None, verdict: Verdict | None = None
          ) -> dict[str, Any]:
    """A regressed series' recent nights, tonight marked (with its verdict's baseline,
    change and z in the tooltip), the baseline median drawn."""
    view = metric_view(metric)
    xs = [epoch(at) for at, _ in nights]
    values = [view.shown(v) for _, v in nights]
    series = [line(view.label, values, unit=view.unit, digits=view.digits)]
    if baseline is not None:
        series.append(line("baseline median", [view.shown(baseline)] * len(xs),
                           unit=view.unit, digits=view.digits, dash=True, tone="info"))
    is_tonight = [epoch(at) == epoch(tonight) for at, _ in nights]
    marks = [view.shown(v) if now else None for now, (_, v) in zip(is_tonight, nights,
                                                                    strict=True)]
    note = verdict_note(verdict)
    series.append(line("tonight", marks, unit=view.unit, digits=view.digits, style="points",
                       tone="bad", notes=[note if now else None for now in is_tonight]
                       if note else None))
    return spec(chart_id, f"{case_key}: {view.label}, last {len(xs)} nights", "time", "night",
                xs, [{"scale": "y", "label": f"{view.label} ({view.unit})", "side": "left"}],
                series)
