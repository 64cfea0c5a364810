"""The report's "Software vs machine" section of a paired night: what it holds, reading it
from the store, and its rows (one per case and metric; one per pair).

A night is paired when tonight's lock differs from the baseline night's: each case is
measured in pairs of fresh processes, one in tonight's environment (treatment), one in the
baseline's (control). A night in the baseline's own lock is measured as every night and
says so (`unpaired_line`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from segtasks.domain.bisection import Bisection
from segtasks.domain.paired import SAME_AS_BASELINE, PairedVerdict, PairSide, Side
from segtasks.report.bisection_section import bisection_text
from segtasks.report.paired import half_width, machine_part, paired_line, unpaired_line
from segtasks.store import paired_reads
from segtasks.store.bisections import bisections_of_run

SECTION_TITLE = "Software vs machine"
PAIRS_TITLE = "Pairs (each side's images/s, in the order they ran)"


@dataclass(frozen=True)
class PairedSection:
    verdicts: Sequence[PairedVerdict]
    pairs: Mapping[str, Sequence[PairSide]] = field(default_factory=dict)  # by case key
    run_lock: str | None = None  # the lock the night ran in (None: not recorded)
    # which change explains a case's paired verdict, where the night bisected it
    bisections: Sequence[Bisection] = ()

    @property
    def lines(self) -> list[str]:
        """The section in words: each case's sentence, or why the night was not paired."""
        if self.verdicts:
            return [f"{case_label(v)}: {paired_line(v)}" for v in self.verdicts]
        return [unpaired_line(self.run_lock)] if self.run_lock else []

    @property
    def bisection_lines(self) -> list[str]:
        """Each bisected case's sentence (segtasks.report.bisection)."""
        return [bisection_text(b) for b in self.bisections]

    @property
    def shown(self) -> bool:
        return bool(self.lines or self.bisections)


def paired_section(source: Engine | Session, run_pk: int,
                   notes: Sequence[str] | None = None) -> PairedSection:
    """The section of a stored night (its verdicts and pairs, and the lock it ran in).

    With the run's `notes`: a night without pairs is said to be in the baseline night's
    lock only when it was (it is also unpaired with `control` none, before any night
    recorded its lock, or when the control could not be built, and its notes say which)."""
    section = PairedSection(paired_reads.paired_verdicts_of_run(source, run_pk),
                            paired_reads.pairs_by_case(source, run_pk),
                            paired_reads.run_lock(source, run_pk),
                            bisections_of_run(source, run_pk))
    if notes is not None and not section.verdicts \
            and not any(note.endswith(SAME_AS_BASELINE) for note in notes):
        section = replace(section, run_lock=None)
    return section


def case_label(v: PairedVerdict) -> str:
    """The case, and the metric where it is not throughput (which the words imply)."""
    return v.case_key if v.metric == "images_per_s" else f"{v.case_key} ({v.metric})"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value - 1:+.1%}"


def _interval(v: PairedVerdict) -> str:
    if v.ci_low is None or v.ci_high is None:
        return "-"
    return f"{v.ci_low - 1:+.1%} .. {v.ci_high - 1:+.1%}"


def paired_rows(verdicts: Sequence[PairedVerdict]) -> list[dict[str, str]]:
    """One row per case (and metric): the paired ratio as a change, its interval, and the
    two verdicts; a Detail column where any verdict has one (a failed one says why)."""
    rows = [
        {
            "Case": v.case_key,
            "Metric": v.metric,
            # treatment over control, as a change: -6.1% is 6.1% lower tonight
            "Ratio": _pct(v.ratio),
            "Interval": _interval(v),
            "+-": "-" if (width := half_width(v)) is None else f"{width:.1%}",
            "Pairs": str(v.pairs),
            "Mode": str(v.mode),
            "MDE": "-" if v.mde is None else f"{v.mde:.1%}",
            "Software": str(v.verdict),
            "Machine": v.machine_verdict or "-",
            "Machine change": machine_part(v).removeprefix("machine: "),
            "Packages changed": ", ".join(v.packages_changed) or "none",
        }
        for v in verdicts
    ]
    if any(v.detail for v in verdicts):
        for row, v in zip(rows, verdicts, strict=True):
            row["Detail"] = v.detail or ""
    return rows


def _value(side: PairSide | None) -> str:
    if side is None:
        return "-"
    if side.status != "ok":
        return f"{side.status}: {side.reason}" if side.reason else side.status
    text = "-" if side.images_per_s is None else f"{side.images_per_s:.3f}"
    return text if side.valid is not False else f"{text} (disturbed)"


def _ratio(control: PairSide | None, treatment: PairSide | None) -> str:
    if control is None or treatment is None or control.status != "ok" \
            or treatment.status != "ok" or not control.images_per_s \
            or treatment.images_per_s is None:
        return "-"
    return f"{treatment.images_per_s / control.images_per_s:.4f}"


def _order(sides: Sequence[PairSide]) -> str:
    if any(s.mode == "duet" for s in sides):
        return "together (duet)"
    first = min(sides, key=lambda s: s.position)
    return f"{first.side} first"


def pair_rows(pairs: Mapping[str, Sequence[PairSide]]) -> list[dict[str, str]]:
    """One row per pair: the order its two processes ran in and each side's images/s."""
    rows = []
    for case_key, sides in pairs.items():
        by_pair: dict[int, list[PairSide]] = {}
        for s in sides:
            by_pair.setdefault(s.pair, []).append(s)
        for number, found in by_pair.items():
            side = {s.side: s for s in found}
            control, treatment = side.get(Side.CONTROL), side.get(Side.TREATMENT)
            rows.append({
                "Case": case_key,
                "Pair": str(number),
                "Order": _order(found),
                "Control (img/s)": _value(control),
                "Treatment (img/s)": _value(treatment),
                "Treatment / control": _ratio(control, treatment),
            })
    return rows
