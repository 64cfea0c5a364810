"""A paired night's verdict on one case in one sentence, e.g.

    software: 6.1% slower than the control's on this machine tonight (5 pairs, +-1.1%);
    machine: unchanged; packages changed: torch 2.14.0 -> 2.14.1

The software part comes from the paired ratio (treatment over control) and its interval;
the machine part from the control's own series across nights; then the packages that
differ between the two locks. Pure: the report, the pages and the alerts all say it so.
"""

from __future__ import annotations

from segtasks.domain.metrics import BY_NAME
from segtasks.domain.paired import PairedVerdict
from segtasks.domain.verdicts import CHANGES, VerdictKind

SHORT_SHA = 12  # as the report names weights files


def words(metric: str) -> tuple[str, str]:
    """How a metric worsens and improves, in words: ("slower", "faster") for speed."""
    if metric.endswith("_bytes"):
        return "more memory", "less memory"
    if metric.endswith(("_per_s", "_ms")):
        return "slower", "faster"
    return f"worse {metric}", f"better {metric}"


def _higher_is_worse(metric: str) -> bool:
    """Latencies and memory: more is worse. Rates (images/s) and the judged metrics that
    say so: more is better. Paired metrics need not be judged ones (latency_p50_ms)."""
    if metric in BY_NAME:
        return not BY_NAME[metric].higher_is_better
    return not metric.endswith("_per_s")


def moved(metric: str, change: float) -> str:
    """A relative change as "6.1% slower" (or "faster", "more memory", ...)."""
    worse, better = words(metric)
    got_worse = change > 0 if _higher_is_worse(metric) else change < 0
    return f"{abs(change):.1%} {worse if got_worse else better}"


def half_width(v: PairedVerdict) -> float | None:
    """Half the interval's width, relative to the control (the "+-" of a change)."""
    if v.ci_low is None or v.ci_high is None:
        return None
    return (v.ci_high - v.ci_low) / 2


def reach(v: PairedVerdict) -> float | None:
    """How far from the control the interval reaches, either way: the x of "within +-x%"."""
    if v.ci_low is None or v.ci_high is None:
        return None if v.change is None else abs(v.change)
    return max(abs(v.ci_low - 1), abs(v.ci_high - 1))


def _pairs(n: int) -> str:
    return f"{n} pair{'' if n == 1 else 's'}"


def software_part(v: PairedVerdict) -> str:
    """What tonight's software did to the case against the control's, on this machine."""
    verdict = str(v.verdict)
    width = half_width(v)
    if verdict in CHANGES and v.change is not None:
        spread = "" if width is None else f", +-{width:.1%}"
        return (f"software: {moved(v.metric, v.change)} than the control's on this machine "
                f"tonight ({_pairs(v.pairs)}{spread})")
    if verdict == VerdictKind.UNCHANGED:
        within = reach(v)
        mde = "" if v.mde is None else f", MDE {v.mde:.1%}"
        head = "unchanged" if within is None else f"within +-{within:.1%} of the control"
        return f"software: {head} ({_pairs(v.pairs)}{mde})"
    if verdict == "inconclusive":
        mde = "" if v.mde is None else f", MDE {v.mde:.1%}"
        if v.ci_low is None or v.ci_high is None:
            return f"software: inconclusive ({_pairs(v.pairs)}{mde})"
        low, high = sorted((v.ci_low - 1.0, v.ci_high - 1.0))
        return (f"software: inconclusive, between {moved(v.metric, low)} and "
                f"{moved(v.metric, high)} than the control ({_pairs(v.pairs)}{mde})")
    if verdict == "failed":
        return f"software: failed: {v.detail or 'no complete pair'}"
    return f"software: {verdict.replace('_', ' ')}" + (f": {v.detail}" if v.detail else "")


def machine_part(v: PairedVerdict) -> str:
    """What the machine did: the control's value tonight against its own earlier nights."""
    verdict = v.machine_verdict
    if verdict is None or verdict == VerdictKind.NEW:
        return "machine: no earlier nights"
    if verdict == VerdictKind.UNCHANGED:
        return "machine: unchanged"
    if verdict in CHANGES:
        if v.machine_change is not None:
            return f"machine: {moved(v.metric, v.machine_change)} than its earlier nights"
        worse, better = words(v.metric)
        return f"machine: {worse if verdict == 'regression' else better} than its earlier nights"
    if verdict == "insufficient_history":
        return "machine: too few earlier nights"
    said = verdict.replace("_", " ")
    return f"machine: {said}" + (f" ({v.machine_detail})" if v.machine_detail else "")


def packages_part(v: PairedVerdict) -> str:
    return f"packages changed: {', '.join(v.packages_changed) or 'none'}"


def paired_line(v: PairedVerdict) -> str:
    """The night's word on one case: software, machine, and the packages that changed."""
    return "; ".join((software_part(v), machine_part(v), packages_part(v)))


def unpaired_line(lock_sha256: str) -> str:
    """A night whose lock is the baseline night's: measured as every night, no pairs."""
    return f"software: same lock as the baseline night ({lock_sha256[:SHORT_SHA]}): not paired"


def machine_only(v: PairedVerdict) -> str | None:
    """"machine slower; software unchanged" where the machine moved and the pairs saw no
    change of the software (unchanged, or too uncertain to say: "software inconclusive");
    None otherwise."""
    if v.verdict in CHANGES or v.machine_verdict not in CHANGES:
        return None
    worse, better = words(v.metric)
    machine = worse if v.machine_verdict == VerdictKind.REGRESSION else better
    return f"machine {machine}; software {str(v.verdict).replace('_', ' ')}"
