"""The alert of a night, from its stored verdicts: a subject, a plain text and a JSON body.

Regressions newly alerted tonight are listed (an ongoing regression was alerted on the
night it was found), then every other case's throughput verdict with what its series can
see; each regression names its effect, z, the smallest change its series sees, the
night the change began when the step test found it, and the software changes since the
series' last baseline night. A paired night (tonight's lock against the baseline night's,
measured in pairs) says first what the software did and what the machine did, apart: a
software regression by its sentence (segtasks.report.paired), a change of the machine
alone as such ("machine slower; software unchanged"). Where a regressed case was
bisected, the alert names the change that explains it (segtasks.report.bisection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from segtasks.domain.bisection import Bisection
from segtasks.domain.paired import PairedVerdict
from segtasks.domain.records import Run
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.report import files
from segtasks.report.bisection_section import bisection_text
from segtasks.report.headline import night_headline
from segtasks.report.paired import machine_only, paired_line, unpaired_line
from segtasks.report.paired_section import case_label
from segtasks.store import repository
from segtasks.store.bisections import bisections_of_run
from segtasks.store.paired_reads import paired_verdicts_of_run


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    payload: dict[str, Any]  # the webhook's JSON body


def _regression(v: Verdict) -> dict[str, Any]:
    return {
        "case": v.case_key, "hardware": v.hardware_key, "metric": v.metric,
        "verdict": v.verdict, "effect": v.relative_change, "z": v.z, "mde": v.mde,
        "tonight": v.tonight, "baseline": v.baseline, "confirmed": v.confirmed,
        "began_run_pk": v.began_run_pk, "software_changes": v.software_changes or [],
        "detail": v.detail,
    }


def _line(r: dict[str, Any]) -> str:
    if r["metric"] == "status":
        return f"- {r['case']}: {r['detail']}"
    parts = [f"- {r['case']} {r['metric']}: {r['effect']:+.1%}" if r["effect"] is not None
             else f"- {r['case']} {r['metric']}"]
    if r["z"] is not None:
        parts.append(f"z {r['z']:.1f}")
    if r["mde"] is not None:
        parts.append(f"this series sees changes of {r['mde']:.1%} or more")
    if r["confirmed"]:
        parts.append("confirmed by re-measuring tonight")
    if r["began_run_pk"] is not None:
        parts.append(f"began with run {r['began_run_pk']}")
    changes = ", ".join(r["software_changes"]) or "none"
    return "; ".join(parts) + f"; software changes since the baseline: {changes}"


def _paired(v: PairedVerdict) -> dict[str, Any]:
    return {
        "case": v.case_key, "hardware": v.hardware_key, "metric": v.metric,
        "software": v.verdict, "ratio": v.ratio, "ci_low": v.ci_low, "ci_high": v.ci_high,
        "pairs": v.pairs, "mde": v.mde, "machine": v.machine_verdict,
        "machine_change": v.machine_change, "packages_changed": list(v.packages_changed),
        "control_lock": v.control_lock, "treatment_lock": v.treatment_lock,
        "text": paired_line(v),
    }


def _paired_lines(run: Run, paired: Sequence[PairedVerdict]) -> list[str]:
    """A paired night's software regressions, then the cases where only the machine moved;
    or, for a night in the baseline night's own lock, that it was not paired."""
    if not paired:
        return [unpaired_line(run.lock_sha256)] if run.lock_sha256 else []
    lines = [f"- {case_label(v)}: {paired_line(v)}" for v in paired
             if v.verdict == VerdictKind.REGRESSION]
    lines += [f"- {case_label(v)}: {said} ({paired_line(v)})" for v in paired
              if (said := machine_only(v)) is not None]
    if lines:
        return ["Software vs machine (tonight's lock against the baseline night's, in pairs):",
                *lines]
    return []


def _bisection(b: Bisection) -> dict[str, Any]:
    return {"case": b.case_key, "hardware": b.hardware_key, "metric": b.metric,
            "outcome": str(b.outcome), "culprit": [list(b.group(i).changes) for i in b.culprit],
            "effect_ratio": b.effect_ratio, "steps": len(b.steps), "running": b.running,
            "text": bisection_text(b)}


def build(run: Run, verdicts: list[Verdict], report: str,
          paired: Sequence[PairedVerdict] = (), bisections: Sequence[Bisection] = ()
          ) -> Alert:
    """The alert of `run` from its verdicts (the judge's, or the stored ones) and, on a
    paired night, its paired verdicts and the bisections of its regressed cases."""
    regressed = [_regression(v) for v in verdicts if v.is_new_regression]
    software = [_paired(v) for v in paired if v.verdict == VerdictKind.REGRESSION]
    machine = [{**_paired(v), "said": said} for v in paired
               if (said := machine_only(v)) is not None]
    count = len(regressed) + len(software)
    cases = ", ".join(sorted({r["case"] for r in (*regressed, *software)})) or "none"
    subject = (f"segbench: {count} regression{'s' if count != 1 else ''} "
               f"in run {run.id} ({run.run_id}): {cases}")
    paired_lines = _paired_lines(run, paired)
    # only the cases this alert is about: a new regression, of the series or of the software
    bisected = [b for b in bisections
                if b.case_key in {r["case"] for r in (*regressed, *software)}]
    bisection_lines = (["", "Bisection (which change explains it):",
                        *(f"- {bisection_text(b)}" for b in bisected)] if bisected else [])
    notes = list(run.notes or [])
    # the other series, so that a quiet night's reader knows what "unchanged" could see
    # (an inconclusive one says what it could not: never an alert by itself)
    others = [f"- {v.case_key}: {v.described}" for v in verdicts
              if v.metric == "images_per_s" and v.verdict != VerdictKind.REGRESSION]
    headline = night_headline(verdicts)
    # the night's model where it is not the default: its case keys end with its identity
    model = run.model_line
    text = "\n".join([
        subject, "", *([f"Model: {model}", ""] if model else []),
        *([f"Verdicts: {headline}", ""] if headline else []),
        *paired_lines, *([""] if paired_lines and regressed else []),
        *(_line(r) for r in regressed), *bisection_lines,
        *(["", "Throughput of the other cases:", *others] if others else []),
        *(["", "Notes:", *(f"- {n}" for n in notes)] if notes else []),
        "", f"Run state: {run.state}; code {run.code_version}", f"Report: {report}",
    ])
    payload = {"text": text, "subject": subject, "run_pk": run.id, "run_id": run.run_id,
               "dag_id": run.dag_id, "state": run.state, "report": report,
               "regressions": regressed, "notes": notes, "headline": headline,
               "model": model,
               "paired_regressions": software, "machine_only": machine,
               "bisections": [_bisection(b) for b in bisected]}
    return Alert(subject, text, payload)


def from_store(engine: Engine, run_pk: int) -> Alert:
    """The alert of a stored run, with the path of its HTML report (reports are filed per
    results database, segtasks.report.files)."""
    run = repository.get_run(engine, run_pk)
    masked = engine.url.render_as_string(hide_password=True)
    report = str(files.default_folder(run_pk, masked) / "report.html")
    return build(run, repository.run_comparisons(engine, run_pk), report,
                 paired_verdicts_of_run(engine, run_pk), bisections_of_run(engine, run_pk))
