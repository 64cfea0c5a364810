"""One series (case x hardware) over time: values, bands, verdicts, software changes,
curation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from segtasks.domain.metrics import METRIC_NAMES
from segtasks.domain.records import BaselineLevel
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.judge.decide import smallest_flagged_change
from segtasks.judge.software import software_changes
from segtasks.judge.thresholds import Threshold
from segtasks.store import browse as queries
from segtasks.store.paired_reads import paired_history
from segtasks.ui import charts
from segtasks.ui.columns import (
    CALM,
    SERIES_CHARTS,
    calm_badge,
    cell,
    metric_view,
    severity,
    tone,
    verdict_words,
    worst,
)
from segtasks.ui.links import Links
from segtasks.ui.pages.common import PageContext, run_summary, table, when
from segtasks.ui.pages.paired import history_table

NIGHTS_IN_TABLE = 60


# verdicts a chart does not mark on its nights (every other kind gets its own points)
UNMARKED = {VerdictKind.UNCHANGED, VerdictKind.NEW, VerdictKind.INSUFFICIENT_HISTORY}


def band(verdict: Verdict | None) -> tuple[float, float] | None:
    """Where a night is judged unchanged: the baseline ± the smallest change the judge
    flags at the noise the verdict was judged with (segtasks.judge.decide), not below
    zero."""
    if verdict is None or verdict.baseline is None or verdict.noise is None \
            or verdict.min_effect is None or verdict.z_threshold is None:
        return None
    width = smallest_flagged_change(verdict.noise,
                                    Threshold(verdict.min_effect, verdict.z_threshold))
    # a noisy series' band would reach below zero: no throughput or memory goes there
    return max(0.0, verdict.baseline * (1 - width)), verdict.baseline * (1 + width)


def series_page(ctx: PageContext, case_key: str, hardware_key: str | None, *,
                all_nights: bool = False) -> dict[str, Any]:
    links = ctx.links
    hardware = queries.hardware_of_case(ctx.engine, case_key)
    if not hardware:
        raise queries.NotFound(f"no results stored for case {case_key}")
    known = [h for h, _ in hardware]
    hardware_key = hardware_key or known[0]
    if hardware_key not in known:
        raise queries.NotFound(f"case {case_key} was never measured on {hardware_key}")
    nights = queries.series_nights(ctx.engine, case_key, hardware_key)
    verdicts = {(v.run_pk, v.metric): v
                for v in queries.series_comparisons(ctx.engine, case_key, hardware_key)}
    levels = queries.levels(ctx.engine, case_key=case_key, hardware_key=hardware_key,
                            include_undone=True)
    runs = {night.run_pk: night.loaded_run for night in nights}
    paired = history_table(
        paired_history(ctx.engine, case_key, hardware_key, NIGHTS_IN_TABLE),
        lambda pk: runs[pk] if pk in runs else queries.run_by_pk(ctx.engine, pk), links)
    records = []
    previous = None
    for night in nights:
        changes: list[str] = []
        if previous is not None:  # what changed since the last good night
            changes = software_changes(night.loaded_run.code_version, night.environment,
                                       previous.loaded_run.code_version,
                                       previous.environment)
        if night.status == "ok":
            previous = night
        judged = {m: verdicts.get((night.run_pk, m)) for m in (*METRIC_NAMES, "status")}
        records.append({
            "run": run_summary(night.loaded_run, links), "status": night.status,
            "reason": night.reason,
            "values": {m: getattr(night, m) for m in METRIC_NAMES},
            "ci_rel": night.ci_rel,
            "verdicts": {m: {"verdict": v.verdict, "words": verdict_words(v.verdict),
                             "baseline": v.baseline,
                             "relative_change": v.relative_change, "noise": v.noise,
                             "z": v.z, "band": band(v), "detail": v.detail,
                             "note": charts.verdict_note(v)}
                         for m, v in judged.items() if v is not None},
            "software_changes": changes,
        })
    return {
        "page": "series", "database": ctx.database, "case_key": case_key,
        "api": links.api(f"series/{quote(case_key, safe='')}?"
                         + urlencode({"hardware": hardware_key})),
        "hardware_key": hardware_key,
        # the series' model where it is not the default, as its latest night recorded it
        "model": next((line for night in reversed(nights) if (line := night.model_line)),
                      None),
        "other_hardware": [{"hardware_key": h, "last": when(last),
                            "href": links.series(case_key, h)}
                           for h, last in hardware if h != hardware_key],
        "nights": records,
        "latest": latest(records),
        "nights_table": nights_table(records, levels, all_nights),
        "paired_table": paired,
        "levels": [level_record(lv, links) for lv in levels],
        "charts": series_charts(case_key, records, levels),
        "can_edit": ctx.viewer.can_edit,
        "choices": [{"id": r["run"]["id"], "label": f"{r['run']['label']} · {r['status']}",
                     "excluded": r["run"]["excluded"]} for r in reversed(records)],
        "excluded": [r["run"] for r in reversed(records) if r["run"]["excluded"]],
    }


def level_record(level: BaselineLevel, links: Links) -> dict[str, Any]:
    return {"id": level.id, "from_run": run_summary(level.from_run, links),
            "reason": level.reason, "accepted_by": level.accepted_by,
            "accepted_at": level.accepted_at, "accepted": when(level.accepted_at),
            "undone_by": level.undone_by, "undone_at": level.undone_at,
            "active": level.undone_at is None}


def latest(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest night in a line: its verdict on each metric, the calm ones counted in
    one badge."""
    if not records:
        return None
    last = records[-1]
    judged = last["verdicts"]
    listed = [{"text": f"{metric_view(m).label}: {v['words']}"
               + ("" if v["relative_change"] is None else f" {v['relative_change']:+.1%}"),
               "tone": tone(v["verdict"]), "title": v["note"]}
              for m, v in sorted(judged.items(), key=lambda mv: severity(mv[1]["verdict"]))
              if v["verdict"] not in CALM]
    calm = calm_badge(Counter(str(v["verdict"]) for v in judged.values()), "metric")
    return {"run": last["run"], "status": last["status"], "reason": last["reason"],
            "badges": listed + ([calm] if calm else [])}


