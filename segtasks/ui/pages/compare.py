"""Two runs side by side, per case: each judged metric's change and whether it exceeds
the noise (segtasks.ui.difference)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from segtasks.domain.metrics import METRICS
from segtasks.domain.records import Result, Run
from segtasks.domain.verdicts import Verdict
from segtasks.judge.thresholds import NightThresholds, night_thresholds
from segtasks.judge.two_runs import difference_beyond_noise
from segtasks.plan import ParamError, validate
from segtasks.plan.params import JudgeSettings
from segtasks.report.tables import by_variant, variant
from segtasks.store import browse as queries
from segtasks.store import repository
from segtasks.ui import charts
from segtasks.ui.columns import cell, metric_view
from segtasks.ui.links import Links
from segtasks.ui.pages.common import PageContext, run_summary, table, when


def _thresholds(run: Run) -> NightThresholds:
    """The thresholds run b was judged with (its stored conf), else today's defaults."""
    try:
        return night_thresholds(validate(run.params or {}).judging)
    except ParamError:
        return night_thresholds(JudgeSettings())


def compare_page(ctx: PageContext, a_pk: int | None, b_pk: int | None) -> dict[str, Any]:
    """Runs a and b (default: the latest run and the run of its DAG before it)."""
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
        record, cells = _case(key, of_a.get(key), of_b.get(key),
                              (verdicts.get((a.id, key, m.name)) for m in METRICS),
                              (verdicts.get((b.id, key, m.name)) for m in METRICS),
                              thresholds, links)
        records.append(record)
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
        # the runs to pick from: the recent ones, and A and B wherever they are
        "choices": [{"id": run.id, "label": f"{when(run.started_at)} · {run.run_id}"}
                    for run in {r.id: r for r in (*recent, a, b)}.values()],
    }


def _case(key: str, ra: Result | None, rb: Result | None,
          judged_a: Iterable[Verdict | None], judged_b: Iterable[Verdict | None],
          thresholds: NightThresholds, links: Links
          ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One case's record (for the API) and table cells: each metric in A and B, the change
    and whether it is beyond the noise, with the noise each night was judged with."""
    either = rb or ra  # one of them measured the case
    hardware_key = either.hardware_key if either else None
    cells = [cell(key, href=links.series(key, hardware_key)),
             cell(f"{ra.status if ra else 'absent'} → {rb.status if rb else 'absent'}")]
    metrics = {}
    for metric, ja, jb in zip(METRICS, judged_a, judged_b, strict=True):
        view = metric_view(metric.name)
        va = getattr(ra, metric.name) if ra and ra.status == "ok" else None
        vb = getattr(rb, metric.name) if rb and rb.status == "ok" else None
        diff = difference_beyond_noise(
            metric, thresholds.of(key, metric.name), va, vb,
            noise_a=ja.noise if ja else None, noise_b=jb.noise if jb else None,
            ci_a=ra.ci_rel if ra else None, ci_b=rb.ci_rel if rb else None)
        metrics[metric.name] = {"a": va, "b": vb, "change": diff.change, "noise": diff.noise,
                                "z": diff.z, "beyond_noise": diff.beyond_noise,
                                "worse": diff.worse, "word": diff.word}
        change_tone = None if not diff.beyond_noise else ("bad" if diff.worse else "good")
        cells += [cell(view.text(va)), cell(view.text(vb)), cell(
            "-" if diff.change is None else f"{diff.change:+.1%} {diff.word}",
            tone=change_tone, title=None if diff.z is None else
            f"z = {diff.z:+.1f} (noise ±{diff.noise:.1%} of the difference)")]
    record = {"case_key": key,
              "same_hardware": bool(ra and rb and ra.hardware_key == rb.hardware_key),
              "hardware_a": ra.hardware_key if ra else None,
              "hardware_b": rb.hardware_key if rb else None, "metrics": metrics}
    return record, cells


def compare_chart(records: list[dict[str, Any]], of_a: dict[str, Any], of_b: dict[str, Any]
                  ) -> dict[str, Any] | None:
    """The change of throughput from A to B against batch size, one line per table."""
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
