"""How results and verdicts look on the pages: the one place to add a column or a verdict.

- `RESULT_EXTRAS`: columns appended to the report's seed-style rows (segtasks.report.tables,
  where the seed's columns and ours are declared);
- `METRIC_VIEWS`: label, unit and scale of each judged metric (segtasks.domain.metrics
  lists them; one missing here still shows, under its own name);
- `SERIES_CHARTS`: which metrics share a chart on the series page;
- `RESULT_SHOWN`: which of those columns a page shows at once, in that order (the rest
  wait behind "more columns");
- `VERDICT_TONES`: the colour of each verdict. A verdict not listed (a new kind) is shown
  as needing attention until it is given a tone;
- `VERDICT_WORDS`: a verdict as a page says it (the stored value is snake_case);
- `CALM`: the verdicts a page counts in one badge instead of listing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from segtasks.domain.records import Result
from segtasks.domain.verdicts import Verdict, VerdictKind

GIB = 2**30

# Verdicts that need nobody's attention; every other one is listed on the overview.
# (`unconfirmed`: a first measurement the same night's re-measuring did not bear out;
# `inconclusive`: a night too noisy to tell, which nobody can answer: the run's headline
# says how much it could see)
QUIET = (VerdictKind.UNCHANGED, VerdictKind.NEW, VerdictKind.INSUFFICIENT_HISTORY,
         VerdictKind.IMPROVEMENT, VerdictKind.UNCONFIRMED, VerdictKind.INCONCLUSIVE,
         # outputs within tolerance (segtasks.judge.outputs)
         VerdictKind.OUTPUTS_MATCH, VerdictKind.OUTPUTS_UNCHANGED, VerdictKind.GOLDEN_CREATED)
# The directions of a change each have their own colour (segbench.css, charts.js):
# regression and failure red, improvement green, inconclusive amber, disturbed purple,
# outputs magenta; the quiet ones grey or blue.
VERDICT_TONES: dict[str, str] = {
    VerdictKind.REGRESSION: "bad", VerdictKind.FAILED: "bad", VerdictKind.MISSING: "warn",
    VerdictKind.IMPROVEMENT: "good", VerdictKind.UNCHANGED: "ok", VerdictKind.NEW: "info",
    VerdictKind.INSUFFICIENT_HISTORY: "info", VerdictKind.UNCONFIRMED: "info",
    VerdictKind.INCONCLUSIVE: "unsure", VerdictKind.DISTURBED: "disturbed",
    VerdictKind.OUTPUTS_CHANGED: "outputs", VerdictKind.OUTPUTS_DIFFER: "outputs",
    VerdictKind.OUTPUTS_MATCH: "ok", VerdictKind.OUTPUTS_UNCHANGED: "ok",
    VerdictKind.GOLDEN_CREATED: "info",
}
UNKNOWN_TONE = "warn"
# Where plain underscores-to-spaces would not say it (the rest: "outputs unchanged").
VERDICT_WORDS: dict[str, str] = {
    VerdictKind.NEW: "new series",
    VerdictKind.GOLDEN_CREATED: "golden outputs created",
    VerdictKind.UNCONFIRMED: "unconfirmed change",
}
# Verdicts that say nothing happened (or nothing could be compared yet, for a reason
# nobody needs to act on): a page counts them in one badge. Inconclusive, unconfirmed and
# every change stay listed.
CALM = (VerdictKind.UNCHANGED, VerdictKind.INSUFFICIENT_HISTORY, VerdictKind.NEW,
        VerdictKind.OUTPUTS_UNCHANGED, VerdictKind.OUTPUTS_MATCH, VerdictKind.GOLDEN_CREATED)
# Most severe first; a verdict not listed ranks just after the listed failures. Quiet
# verdicts on outputs rank last, so that a case's badge stays its speed verdict.
SEVERITY = (VerdictKind.REGRESSION, VerdictKind.FAILED, VerdictKind.OUTPUTS_CHANGED,
            VerdictKind.MISSING, VerdictKind.INCONCLUSIVE, VerdictKind.OUTPUTS_DIFFER,
            VerdictKind.IMPROVEMENT,
            VerdictKind.UNCONFIRMED, VerdictKind.UNCHANGED, VerdictKind.INSUFFICIENT_HISTORY,
            VerdictKind.NEW, VerdictKind.GOLDEN_CREATED, VerdictKind.OUTPUTS_UNCHANGED,
            VerdictKind.OUTPUTS_MATCH)


def tone(verdict: str | None) -> str | None:
    if verdict is None:
        return None
    return VERDICT_TONES.get(verdict, UNKNOWN_TONE)


def verdict_words(verdict: str) -> str:
    """A verdict as the pages say it: 'outputs unchanged', not 'outputs_unchanged'."""
    return VERDICT_WORDS.get(verdict) or str(verdict).replace("_", " ")


def calm_badge(counts: dict[str, int], noun: str = "") -> dict[str, Any] | None:
    """The calm verdicts of `counts` (verdict -> how many) as one badge, e.g. '12 quiet
    cases' (noun "case"), its title saying which; None when there are none."""
    calm = {v: n for v, n in counts.items() if v in CALM and n}
    if not calm:
        return None
    total = sum(calm.values())
    parts = ", ".join(f"{n} {verdict_words(v)}"
                      for v, n in sorted(calm.items(), key=lambda vn: severity(vn[0])))
    named = f" {noun}{'s' if total != 1 else ''}" if noun else ""
    return {"text": f"{total} quiet{named}", "tone": "ok",
            "title": f"nothing to look at: {parts}"}


