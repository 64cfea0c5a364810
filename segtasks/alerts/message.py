"""The alert of a night, from its stored verdicts: a subject, a plain text and a JSON body.

Regressions newly alerted tonight are listed (an ongoing regression was alerted on the
night it was found), then every other case's throughput verdict with what its series can
see; each regression names its effect, z, the smallest change its series sees, the
night the change began when the step test found it, and the software changes since the
series' last baseline night.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from segtasks.domain.records import Run
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.report import files
from segtasks.store import repository


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


def build(run: Run, verdicts: list[Verdict], report: str) -> Alert:
    """The alert of `run` from its verdicts (the judge's, or the stored ones)."""
    regressed = [_regression(v) for v in verdicts if v.is_new_regression]
    cases = ", ".join(sorted({r["case"] for r in regressed})) or "none"
    subject = (f"segbench: {len(regressed)} regression{'s' if len(regressed) != 1 else ''} "
               f"in run {run.id} ({run.run_id}): {cases}")
    notes = list(run.notes or [])
    # the other series, so that a quiet night's reader knows what "unchanged" could see
    others = [f"- {v.case_key}: {v.described}" for v in verdicts
              if v.metric == "images_per_s" and v.verdict != VerdictKind.REGRESSION]
    text = "\n".join([
        subject, "",
        *(_line(r) for r in regressed),
        *(["", "Throughput of the other cases:", *others] if others else []),
        *(["", "Notes:", *(f"- {n}" for n in notes)] if notes else []),
        "", f"Run state: {run.state}; code {run.code_version}", f"Report: {report}",
    ])
    payload = {"text": text, "subject": subject, "run_pk": run.id, "run_id": run.run_id,
               "dag_id": run.dag_id, "state": run.state, "report": report,
               "regressions": regressed, "notes": notes}
    return Alert(subject, text, payload)


def from_store(engine: Engine, run_pk: int) -> Alert:
    """The alert of a stored run, with the path of its HTML report (reports are filed per
    results database, segtasks.report.files)."""
    run = repository.get_run(engine, run_pk)
    masked = engine.url.render_as_string(hide_password=True)
    report = str(files.default_folder(run_pk, masked) / "report.html")
    return build(run, repository.run_comparisons(engine, run_pk), report)
