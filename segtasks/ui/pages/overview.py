"""The overview: what needs attention (kept until someone answers it), the latest night
per device and hardware, the recent runs with a running night's progress."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from segtasks.domain import run_states
from segtasks.domain.records import Result, Run
from segtasks.report.attention import Attention, Kind, NightRef, Problem, needs_attention
from segtasks.report.progress import REFRESH_S, NightProgress, nights_progress
from segtasks.store import browse as queries
from segtasks.ui import charts
from segtasks.ui.columns import cell, metric_view, verdict_words
from segtasks.ui.links import Links
from segtasks.ui.pages.common import PageContext, raw, result_tables, run_summary, table, when

RUNS_PER_PAGE = 25


def overview(ctx: PageContext, *, offset: int = 0) -> dict[str, Any]:
    """The latest night per device and hardware, what needs attention, the recent runs."""
    links = ctx.links
    results = queries.latest_nights(ctx.engine)
    run_pks = sorted({r.run_pk for r in results})
    verdicts = queries.comparisons_of(ctx.engine, run_pks)
    groups: list[dict[str, Any]] = []
    latest: list[Run] = []  # each group's night
    by_group: dict[tuple[str, str | None], list[Result]] = defaultdict(list)
    for r in results:
        by_group[(r.device, r.hardware_key)].append(r)
    for (device, hardware), rows in sorted(by_group.items(),
                                           key=lambda kv: (kv[0][0], kv[0][1] or "")):
        latest.append(rows[0].loaded_run)
        groups.append({"device": device, "hardware_key": hardware,
                       "run": run_summary(rows[0].loaded_run, links),
                       "tables": result_tables(rows, verdicts, links),
                       "results": [raw(r) for r in rows]})
    by_machine: dict[str | None, list[Result]] = defaultdict(list)
    for r in results:
        by_machine[r.hardware_key].append(r)
    chart_list: list[dict[str, Any]] = []
    for hardware in sorted(by_machine, key=lambda h: h or ""):  # CPU and GPU of one machine
        found = charts.by_batch_size(f"overview-speed-{len(chart_list)}",
                                     by_machine[hardware], "speed")
        if found is not None:
            chart_list.append({**found, "subtitle": hardware})
    runs = queries.recent_runs(ctx.engine, limit=RUNS_PER_PAGE, offset=offset)
    counts = queries.verdict_counts(ctx.engine, [run.id for run in runs])
    running = sorted({run.id for run in [*runs, *latest] if run.state == run_states.RUNNING})
    progress = nights_progress(ctx.engine, running)
    for group, night in zip(groups, latest, strict=True):
        group["run"].update(_run_extras(night, progress))
    return {
        "page": "overview", "database": ctx.database, "dag_id": ctx.dag_id,
        "api": links.api("overview"),
        "groups": groups,
        "attention": attention_view(needs_attention(ctx.engine), links),
        "charts": chart_list,
        "runs": [{**run_summary(run, links, counts[run.id]),
                  **_run_extras(run, progress)} for run in runs],
        "runs_offset": offset, "runs_per_page": RUNS_PER_PAGE,
        # a running night's page reloads itself to follow it (only then)
        "refresh_s": REFRESH_S if progress else None,
    }


def _run_extras(run: Run, progress: dict[int, NightProgress]) -> dict[str, Any]:
    """A run's progress while it runs, and what it left unfinished once closed."""
    found = progress.get(run.id)
    return {"progress": None if found is None else {
        "text": found.text, "fraction": found.fraction, "planned": found.planned,
        "measured": found.measured, "to_confirm": found.to_confirm},
        "unfinished": list(run.unfinished or [])}


def _night(ref: NightRef, links: Links) -> dict[str, Any]:
    return {"run_pk": ref.run_pk, "run_id": ref.run_id, "dag_id": ref.dag_id,
            "started_at": ref.started_at, "started": when(ref.started_at),
            "href": links.run(ref.run_pk)}


def _item(p: Problem, links: Links) -> dict[str, Any]:
    """A problem as the page and the JSON API show it."""
    series = (links.series(p.case_key, p.hardware_key)
              if p.case_key and p.hardware_key else None)
    return {"kind": str(p.kind), "case_key": p.case_key, "hardware_key": p.hardware_key,
            "metric": p.metric, "verdict": p.verdict, "relative_change": p.relative_change,
            "run_pk": p.last.run_pk, "since": _night(p.since, links),
            "last": _night(p.last, links), "nights": p.nights, "detail": p.detail,
            "unfinished": list(p.unfinished), "answered": p.answered,
            "answered_at": p.answered_at, "href": series or links.run(p.last.run_pk)}


def _what(p: Problem, links: Links) -> dict[str, Any]:
    """The first cell: the series (linked) or, for a night, the night."""
    if p.case_key is None:
        return cell(f"night {p.last.run_id}", href=links.run(p.last.run_pk), title=p.last.dag_id)
    return cell(p.case_key, href=links.series(p.case_key, p.hardware_key)
                if p.hardware_key else None, title=p.hardware_key)


def _since(p: Problem, links: Links) -> dict[str, Any]:
    return cell(when(p.since.started_at) or p.since.run_id, href=links.run(p.since.run_pk),
                title=p.since.run_id)


def _tone(p: Problem) -> str:
    return "bad" if p.kind in (Kind.NIGHT, Kind.FAILING, Kind.REGRESSION, Kind.OUTPUTS) \
        else "warn"


def _detail(p: Problem) -> str:
    if p.unfinished:
        shown = "; ".join(p.unfinished[:3])
        more = f"; and {len(p.unfinished) - 3} more" if len(p.unfinished) > 3 else ""
        return f"did not finish: {shown}{more}" + (f" ({p.detail})" if p.detail else "")
    return p.detail or ""


def _metric(name: str | None) -> str:
    """A metric as the pages name it ('Throughput', not 'images_per_s')."""
    return metric_view(name).label if name else ""


def attention_view(found: Attention, links: Links) -> dict[str, Any]:
    """What needs someone, open until answered (segtasks.report.attention), and what was
    answered lately, with who answered and how."""
    rows = []
    for p in found.open:
        change = "-" if p.relative_change is None else f"{p.relative_change:+.1%}"
        rows.append([
            _what(p, links), cell(_metric(p.metric)),
            cell(str(p.kind), tone=_tone(p),
                 title=verdict_words(p.verdict) if p.verdict else None), cell(change),
            _since(p, links), cell(str(p.nights)),
            cell(when(p.last.started_at) or p.last.run_id, href=links.run(p.last.run_pk),
                 title=p.last.run_id),
            cell(_detail(p)),
        ])
    answered_rows = [[
        _what(p, links), cell(_metric(p.metric)), cell(str(p.kind), tone="muted"),
        _since(p, links), cell(p.answered or ""),
    ] for p in found.answered]
    return {
        "items": [_item(p, links) for p in found.open],
        "answered": [_item(p, links) for p in found.answered],
        "runs_looked_at": found.runs_looked_at,
        "table": table(None, ["Case", "Metric", "Problem", "Change", "Since", "Nights",
                              "Latest", "Detail"], rows),
        "answered_table": table(None, ["Case", "Metric", "Problem", "Since", "Answered"],
                                answered_rows),
    }
