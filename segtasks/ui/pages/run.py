"""One run as the report shows it (segtasks.report), with charts and links, opening with
what changed."""

from __future__ import annotations

from typing import Any

from segtasks.domain import run_states
from segtasks.domain.metrics import METRIC_NAMES
from segtasks.domain.records import Run
from segtasks.domain.verdicts import VerdictKind
from segtasks.judge.series import NOISE_NIGHTS
from segtasks.report import model, recommend
from segtasks.report.headline import night_headline
from segtasks.report.paired_section import paired_section
from segtasks.report.progress import REFRESH_S, night_progress
from segtasks.report.tables import (
    NOTES,
    compile_rows,
    phase_rows,
    verdict_rows,
    warning_lines,
)
from segtasks.store import browse as queries
from segtasks.store import default_pair, repository
from segtasks.ui import charts
from segtasks.ui.columns import calm_badge
from segtasks.ui.pages import bisection, changes
from segtasks.ui.pages.common import (
    PageContext,
    environments,
    raw,
    report_table,
    result_tables,
    run_summary,
)
from segtasks.ui.pages.paired import run_section

# the verdict table's columns behind "more columns"
VERDICT_EXTRA = ("Min effect", "Confirmed", "Nights", "Software changes")


def run_page(ctx: PageContext, run: Run) -> dict[str, Any]:
    """One run as the report shows it (segtasks.report), with charts and links."""
    links = ctx.links
    results = queries.results_of(ctx.engine, [run.id])
    verdicts = queries.comparisons_of(ctx.engine, [run.id])
    regressed = sorted({(v.case_key, v.hardware_key) for v in verdicts
                        if v.verdict == VerdictKind.REGRESSION and v.metric in METRIC_NAMES})
    history = repository.series_history(ctx.engine, run, regressed, limit=NOISE_NIGHTS) \
        if regressed else {}
    paired = paired_section(ctx.engine, run.id, run.notes or [])
    report = model.build(run, results, verdicts, history, ctx.database, paired=paired)
    chart_list = [c for c in (charts.by_batch_size("run-speed", results, "speed", verdicts),
                              charts.by_batch_size("run-memory", results, "memory", verdicts))
                  if c is not None]
    judged = {(v.case_key, v.metric): v for v in verdicts}
    chart_list += [charts.trend(f"run-trend-{i}", t.case_key, t.metric, t.nights, t.tonight,
                                t.baseline, judged.get((t.case_key, t.metric)))
                   for i, t in enumerate(report.trends)]
    previous = default_pair.earlier_finished_pk(ctx.engine, run) \
        or queries.previous_run_pk(ctx.engine, run)
    counts = queries.verdict_counts(ctx.engine, [run.id])[run.id]
    summary = run_summary(run, links, counts)
    running = run.state == run_states.RUNNING
    progress = night_progress(ctx.engine, run.id) if running else None
    return {
        "page": "run", "database": ctx.database, "title": summary["label"],
        "api": links.api(f"runs/{run.id}"),
        "run": summary,
        "models": report.models,  # the night's model where it is not the default
        # a running night: how far it got, and the page follows it (as the overview does)
        "progress": progress.text if progress else None,
        "progress_fraction": progress.fraction if progress else None,
        "refresh_s": REFRESH_S if running else None,
        "headline": night_headline(verdicts),
        "changes": changes.section(changes.from_verdicts(verdicts), links,
                                   calm_badge(changes.quiet_cases(verdicts), "case")),
        "paired": run_section(paired, links),
        "bisection": bisection.run_section(paired.bisections, links),
        "compare_previous": links.compare(previous, run.id) if previous else None,
        "regressions": [{"case_key": v.case_key, "metric": v.metric,
                         "relative_change": v.relative_change,
                         "href": links.series(v.case_key, v.hardware_key)}
                        for v in report.regressions],
        "tables": result_tables(results, verdicts, links),
        "phases": report_table("Phases (mean per timed batch)", phase_rows(results)),
        "compiled": report_table("torch.compile (one-off costs, apart from the steady state)",
                                 compile_rows(results)),
        "recommendations": [{"device": rec.device, "hardware_key": rec.hardware_key,
                             "hardware": rec.hardware, "text": rec.text,
                             "best_case": rec.best.result.case_key if rec.best else None,
                             "front": report_table(None, recommend.front_rows(rec))}
                            for rec in report.recommendations],
        "runtime_gains": [gain.text for gain in report.runtime_gains],
        "verdicts": report_table("Verdicts", verdict_rows(verdicts), extra=VERDICT_EXTRA,
                                 wrap=("Detail",)),
        "warnings": warning_lines(results),
        "charts": chart_list,
        "environments": environments(results),
        "notes": [*NOTES, recommend.NOTE],
        "results": [raw(r) for r in results],
        "verdicts_stored": [raw(v) for v in verdicts],
        "paired_verdicts_stored": [raw(v) for v in paired.verdicts],
        "bisections_stored": [raw(b) for b in paired.bisections],
    }