# The nights table: the night and its verdict first, then the figures read most; the
# rest behind "more columns"; marks (excluded, new level) are sentences, wrapped.
NIGHT_EXTRA = ("Run", "Software changes")


def nights_table(records: list[dict[str, Any]], levels: Sequence[BaselineLevel], all_nights: bool
                 ) -> dict[str, Any]:
    starts = {lv.from_run_pk: lv for lv in levels if lv.undone_at is None}
    shown = list(reversed(records))
    if not all_nights:
        shown = shown[:NIGHTS_IN_TABLE]
    figures = [f"{metric_view(m).label} ({metric_view(m).unit})" for m in METRIC_NAMES]
    columns = ["Night", "Verdict", "Change (img/s)", *figures[:2], "Status", *figures[2:],
               "Marks", *NIGHT_EXTRA]
    rows = []
    for rec in shown:
        run = rec["run"]
        judged = rec["verdicts"]
        top = worst(v["verdict"] for v in judged.values())
        change = judged.get("images_per_s", {}).get("relative_change")
        marks = []
        if run["excluded"]:
            marks.append(f"excluded by {run['excluded_by'] or '?'}: {run['excluded_reason']}")
        if run["id"] in starts:
            level = starts[run["id"]]
            marks.append(f"new level from here ({level.accepted_by}: {level.reason})")
        values = [cell(metric_view(m).text(rec["values"][m])) for m in METRIC_NAMES]
        rows.append([
            cell(run["name"], href=run["href"], title=run["label"]),
            cell(verdict_words(top), tone=tone(top), title="; ".join(
                f"{metric_view(m).label}: {v['words']}" for m, v in judged.items()))
            if top else cell("-"),
            cell("-" if change is None else f"{change:+.1%}"),
            *values[:2],
            cell(rec["status"], tone=None if rec["status"] == "ok" else "bad",
                 title=rec["reason"]),
            *values[2:],
            cell("; ".join(marks) or "-", tone="muted" if run["excluded"] else None),
            cell(run["run_id"], href=run["href"]),
            cell(", ".join(rec["software_changes"]) or "-"),
        ])
    hidden = len(records) - len(shown)
    return table(None, columns, rows,
                 f"{hidden} older nights are in the charts and the JSON API" if hidden else None,
                 extra=[*figures[2:], *NIGHT_EXTRA], wrap=("Marks",))


