"""The data of every page as plain values: the HTML templates render them and the JSON
API returns them as they are. Figures come from the report's code (segtasks.report) and
the stored verdicts; nothing here re-derives a measurement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Engine, inspect

from segtasks.judge.evidence import NOISE_NIGHTS
from segtasks.judge.metrics import METRIC_NAMES, METRICS
from segtasks.judge.software import software_changes
from segtasks.judge.thresholds import NightThresholds, night_thresholds
from segtasks.plan import ParamError, validate
from segtasks.plan.params import JudgeSettings
from segtasks.report import model
from segtasks.report.tables import (
    NOTES,
    by_variant,
    phase_rows,
    seed_rows,
    verdict_rows,
    warning_lines,
)
from segtasks.store import repository
from segtasks.ui import charts, queries
from segtasks.ui.access import Viewer
from segtasks.ui.columns import (
    QUIET,
    RESULT_EXTRAS,
    SERIES_CHARTS,
    RowContext,
    cell,
    metric_view,
    report_cell,
    tone,
    worst,
)
from segtasks.ui.difference import difference
from segtasks.ui.links import Links

RUNS_PER_PAGE = 25
NIGHTS_IN_TABLE = 60
ENVIRONMENT_COLUMNS = ("hardware_key", "cpu_model", "logical_cores", "gpu_name", "gpu_count",
                       "nvidia_driver", "cuda_runtime", "cudnn", "torch_version",
                       "torchvision_version", "smp_version", "numpy_version",
                       "python_version", "os")


@dataclass(frozen=True)
class PageContext:
    engine: Engine  # read-only
    links: Links
    database: str  # the reader's URL, password masked
    viewer: Viewer
    dag_id: str  # the governing DAG


# --- values shared by the pages -------------------------------------------------------

def when(at: datetime | None) -> str | None:
    if at is None:
        return None
    if at.tzinfo is None:  # SQLite returns naive datetimes; they are stored in UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def raw(row: Any, leave_out: Sequence[str] = ()) -> dict[str, Any]:
    """Every column of a stored row: new columns reach the JSON API without code here."""
    return {attr.key: getattr(row, attr.key) for attr in inspect(type(row)).column_attrs
            if attr.key not in leave_out}


def run_summary(run: Any, links: Links, counts: dict[str, int] | None = None
                ) -> dict[str, Any]:
    in_airflow = run.trigger != "cli"
    return {
        "id": run.id, "dag_id": run.dag_id, "run_id": run.run_id, "trigger": run.trigger,
        "state": run.state, "started_at": run.started_at, "started": when(run.started_at),
        "finished_at": run.finished_at, "code_version": run.code_version,
        "excluded": run.excluded, "excluded_reason": run.excluded_reason,
        "excluded_by": run.excluded_by, "excluded_at": run.excluded_at,
        "href": links.run(run.id), "api": links.api(f"runs/{run.id}"),
        "airflow_href": links.airflow_run(run.dag_id, run.run_id) if in_airflow else None,
        "verdicts": counts or {},
    }


def table(title: str | None, columns: Sequence[str], rows: list[list[dict[str, Any]]],
          note: str | None = None) -> dict[str, Any]:
    return {"title": title, "columns": list(columns), "rows": rows, "note": note}


def report_table(title: str | None, rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    columns = list(rows[0]) if rows else []
    return table(title, columns, [[report_cell(c, row[c]) for c in columns] for row in rows])


def _verdicts_by_case(verdicts: Iterable[Any]) -> dict[tuple[int, str], list[Any]]:
    found: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for v in verdicts:
        found[(v.run_pk, v.case_key)].append(v)
    return found


def _map_indexes(run: Any) -> dict[str, int]:
    """Each case's map index in the run's bench task, as the DAG expanded it: the cases of
    its device in the order the validated run conf lists them."""
    try:
        cases = validate(run.params or {}).cases
    except ParamError:
        return {}
    indexes: dict[str, int] = {}
    count: dict[str, int] = defaultdict(int)
    for case in cases:
        indexes[case.key] = count[case.device]
        count[case.device] += 1
    return indexes


def _row_context(results: Sequence[Any], verdicts: Iterable[Any], links: Links) -> RowContext:
    runs = {r.run_pk: r.run for r in results}  # one validation per run, not per case
    indexes = {pk: _map_indexes(run) for pk, run in runs.items()
               if links.airflow is not None and run.trigger != "cli"}

    def task_href(r: Any) -> str | None:
        if r.run_pk not in indexes:
            return None
        return links.task_instance(r.run.dag_id, r.run.run_id, f"bench_{r.device}",
                                   indexes[r.run_pk].get(r.case_key))

    return RowContext(verdicts=_verdicts_by_case(verdicts),
                      series_href=lambda r: links.series(r.case_key, r.hardware_key)
                      if r.hardware_key else None,
                      task_href=task_href)


def result_tables(results: Sequence[Any], verdicts: Iterable[Any], links: Links
                  ) -> list[dict[str, Any]]:
    """The report's seed-style table per variant, with the pages' extra columns."""
    ctx = _row_context(results, verdicts, links)
    tables = []
    grouped = by_variant(results)
    for name, rows in seed_rows(results).items():
        statuses = {row["Status"] for row in rows}
        note = None
        if len(statuses) == 1 and not statuses <= {"ok"}:
            sizes = ", ".join(row["Batch Size"] for row in rows)
            note = f"All cases (batch sizes {sizes}) {statuses.pop()}"
        columns = [*rows[0], *(extra for extra, _ in RESULT_EXTRAS)]
        cells = [[report_cell(c, row[c]) for c in row] + [make(r, ctx) for _, make in RESULT_EXTRAS]
                 for row, r in zip(rows, grouped[name], strict=True)]
        tables.append(table(name, columns, cells, note))
    return tables


def environments(results: Iterable[Any]) -> list[dict[str, Any]]:
    seen: dict[int, Any] = {}
    for r in results:
        if r.environment is not None:
            seen.setdefault(r.environment.id, r.environment)
    return [{c: getattr(env, c) for c in ENVIRONMENT_COLUMNS} for env in seen.values()]


# --- overview ---------------------------------------------------------------------------

def overview(ctx: PageContext, *, offset: int = 0) -> dict[str, Any]:
    """The latest night per device and hardware, what needs attention, the recent runs."""
    links = ctx.links
    results = queries.latest_nights(ctx.engine)
    run_pks = sorted({r.run_pk for r in results})
    verdicts = queries.comparisons_of(ctx.engine, run_pks)
    groups = []
    by_group: dict[tuple[str, str | None], list[Any]] = defaultdict(list)
    for r in results:
        by_group[(r.device, r.hardware_key)].append(r)
    for (device, hardware), rows in sorted(by_group.items(),
                                           key=lambda kv: (kv[0][0], kv[0][1] or "")):
        groups.append({"device": device, "hardware_key": hardware,
                       "run": run_summary(rows[0].run, links),
                       "tables": result_tables(rows, verdicts, links),
                       "results": [raw(r) for r in rows]})
    by_machine: dict[str | None, list[Any]] = defaultdict(list)
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
    runs_by_pk = {r.run_pk: r.run for r in results}
    return {
        "page": "overview", "database": ctx.database, "dag_id": ctx.dag_id,
        "api": links.api("overview"),
        "groups": groups,
        "attention": attention(verdicts, runs_by_pk, queries.levels(ctx.engine), links),
        "charts": chart_list,
        "runs": [run_summary(run, links, counts[run.id]) for run in runs],
        "runs_offset": offset, "runs_per_page": RUNS_PER_PAGE,
    }


def attention(verdicts: Iterable[Any], runs: dict[int, Any], levels: Sequence[Any],
              links: Links) -> dict[str, Any]:
    """The latest nights' verdicts that need someone: regressions, failures, missing
    cases and any verdict the pages do not know as quiet; each says whether a curator
    has already answered it (night excluded, new level accepted from it)."""
    accepted = {(lv.case_key, lv.hardware_key, lv.from_run_pk): lv for lv in levels}
    rows, items = [], []
    for v in sorted(verdicts, key=lambda v: (v.verdict != "regression", v.case_key, v.metric)):
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


# --- run --------------------------------------------------------------------------------

def run_page(ctx: PageContext, run: Any) -> dict[str, Any]:
    """One run as the report shows it (segtasks.report), with charts and links."""
    links = ctx.links
    results = queries.results_of(ctx.engine, [run.id])
    verdicts = queries.comparisons_of(ctx.engine, [run.id])
    regressed = sorted({(v.case_key, v.hardware_key) for v in verdicts
                        if v.verdict == "regression" and v.metric in METRIC_NAMES})
    history = repository.series_history(ctx.engine, run, regressed, limit=NOISE_NIGHTS) \
        if regressed else {}
    report = model.build(run, results, verdicts, history, ctx.database)
    chart_list = [c for c in (charts.by_batch_size("run-speed", results, "speed"),
                              charts.by_batch_size("run-memory", results, "memory"))
                  if c is not None]
    chart_list += [charts.trend(f"run-trend-{i}", t.case_key, t.metric, t.nights, t.tonight,
                                t.baseline) for i, t in enumerate(report.trends)]
    previous = queries.previous_run_pk(ctx.engine, run)
    counts = queries.verdict_counts(ctx.engine, [run.id])[run.id]
    return {
        "page": "run", "database": ctx.database, "title": report.title,
        "api": links.api(f"runs/{run.id}"),
        "run": run_summary(run, links, counts),
        "compare_previous": links.compare(previous, run.id) if previous else None,
        "regressions": [{"case_key": v.case_key, "metric": v.metric,
                         "relative_change": v.relative_change,
                         "href": links.series(v.case_key, v.hardware_key)}
                        for v in report.regressions],
        "tables": result_tables(results, verdicts, links),
        "phases": report_table("Phases (mean per timed batch)", phase_rows(results)),
        "verdicts": report_table("Verdicts", verdict_rows(verdicts)),
        "warnings": warning_lines(results),
        "charts": chart_list,
        "environments": environments(results),
        "notes": list(NOTES),
        "results": [raw(r) for r in results],
        "verdicts_stored": [raw(v) for v in verdicts],
    }


# --- series -----------------------------------------------------------------------------

def band(verdict: Any) -> tuple[float, float] | None:
    """Where a night is judged unchanged: the baseline ± the larger of the minimum effect
    and z_threshold noise units (the judge's rule, segtasks.judge.decide)."""
    if verdict is None or verdict.baseline is None or verdict.noise is None \
            or verdict.min_effect is None or verdict.z_threshold is None:
        return None
    width = max(verdict.min_effect, verdict.z_threshold * verdict.noise)
    return verdict.baseline * (1 - width), verdict.baseline * (1 + width)


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
    records = []
    previous = None
    for night in nights:
        changes: list[str] = []
        if previous is not None:  # what changed since the last good night
            changes = software_changes(night.run.code_version, night.environment,
                                       previous.run.code_version, previous.environment)
        if night.status == "ok":
            previous = night
        judged = {m: verdicts.get((night.run_pk, m)) for m in (*METRIC_NAMES, "status")}
        records.append({
            "run": run_summary(night.run, links), "status": night.status,
            "reason": night.reason,
            "values": {m: getattr(night, m) for m in METRIC_NAMES},
            "ci_rel": night.ci_rel,
            "verdicts": {m: {"verdict": v.verdict, "baseline": v.baseline,
                             "relative_change": v.relative_change, "noise": v.noise,
                             "z": v.z, "band": band(v), "detail": v.detail}
                         for m, v in judged.items() if v is not None},
            "software_changes": changes,
        })
    return {
        "page": "series", "database": ctx.database, "case_key": case_key,
        "api": links.api(f"series/{quote(case_key, safe='')}?"
                         + urlencode({"hardware": hardware_key})),
        "hardware_key": hardware_key,
        "other_hardware": [{"hardware_key": h, "last": when(last),
                            "href": links.series(case_key, h)}
                           for h, last in hardware if h != hardware_key],
        "nights": records,
        "nights_table": nights_table(records, levels, all_nights),
        "levels": [level_record(lv, links) for lv in levels],
        "charts": series_charts(case_key, records, levels),
        "can_edit": ctx.viewer.can_edit,
        "choices": [{"id": r["run"]["id"], "label": f"{r['run']['started']} · "
                     f"{r['run']['run_id']} · {r['status']}",
                     "excluded": r["run"]["excluded"]} for r in reversed(records)],
        "excluded": [r["run"] for r in reversed(records) if r["run"]["excluded"]],
    }


def level_record(level: Any, links: Links) -> dict[str, Any]:
    return {"id": level.id, "from_run": run_summary(level.from_run, links),
            "reason": level.reason, "accepted_by": level.accepted_by,
            "accepted_at": level.accepted_at, "accepted": when(level.accepted_at),
            "undone_by": level.undone_by, "undone_at": level.undone_at,
            "active": level.undone_at is None}


def nights_table(records: list[dict[str, Any]], levels: Sequence[Any], all_nights: bool
                 ) -> dict[str, Any]:
    starts = {lv.from_run_pk: lv for lv in levels if lv.undone_at is None}
    shown = list(reversed(records))
    if not all_nights:
        shown = shown[:NIGHTS_IN_TABLE]
    columns = ["Night", "Run", "Status", *(metric_view(m).label + f" ({metric_view(m).unit})"
                                           for m in METRIC_NAMES),
               "Verdict", "Change (img/s)", "Software changes", "Marks"]
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
        rows.append([
            cell(run["started"] or ""), cell(run["run_id"], href=run["href"]),
            cell(rec["status"], tone=None if rec["status"] == "ok" else "bad",
                 title=rec["reason"]),
            *(cell(metric_view(m).text(rec["values"][m])) for m in METRIC_NAMES),
            cell(top, tone=tone(top), title="; ".join(
                f"{m}: {v['verdict']}" for m, v in judged.items())) if top else cell("-"),
            cell("-" if change is None else f"{change:+.1%}"),
            cell(", ".join(rec["software_changes"]) or "-"),
            cell("; ".join(marks) or "-", tone="muted" if run["excluded"] else None),
        ])
    hidden = len(records) - len(shown)
    return table(None, columns, rows,
                 f"{hidden} older nights are in the charts and the JSON API" if hidden else None)


def series_charts(case_key: str, records: list[dict[str, Any]], levels: Sequence[Any]
                  ) -> list[dict[str, Any]]:
    xs = [charts.epoch(r["run"]["started_at"]) for r in records]
    events = [{"x": x, "kind": "software", "label": ", ".join(r["software_changes"])}
              for x, r in zip(xs, records, strict=True) if r["software_changes"]]
    events += [{"x": charts.epoch(lv.from_run.started_at), "kind": "level",
                "label": f"new level ({lv.accepted_by}): {lv.reason}"}
               for lv in levels if lv.undone_at is None]
    labels = [f"{r['run']['run_id']} ({r['status']})" for r in records]
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
            series.append(charts.line(view.label, values, unit=view.unit, digits=view.digits))
            edges = [r["verdicts"].get(metric, {}).get("band") for r in records]
            if any(edges):
                low = [view.shown(e[0]) if e else None for e in edges]
                high = [view.shown(e[1]) if e else None for e in edges]
                series.append(charts.line(f"{prefix}band high", high, unit=view.unit,
                                          digits=view.digits, style="band", tone="info"))
                series.append(charts.line(f"{prefix}band low", low, unit=view.unit,
                                          digits=view.digits, style="band", tone="info"))
                bands.append([len(series) - 2, len(series) - 1])
            kinds = sorted({r["verdicts"][metric]["verdict"] for r in records
                            if metric in r["verdicts"]} - {"unchanged", "new",
                                                           "insufficient_history"})
            for kind in kinds:
                marks = [v if r["verdicts"].get(metric, {}).get("verdict") == kind else None
                         for v, r in zip(values, records, strict=True)]
                series.append(charts.line(f"{prefix}{kind}", marks, unit=view.unit,
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


# --- compare ----------------------------------------------------------------------------

def _thresholds(run: Any) -> NightThresholds:
    """The thresholds run b was judged with (its stored conf), else today's defaults."""
    try:
        return night_thresholds(validate(run.params or {}).judging)
    except ParamError:
        return night_thresholds(JudgeSettings())


def compare_page(ctx: PageContext, a_pk: int | None, b_pk: int | None) -> dict[str, Any]:
    links = ctx.links
    if b_pk is None:
        b_pk = repository.latest_run_pk(ctx.engine)
        if b_pk is None:
            raise queries.NotFound("no run stored yet")
    b = queries.run_by_pk(ctx.engine, b_pk)
    if a_pk is None:
        a_pk = queries.previous_run_pk(ctx.engine, b)
    a = queries.run_by_pk(ctx.engine, a_pk) if a_pk is not None else b
    results = queries.results_of(ctx.engine, sorted({a.id, b.id}))
    verdicts = {(v.run_pk, v.case_key, v.metric): v
                for v in queries.comparisons_of(ctx.engine, sorted({a.id, b.id}))}
    thresholds = _thresholds(b)
    of_a = {r.case_key: r for r in results if r.run_pk == a.id}
    of_b = {r.case_key: r for r in results if r.run_pk == b.id}
    ordered = [r.case_key for rows in by_variant([*of_b.values(), *(
        r for k, r in of_a.items() if k not in of_b)]).values() for r in rows]
    records, rows = [], []
    for key in ordered:
        ra, rb = of_a.get(key), of_b.get(key)
        metrics = {}
        either: Any = rb or ra  # one of them measured the case
        cells = [cell(key, href=links.series(key, either.hardware_key)),
                 cell(f"{ra.status if ra else 'absent'} → {rb.status if rb else 'absent'}")]
        same_hardware = bool(ra and rb and ra.hardware_key == rb.hardware_key)
        for metric in METRICS:
            view = metric_view(metric.name)
            va = getattr(ra, metric.name) if ra and ra.status == "ok" else None
            vb = getattr(rb, metric.name) if rb and rb.status == "ok" else None
            ja, jb = verdicts.get((a.id, key, metric.name)), verdicts.get((b.id, key, metric.name))
            diff = difference(metric, thresholds.of(key, metric.name), va, vb,
                              noise_a=ja.noise if ja else None, noise_b=jb.noise if jb else None,
                              ci_a=ra.ci_rel if ra else None, ci_b=rb.ci_rel if rb else None)
            metrics[metric.name] = {"a": va, "b": vb, "change": diff.change,
                                    "noise": diff.noise, "z": diff.z,
                                    "beyond_noise": diff.beyond_noise, "worse": diff.worse,
                                    "word": diff.word}
            change_tone = None if not diff.beyond_noise else ("bad" if diff.worse else "good")
            cells += [cell(view.text(va)), cell(view.text(vb)), cell(
                "-" if diff.change is None else f"{diff.change:+.1%} {diff.word}",
                tone=change_tone, title=None if diff.z is None else
                f"z = {diff.z:+.1f} (noise ±{diff.noise:.1%} of the difference)")]
        records.append({"case_key": key, "same_hardware": same_hardware,
                        "hardware_a": ra.hardware_key if ra else None,
                        "hardware_b": rb.hardware_key if rb else None, "metrics": metrics})
        rows.append(cells)
    columns = ["Case", "Status (A → B)"]
    for metric in METRICS:
        view = metric_view(metric.name)
        columns += [f"{view.label} A ({view.unit})", f"B ({view.unit})", "Change"]
    recent = queries.recent_runs(ctx.engine, limit=100)
    return {
        "page": "compare", "database": ctx.database,
        "api": links.api(f"compare?a={a.id}&b={b.id}"),
        "a": run_summary(a, links), "b": run_summary(b, links),
        "rows": records,
        "table": table(None, columns, rows, None if all(r["same_hardware"] for r in records)
                       else "Some cases ran on other hardware in A and B: their changes mix "
                            "machines."),
        "charts": [c for c in (compare_chart(records, of_a, of_b),) if c is not None],
        "choices": [{"id": run.id, "label": f"{when(run.started_at)} · {run.run_id}"}
                    for run in recent],
    }


def compare_chart(records: list[dict[str, Any]], of_a: dict[str, Any], of_b: dict[str, Any]
                  ) -> dict[str, Any] | None:
    """The change of throughput from A to B against batch size, one line per table."""
    from segtasks.report.tables import variant

    lines: dict[str, dict[float, float]] = defaultdict(dict)
    for rec in records:
        change = rec["metrics"]["images_per_s"]["change"]
        r = of_b.get(rec["case_key"]) or of_a.get(rec["case_key"])
        if change is not None and r is not None:
            lines[variant(r)][r.batch_size] = 100 * change
    if not lines:
        return None
    xs = sorted({x for points in lines.values() for x in points})
    return charts.spec("compare-speed", "Change of inference throughput, B against A",
                       "log2", "batch size", xs,
                       [{"scale": "y", "label": "change of images/s (%)", "side": "left"}],
                       [charts.line(name, charts.aligned(xs, points), unit="%", digits=1)
                        for name, points in lines.items()])

