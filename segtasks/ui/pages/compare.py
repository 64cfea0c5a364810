"""Two runs side by side, per case: each judged metric's change and whether it exceeds
the noise (segtasks.judge.two_runs), opening with what changed from A to B."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from segtasks.domain.metrics import BY_NAME, METRICS
from segtasks.domain.records import Result, Run
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.judge.decide import cannot_tell, minimum_detectable_effect
from segtasks.judge.thresholds import NightThresholds, night_thresholds
from segtasks.judge.two_runs import difference_beyond_noise
from segtasks.plan import ParamError, validate
from segtasks.plan.params import JudgeSettings
from segtasks.report.model import models_of
from segtasks.report.tables import by_variant, variant
from segtasks.store import browse as queries
from segtasks.store import default_pair, repository
from segtasks.ui import charts
from segtasks.ui.columns import cell, metric_view
from segtasks.ui.links import Links
from segtasks.ui.pages import changes
from segtasks.ui.pages.common import PageContext, run_label, run_summary, table

# the columns shown at once: the case, its status, throughput and p90 latency in A and B;
# memory waits behind "more columns" (its changes beyond the noise are in "What changed")
SHOWN_METRICS = ("images_per_s", "latency_p90_ms")
SHORT = {"images_per_s": "img/s", "latency_p90_ms": "p90 ms",
         "cuda_peak_reserved_bytes": "CUDA GiB", "host_peak_rss_bytes": "RSS GiB"}
# outputs and disturbance: B's own verdicts say them (the two runs' numbers cannot)
OF_B = {VerdictKind.DISTURBED, VerdictKind.OUTPUTS_CHANGED, VerdictKind.OUTPUTS_DIFFER}


def _thresholds(run: Run) -> NightThresholds:
    """The thresholds run b was judged with (its stored conf), else today's defaults."""
    try:
        return night_thresholds(validate(run.params or {}, installed=False).judging)
    except ParamError:
        return night_thresholds(JudgeSettings())


def pick_pair(ctx: PageContext, a_pk: int | None, b_pk: int | None) -> tuple[Run, Run]:
    """Runs a and b as asked; where not asked, B is the latest finished night and A the
    latest finished night before B with the same cases (segtasks.store.default_pair).
    Without a finished night, the latest run and the one before it."""
    if b_pk is None:
        b_pk = default_pair.latest_finished_pk(ctx.engine) \
            or repository.latest_run_pk(ctx.engine)
        if b_pk is None:
            raise queries.NotFound("no run stored yet")
    b = queries.run_by_pk(ctx.engine, b_pk)
    if a_pk is None:
        a_pk = default_pair.earlier_finished_pk(ctx.engine, b) \
            or queries.previous_run_pk(ctx.engine, b)
    return (queries.run_by_pk(ctx.engine, a_pk) if a_pk is not None else b), b


def compare_page(ctx: PageContext, a_pk: int | None, b_pk: int | None) -> dict[str, Any]:
    """Runs a and b (default: the latest finished night and the finished one before it
    with the same cases)."""
    links = ctx.links
    a, b = pick_pair(ctx, a_pk, b_pk)
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
        short = SHORT.get(metric.name, metric.name)
        columns += [f"{short} A", f"{short} B", f"{short} change"]
    order = [0, 1, *(2 + 3 * i + k for i, m in enumerate(METRICS) if m.name in SHOWN_METRICS
                     for k in range(3))]
    order += [i for i in range(len(columns)) if i not in order]
    columns = [columns[i] for i in order]
    shown = {c for m in SHOWN_METRICS for c in columns if c.startswith(SHORT[m] + " ")}
    found = what_changed(records, of_a, of_b, verdicts, b.id, thresholds)
    changed = {c.case_key for c in found}
    calm = len(records) - len(changed)
    sees = calm_reach([r for r in records if r["case_key"] not in changed], thresholds)
    recent = queries.recent_runs(ctx.engine, limit=100)
    return {
        "page": "compare", "database": ctx.database,
        "api": links.api(f"compare?a={a.id}&b={b.id}"),
        "a": run_summary(a, links), "b": run_summary(b, links),
        # each night's model where it is not the default: two models are two series
        "models": {"a": models_of(a, list(of_a.values())),
                   "b": models_of(b, list(of_b.values()))},
        "changes": changes.section(
            found, links, {"text": f"{calm} within noise", "tone": "ok",
                           "title": "cases with no change that these two nights can "
                                    "tell from their noise" + sees} if calm else None,
            tonight="B", baseline="A"),
        "rows": records,
        "table": table(None, columns, [[row[i] for i in order] for row in rows],
                       None if all(r["same_hardware"] for r in records)
                       else "Some cases ran on other hardware in A and B: their changes mix "
                            "machines.",
                       extra=[c for c in columns[2:] if c not in shown]),
        "charts": [c for c in (compare_chart(records, of_a, of_b),) if c is not None],
        # the runs to pick from: the recent ones, and A and B wherever they are
        "choices": [{"id": run.id, "label": f"{run_label(run)} · {run.state}"}
                    for run in {r.id: r for r in (*recent, a, b)}.values()],
    }