def verdict_on(record: dict[str, Any], metric: str) -> dict[str, Any]:
    """A night's verdict on `metric` as its charts mark it: its own, else the case's
    (`status`): a disturbed case is not judged metric by metric, yet its values are drawn
    and must not pass for a good night's."""
    return record["verdicts"].get(metric) or record["verdicts"].get("status") or {}


def series_charts(case_key: str, records: list[dict[str, Any]], levels: Sequence[BaselineLevel]
                  ) -> list[dict[str, Any]]:
    xs = [charts.epoch(r["run"]["started_at"]) for r in records]
    events = [{"x": x, "kind": "software", "label": ", ".join(r["software_changes"])}
              for x, r in zip(xs, records, strict=True) if r["software_changes"]]
    events += [{"x": charts.epoch(lv.from_run.started_at), "kind": "level",
                "label": f"new level ({lv.accepted_by}): {lv.reason}"}
               for lv in levels if lv.undone_at is None]
    labels = [r["run"]["name"] + ("" if r["status"] == "ok" else f" ({r['status']})")
              for r in records]
    found: list[dict[str, Any]] = []
    for title, metrics in SERIES_CHARTS:
        series: list[dict[str, Any]] = []
        bands: list[list[int]] = []
        unit = metric_view(metrics[0]).unit
        for metric in metrics:
            view = metric_view(metric)
            values = [view.shown(r["values"][metric]) if r["status"] == "ok" else None
                      for r in records]
            if all(v is None for v in values):
                continue
            prefix = f"{view.label}: " if len(metrics) > 1 else ""
            judged = [verdict_on(r, metric) for r in records]
            notes = [v.get("note") for v in judged]
            series.append(charts.line(view.label, values, unit=view.unit, digits=view.digits,
                                      notes=notes if any(notes) else None))
            edges = [r["verdicts"].get(metric, {}).get("band") for r in records]
            if any(edges):
                low = [view.shown(e[0]) if e else None for e in edges]
                high = [view.shown(e[1]) if e else None for e in edges]
                series.append(charts.line(f"{prefix}band high", high, unit=view.unit,
                                          digits=view.digits, style="band", tone="info"))
                series.append(charts.line(f"{prefix}band low", low, unit=view.unit,
                                          digits=view.digits, style="band", tone="info"))
                bands.append([len(series) - 2, len(series) - 1])
            kinds = sorted({v["verdict"] for v in judged if v} - UNMARKED)
            for kind in kinds:
                marks = [v if j.get("verdict") == kind else None
                         for v, j in zip(values, judged, strict=True)]
                series.append(charts.line(f"{prefix}{verdict_words(kind)}", marks,
                                          unit=view.unit,
                                          digits=view.digits, style="points", tone=tone(kind)))
            excluded = [v if r["run"]["excluded"] else None
                        for v, r in zip(values, records, strict=True)]
            if any(v is not None for v in excluded):
                series.append(charts.line(f"{prefix}excluded night", excluded, unit=view.unit,
                                          digits=view.digits, style="points", tone="muted"))
        if not series:
            continue
        found.append(charts.spec(
            f"series-{len(found)}", f"{case_key}: {title}", "time", "night", xs,
            [{"scale": "y", "label": f"{title} ({unit})", "side": "left"}], series,
            bands=bands, events=events, labels=labels))
    return found
