"""The overview: the latest night per device and hardware, what needs attention, the
recent runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from segtasks.domain.records import BaselineLevel, Result, Run
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.store import browse as queries
from segtasks.ui import charts
from segtasks.ui.columns import QUIET, cell, tone
from segtasks.ui.links import Links
from segtasks.ui.pages.common import PageContext, raw, result_tables, run_summary, table

RUNS_PER_PAGE = 25


def overview(ctx: PageContext, *, offset: int = 0) -> dict[str, Any]:
    """The latest night per device and hardware, what needs attention, the recent runs."""
    links = ctx.links
    results = queries.latest_nights(ctx.engine)
    run_pks = sorted({r.run_pk for r in results})
    verdicts = queries.comparisons_of(ctx.engine, run_pks)
    groups = []
    by_group: dict[tuple[str, str | None], list[Result]] = defaultdict(list)
    for r in results:
        by_group[(r.device, r.hardware_key)].append(r)
    for (device, hardware), rows in sorted(by_group.items(),
                                           key=lambda kv: (kv[0][0], kv[0][1] or "")):
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
    runs_by_pk = {r.run_pk: r.loaded_run for r in results}
    return {
        "page": "overview", "database": ctx.database, "dag_id": ctx.dag_id,
        "api": links.api("overview"),
        "groups": groups,
        "attention": attention(verdicts, runs_by_pk, queries.levels(ctx.engine), links),
        "charts": chart_list,
        "runs": [run_summary(run, links, counts[run.id]) for run in runs],
        "runs_offset": offset, "runs_per_page": RUNS_PER_PAGE,
    }


def attention(verdicts: Iterable[Verdict], runs: dict[int, Run],
              levels: Sequence[BaselineLevel],
              links: Links) -> dict[str, Any]:
    """The latest nights' verdicts that need someone: regressions, failures, missing
    cases and any verdict the pages do not know as quiet; each says whether a curator
    has already answered it (night excluded, new level accepted from it)."""
    accepted: dict[tuple[str, str | None, int | None], BaselineLevel] = {
        (lv.case_key, lv.hardware_key, lv.from_run_pk): lv for lv in levels}
    rows, items = [], []
    for v in sorted(verdicts, key=lambda v: (v.verdict != VerdictKind.REGRESSION, v.case_key,
                                             v.metric)):
        if v.verdict in QUIET or v.run_pk not in runs:
            continue
        run = runs[v.run_pk]
        level = accepted.get((v.case_key, v.hardware_key, v.run_pk))
        answered = (f"night excluded by {run.excluded_by or '?'}: {run.excluded_reason}"
                    if run.excluded else
                    f"new level accepted by {level.accepted_by}: {level.reason}" if level
                    else None)
        items.append({"case_key": v.case_key, "hardware_key": v.hardware_key,
                      "metric": v.metric, "verdict": v.verdict,
                      "relative_change": v.relative_change, "run_pk": v.run_pk,
                      "answered": answered})
        change = "-" if v.relative_change is None else f"{v.relative_change:+.1%}"
        rows.append([
            cell(v.case_key, href=links.series(v.case_key, v.hardware_key)
                 if v.hardware_key else None, title=v.hardware_key),
            cell(v.metric), cell(v.verdict, tone=tone(v.verdict)), cell(change),
            cell(run.run_id, href=links.run(run.id)),
            cell(v.detail or ""), cell(answered or "open", tone=None if answered else "warn"),
        ])
    return {"items": items, "table": table(
        None, ["Case", "Metric", "Verdict", "Change", "Run", "Detail", "Answered"], rows)}