def calm_reach(records: list[dict[str, Any]], thresholds: NightThresholds) -> str:
    """What the calm cases' throughput could see, for the badge's title: "within noise"
    must not read as "unchanged" where two single nights could only see large changes."""
    reach = [minimum_detectable_effect(m["noise"], thresholds.of(r["case_key"], name))
             for r in records for name, m in r["metrics"].items()
             if name == "images_per_s" and m.get("noise") is not None]
    if not reach:
        return ""
    return (f"; in images/s they could see changes of {min(reach):.1%} or more "
            f"(the noisiest case: {max(reach):.1%} or more)")


def what_changed(records: list[dict[str, Any]], of_a: dict[str, Result],
                 of_b: dict[str, Result], verdicts: dict[tuple[int | None, str, str], Verdict],
                 b_pk: int, thresholds: NightThresholds) -> list[changes.Change]:
    """From A to B, biggest first (segtasks.ui.pages.changes.sort_key)."""
    found = []
    for rec in records:
        key = rec["case_key"]
        judged_b = [v for (pk, case, _), v in verdicts.items()
                    if pk == b_pk and case == key and v.verdict in OF_B]
        found += case_changes(rec, of_a.get(key), of_b.get(key), judged_b, thresholds)
    return sorted(found, key=changes.sort_key)


def case_changes(rec: dict[str, Any], ra: Result | None, rb: Result | None,
                  judged_b: list[Verdict], thresholds: NightThresholds
                  ) -> list[changes.Change]:
    """One case from A to B: stopped working or gone missing; B's disturbed and outputs
    verdicts; each metric's change beyond the noise (regression or improvement); a
    throughput change of at least the minimum effect that the two nights are too noisy to
    tell (inconclusive: the judge's rule, segtasks.judge.decide.cannot_tell, at the noise
    of the difference). Two single nights are noisier than a night against its series, so
    a smaller change that neither can tell is left with the calm ones: listing it would
    bury the list in noise."""
    key = rec["case_key"]
    hardware = rec["hardware_b"] or rec["hardware_a"]
    found: list[changes.Change] = []

    def add(verdict: str, metric: str = "status", change: float | None = None,
            b: float | None = None, a: float | None = None, z: float | None = None,
            detail: str | None = None) -> None:
        found.append(changes.Change(key, hardware, metric, verdict, change, b, a, z, detail))

    if ra is not None and ra.status == "ok" and rb is None:
        add(VerdictKind.MISSING, detail="measured in A, absent in B")
        return found
    if rb is not None and rb.status not in ("ok", "skipped") and \
            (ra is None or ra.status == "ok"):
        add(VerdictKind.FAILED, detail=f"{rb.status}: {rb.reason}")
        return found
    for v in judged_b:
        add(v.verdict, v.metric, detail=v.detail)
    if any(v.verdict == VerdictKind.DISTURBED for v in judged_b):
        return found  # its figures are shown, not compared
    for name, m in rec["metrics"].items():
        if m["change"] is None:
            continue
        figures = {"change": m["change"], "b": m["b"], "a": m["a"], "z": m["z"]}
        if m["beyond_noise"]:
            add(VerdictKind.REGRESSION if m["worse"] else VerdictKind.IMPROVEMENT, name,
                **figures, detail=f"noise of the difference ±{m['noise']:.1%}")
            continue
        threshold = thresholds.of(key, name)
        mde = minimum_detectable_effect(m["noise"], threshold)
        if name in changes.HEADLINE_METRICS and abs(m["change"]) >= threshold.min_effect \
                and cannot_tell(mde, BY_NAME[name], threshold):
            add(VerdictKind.INCONCLUSIVE, name, **figures,
                detail=f"these two nights cannot see changes under {mde:.1%}")
    return found


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
    """The change of throughput from A to B against batch size, one line per table; each
    point's tooltip gives A, B and z."""
    lines: dict[str, dict[float, float]] = defaultdict(dict)
    notes: dict[str, dict[float, str]] = defaultdict(dict)
    view = metric_view("images_per_s")
    for rec in records:
        m = rec["metrics"]["images_per_s"]
        r = of_b.get(rec["case_key"]) or of_a.get(rec["case_key"])
        if m["change"] is not None and r is not None:
            lines[variant(r)][r.batch_size] = 100 * m["change"]
            notes[variant(r)][r.batch_size] = (
                f"A {view.text(m['a'])}, B {view.text(m['b'])} {view.unit}, "
                f"z {m['z']:+.1f}: {m['word']}")
    if not lines:
        return None
    xs = sorted({x for points in lines.values() for x in points})
    return charts.spec("compare-speed", "Change of inference throughput, B against A",
                       "log2", "batch size", xs,
                       [{"scale": "y", "label": "change of images/s (%)", "side": "left"}],
                       [charts.line(name, charts.aligned(xs, points), unit="%", digits=1,
                                    notes=[notes[name].get(x) for x in xs])
                        for name, points in lines.items()])