def verdict_badges(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Verdict counts as badges, most severe first, the calm ones collapsed into one."""
    badges = [{"text": f"{n} {verdict_words(v)}", "tone": tone(v), "title": None}
              for v, n in sorted(counts.items(), key=lambda vn: severity(vn[0]))
              if v not in CALM and n]
    calm = calm_badge(counts)
    return badges + ([calm] if calm else [])


def severity(verdict: str) -> float:
    return SEVERITY.index(verdict) if verdict in SEVERITY else 2.5


def headline(verdicts: Iterable[Verdict]) -> Verdict | None:
    """The most severe of a case's verdicts: what its badge says."""
    return min(verdicts, key=lambda v: severity(v.verdict), default=None)


def worst(words: Iterable[str]) -> str | None:
    return min(words, key=severity, default=None)


@dataclass(frozen=True)
class MetricView:
    name: str
    label: str
    unit: str
    scale: float = 1.0  # stored value / scale = shown value
    digits: int = 3

    def shown(self, value: float | None) -> float | None:
        return None if value is None else value / self.scale

    def text(self, value: float | None) -> str:
        shown = self.shown(value)
        return "-" if shown is None else f"{shown:.{self.digits}f}"


METRIC_VIEWS = {view.name: view for view in (
    MetricView("images_per_s", "Inference throughput", "images/s", 1.0, 3),
    MetricView("latency_p90_ms", "p90 latency", "ms", 1.0, 2),
    MetricView("cuda_peak_reserved_bytes", "CUDA peak reserved", "GiB", GIB, 3),
    MetricView("host_peak_rss_bytes", "Host peak RSS", "GiB", GIB, 3),
)}


def metric_view(name: str) -> MetricView:
    return METRIC_VIEWS.get(name) or MetricView(name, name, "", 1.0, 4)


SERIES_CHARTS = (
    ("Inference throughput", ("images_per_s",)),
    ("p90 latency", ("latency_p90_ms",)),
    ("Peak memory", ("cuda_peak_reserved_bytes", "host_peak_rss_bytes")),
)


def cell(text: str, *, href: str | None = None, tone: str | None = None,
         title: str | None = None, airflow: bool = False) -> dict[str, Any]:
    """One table cell as pages and the JSON API share it; `airflow` marks a link to
    Airflow's own pages (opened in Airflow's window rather than in the segbench frame)."""
    found: dict[str, Any] = {"text": text}
    if href:
        found["href"] = href
    if airflow:
        found["airflow"] = True
    if tone:
        found["tone"] = tone
    if title:
        found["title"] = title
    return found


def report_cell(column: str, text: str) -> dict[str, Any]:
    """A cell of the report's own rows, toned where its column carries a judgement."""
    if column == "Verdict":
        return cell(verdict_words(text), tone=tone(text))
    if column == "Status":  # the status in a word; why, on hover (a reason is a sentence)
        word, _, why = text.partition(": ")
        return cell(word, tone=None if text == "ok" else (
            "info" if text.startswith("skipped") else
            "disturbed" if text.startswith("disturbed") else "bad"), title=why or None)
    if column == "Stable" and text == "no":
        return cell(text, tone="warn", title="the median's interval did not reach the "
                                              "target before the time cap")
    return cell(text)


@dataclass(frozen=True)
class RowContext:
    """What the extra columns of a result's row may use."""

    verdicts: dict[tuple[int | None, str], list[Verdict]]  # (run pk, case key) -> verdicts
    series_href: Callable[[Result], str | None]
    task_href: Callable[[Result], str | None]


def _verdict(result: Result, ctx: RowContext) -> dict[str, Any]:
    verdicts = ctx.verdicts.get((result.run_pk, result.case_key), [])
    top = headline(verdicts)
    if top is None:
        return cell("-", title="not judged (skipped, or the run was not judged yet)")
    detail = "; ".join(f"{metric_view(v.metric).label}: "
                       + (v.described if v.verdict == VerdictKind.INCONCLUSIVE
                          else verdict_words(v.verdict))
                       + (f" ({v.relative_change:+.1%})" if v.relative_change is not None
                          else "") for v in verdicts)
    return cell(verdict_words(top.verdict), tone=tone(top.verdict), title=detail)


def _series(result: Result, ctx: RowContext) -> dict[str, Any]:
    href = ctx.series_href(result)
    return cell("history", href=href) if href else cell("-")


def _task(result: Result, ctx: RowContext) -> dict[str, Any]:
    href = ctx.task_href(result)
    return cell("task", href=href, title="this case's task instance in Airflow",
                airflow=True) if href \
        else cell("-")


RESULT_EXTRAS: tuple[tuple[str, Callable[[Result, RowContext], dict[str, Any]]], ...] = (
    ("Verdict", _verdict),
    ("Series", _series),
    ("Airflow task", _task),
)
# The case column (batch size, in a table of one variant) and its verdict first, then
# the figures read most: at 1,032 px (Airflow's run tab) they fit without scrolling.
RESULT_SHOWN = ("Batch Size", "Verdict", "Inference img/s", "p90 Latency (ms)",
                "Median ±95% CI", "FPS", "Status", "Series", "Airflow task")
