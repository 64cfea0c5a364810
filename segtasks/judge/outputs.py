"""Verdicts on outputs, beside the speed verdicts: pure decisions on stored figures.

- `outputs` (every checked case): the case's outputs on the parity images against the
  fp32 eager reference on the same device: `outputs_differ` when the probabilities or the
  masks lie outside the tolerance of the case's precision, else `outputs_match`.
- `golden` (once per weights, dataset and device kind a night checked): that reference
  against the golden outputs: `outputs_changed` outside the fp32 tolerance, with the
  software changes since the golden outputs were taken, else `outputs_unchanged`;
  `golden_created` on the night that made them.

Before either, each checked result's reference is compared with the golden outputs
(`golden_drift`): equal checksums are no drift, else the largest probability difference and
the share of mask pixels that differ, where both arrays were kept; a reference that differs
is kept as a candidate for `segbench golden accept`, an equal one is not.

The golden verdict is carried by one case of the group: an fp32 eager case (its own outputs
are the reference) with the smallest batch size, else the first checked case.
"""

from __future__ import annotations

from collections.abc import Iterable

from segtasks.domain.records import GoldenDrift, GoldenOutputs, ReferenceCheck, Result, Run
from segtasks.domain.verdicts import VerdictKind
from segtasks.judge.software import software_changes
from segtasks.judge.verdict import Verdict
from segtasks.parity import metrics
from segtasks.parity.outputs import Outputs
from segtasks.parity.tolerance import Tolerance
from segtasks.plan.params import JudgeSettings

PARITY_METRIC = "outputs"
GOLDEN_METRIC = "golden"


def _checked(results: Iterable[Result]) -> list[Result]:
    return [r for r in results if r.status == "ok" and r.parity_images]


def parity_ok(result: Result, tolerance: Tolerance) -> bool:
    drift, mismatch = result.parity_max_abs_diff, result.parity_mask_mismatch
    return drift is not None and mismatch is not None and tolerance.admits(drift, mismatch)


def _figures(max_abs_diff: float | None, mismatch: float | None) -> str:
    if max_abs_diff is None or mismatch is None:
        return "checksum differs, arrays not comparable (too large to keep, or other images)"
    return f"max abs dp {max_abs_diff:.2g}, masks differing {mismatch:.3%}"


def parity_verdicts(results: Iterable[Result], settings: JudgeSettings
                    ) -> tuple[list[Verdict], dict[int, bool | None]]:
    """One `outputs` verdict per checked case, and parity_ok per result id (None where the
    outputs were not checked)."""
    verdicts: list[Verdict] = []
    decided: dict[int, bool | None] = {}
    results = list(results)
    for result in results:
        decided[result.id] = None
    for result in _checked(results):
        tolerance = settings.tolerance(result.precision)
        ok = parity_ok(result, tolerance)
        decided[result.id] = ok
        truth = (f"; IoU against the true masks {result.truth_iou:.4f}"
                 if result.truth_iou is not None else "")
        verdicts.append(Verdict(
            case_key=result.case_key, hardware_key=result.hardware_key, metric=PARITY_METRIC,
            verdict=VerdictKind.OUTPUTS_MATCH if ok else VerdictKind.OUTPUTS_DIFFER,
            direction="lower",
            tonight=result.parity_max_abs_diff,
            detail=f"against fp32 eager on {result.device_kind}, {result.parity_images} images: "
                   f"{_figures(result.parity_max_abs_diff, result.parity_mask_mismatch)}, "
                   f"IoU {result.parity_iou:.4f}{truth} (tolerance for {result.precision}: "
                   f"{tolerance.describe()})"))
    return verdicts, decided


def _carrier_order(result: Result) -> tuple[int, int, str]:
    # an fp32 eager case's own outputs are the reference; a compile axis, where it exists,
    # counts as eager only at "none", and a runtime only at torch
    eager = (result.precision == "fp32" and not result.channels_last
             and getattr(result, "compile", None) in (None, "none")
             and getattr(result, "runtime", None) in (None, "torch"))
    return (0 if eager else 1, result.batch_size, result.case_key)


def golden_verdicts(results: Iterable[Result], goldens: dict[int, GoldenOutputs], run: Run,
                    settings: JudgeSettings) -> list[Verdict]:
    """One `golden` verdict per (weights, dataset, device kind) of the night."""
    groups: dict[tuple[str, str, str], list[Result]] = {}
    for result in _checked(results):
        weights, dataset, kind = (result.weights_sha256, result.dataset_fingerprint,
                                  result.device_kind)
        if result.golden_id is not None and weights and dataset and kind:
            key = (weights, dataset, kind)
            groups.setdefault(key, []).append(result)
    tolerance = settings.tolerance("fp32")
    verdicts = []
    for members in groups.values():
        result = min(members, key=_carrier_order)
        golden = goldens.get(result.golden_id) if result.golden_id is not None else None
        if golden is None:
            continue
        drift, mismatch = result.golden_max_abs_diff, result.golden_mask_mismatch
        changes = software_changes(run.code_version, result.environment, golden.code_version,
                                   golden.environment)
        since = f"golden outputs {golden.id} (run {golden.run_pk}, {golden.created_at:%Y-%m-%d})"
        if golden.run_pk == run.id:
            verdict = VerdictKind.GOLDEN_CREATED
            detail = f"{since}: {golden.reason or 'made tonight'}"
        elif drift is not None and mismatch is not None and tolerance.admits(drift, mismatch):
            verdict = VerdictKind.OUTPUTS_UNCHANGED
            detail = f"fp32 eager against {since}: {_figures(drift, mismatch)}"
        else:
            verdict = VerdictKind.OUTPUTS_CHANGED
            detail = (f"fp32 eager against {since}: {_figures(drift, mismatch)} (tolerance "
                      f"{tolerance.describe()}); `segbench golden accept --from "
                      f"{run.id}` if intended")
        verdicts.append(Verdict(
            case_key=result.case_key, hardware_key=result.hardware_key, metric=GOLDEN_METRIC,
            verdict=verdict, direction="lower", tonight=drift, baseline_run_pks=(
                [golden.run_pk] if golden.run_pk is not None else []),
            software_changes=changes, detail=detail))
    return verdicts


def golden_drift(check: ReferenceCheck) -> GoldenDrift:
    """How far a result's reference outputs lie from the golden ones."""
    if check.checksum == check.golden_checksum:
        return GoldenDrift(0.0, 0.0, keep_candidate=False)
    if check.arrays is None or check.golden_arrays is None:
        return GoldenDrift(None, None, keep_candidate=True)  # only the checksum says so
    try:
        tonight, kept = Outputs.from_npz(check.arrays), Outputs.from_npz(check.golden_arrays)
        return GoldenDrift(metrics.max_abs_diff(tonight.probs, kept.probs),
                           metrics.mask_mismatch(tonight.masks, kept.masks),
                           keep_candidate=True)
    except (ValueError, KeyError, OSError) as exc:
        # e.g. other parity images than the golden ones: the result stands regardless
        return GoldenDrift(None, None, keep_candidate=True,
                           warning=f"outputs not comparable with golden outputs "
                                   f"{check.golden_id}: {exc}")
