"""Every run parameter, each declared once on the value it sets.

- `Case` (segtasks.plan.case): the grid's axes and how each case is measured;
- `JudgeSettings`: the thresholds a night is judged with;
- `NightOptions`: what the night does with its verdicts;
- `RecommendSettings`: the constraints the recommendation picks a configuration under;
- `PairSettings`: the control environment each case is paired against, and how.

`PARAMETERS` lists them all; Airflow's trigger form (segtasks.plan.form), the CLI's flags
(segtasks.plan.cli_flags), the validation of a run conf (segtasks.plan.validate) and
docs/parameters.md (segtasks.plan.docs) are built from it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from segtasks.domain.metrics import METRIC_NAMES
from segtasks.domain.paired import PairMode
from segtasks.parity.tolerance import Tolerance
from segtasks.plan.case import CASE_KEY_PATTERN, PRECISIONS, Case
from segtasks.plan.declare import Parameter, declared, parameter

# How far each precision's outputs may lie from the fp32 eager reference (and, for fp32,
# the night's reference from the golden outputs). docs/results/2026-11-29-output-parity.md
# gives the measurements behind them (benchmarks/parity.py on the trained demo model): bf16
# moved the probabilities by at most 0.042 and 0.0018% of the mask pixels, fp32 channels_last by
# 2.4e-6 and none; tf32 and fp16 (CUDA only, not measured yet) keep 3 more mantissa bits
# than bf16, so their bounds are bf16's scaled by 2^-3 with the same margin.
OUTPUT_TOLERANCES: dict[str, dict[str, float]] = {
    "fp32": {"max_abs_diff": 1e-3, "mask_mismatch": 1e-4},
    "tf32": {"max_abs_diff": 0.02, "mask_mismatch": 2e-4},
    "bf16": {"max_abs_diff": 0.1, "mask_mismatch": 5e-4},
    "fp16": {"max_abs_diff": 0.02, "mask_mismatch": 2e-4},
}
_TOLERANCE = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {
        "max_abs_diff": {"type": "number", "minimum": 0, "maximum": 1},
        "mask_mismatch": {"type": "number", "minimum": 0, "maximum": 1},
    },
}

_THRESHOLD = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {
        "min_effect": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "z_threshold": {"type": "number", "minimum": 1, "maximum": 20},
    },
}


@dataclass(frozen=True)
class JudgeSettings:
    min_effect: float = field(default=0.05, metadata=parameter(
        title="Minimum effect (speed)",
        description="Smallest relative change of images/s or p90 latency that is flagged.",
        schema={"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}))
    memory_min_effect: float = field(default=0.02, metadata=parameter(
        title="Minimum effect (memory)",
        description="Smallest relative change of CUDA peak memory or host RSS that is "
                    "flagged; memory is nearly deterministic, so the band is tight.",
        schema={"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}))
    z_threshold: float = field(default=3.0, metadata=parameter(
        title="Noise threshold (robust z)", metavar="Z",
        description="A change must also lie this many noise units (night-to-night spread "
                    "combined with tonight's interval) from the baseline.",
        schema={"type": "number", "minimum": 1, "maximum": 20}))
    series_thresholds: dict[str, Any] = field(default_factory=dict, metadata=parameter(
        title="Per-series thresholds",
        description='Overrides per case key, applied after the run-level thresholds, e.g. '
                    '{"cpu-bs1-fp32": {"images_per_s": {"min_effect": 0.08, '
                    '"z_threshold": 4}}}. Metrics: ' + ", ".join(METRIC_NAMES) + ".",
        schema={"type": "object", "propertyNames": {"pattern": CASE_KEY_PATTERN},
                "additionalProperties": {
                    "type": "object", "additionalProperties": False,
                    "properties": dict.fromkeys(METRIC_NAMES, _THRESHOLD)}}))
    baseline_runs: int = field(default=7, metadata=parameter(
        title="Baseline nights (K)",
        description="How many earlier good nights of the same case and hardware form the "
                    "baseline.",
        schema={"type": "integer", "minimum": 1, "maximum": 100}))
    output_tolerances: dict[str, Any] = field(
        default_factory=lambda: copy.deepcopy(OUTPUT_TOLERANCES), metadata=parameter(
        title="Output tolerances",
        description="Per precision, how far a case's outputs on the parity images may lie "
                    "from the fp32 eager reference on the same device: max_abs_diff of the "
                    "probabilities and mask_mismatch, the share of mask pixels that differ. "
                    "Beyond either, the case gets the verdict outputs_differ; the fp32 "
                    "tolerance also bounds the reference's drift from the golden outputs "
                    "(outputs_changed). A precision or key left out keeps its default.",
        schema={"type": "object", "additionalProperties": False,
                "properties": dict.fromkeys(PRECISIONS, _TOLERANCE)}))
    min_history: int = field(default=3, metadata=parameter(
        title="Minimum history",
        description="Fewer baseline nights than this give `insufficient_history`; at most "
                    "the baseline nights (K).",
        schema={"type": "integer", "minimum": 1, "maximum": 100}))
    screen_factor: float = field(default=0.7, metadata=parameter(
        title="Screening factor",
        description="A change that passes this share of the alert criterion (both its "
                    "minimum effect and its z) is measured again tonight before it is "
                    "believed; 1 screens only what would be flagged.",
        schema={"type": "number", "exclusiveMinimum": 0, "maximum": 1}))
    confirm_repeats: int = field(default=2, metadata=parameter(
        title="Confirming processes",
        description="Fresh processes that re-measure each screened case the same night; "
                    "pooled with the first, only a change they confirm is a regression or "
                    "an improvement (one that does not hold is `unconfirmed`). 0 turns "
                    "confirmation off.",
        schema={"type": "integer", "minimum": 0, "maximum": 10}))
    step_z_threshold: float = field(default=3.5, metadata=parameter(
        title="Step threshold (nights pooled)", metavar="Z",
        description="The test that pools the nights since a suspected change (a step too "
                    "small for one night, caught within days) flags it at this robust z.",
        schema={"type": "number", "minimum": 1, "maximum": 20}))

    def tolerance(self, precision: str) -> Tolerance:
        """The output tolerance of a precision: the given keys over the defaults."""
        given = (self.output_tolerances or {}).get(precision, {})
        return Tolerance(**{**OUTPUT_TOLERANCES[precision], **given})


@dataclass(frozen=True)
class NightOptions:
    fail_on_regression: bool = field(default=True, metadata=parameter(
        title="Fail on regression",
        description="Fail the DAG run when a regression is found, so alerting fires.",
        schema={"type": "boolean"}))
    confirm_budget_s: float = field(default=600.0, metadata=parameter(
        title="Confirmation budget (s)",
        description="Machine time the night may spend re-measuring screened cases; cases "
                    "left when it runs out keep their first verdict, and the report says so.",
        schema={"type": "number", "minimum": 0, "maximum": 86400}))


def _optional_positive(maximum: float) -> dict[str, Any]:
    """A number, or null for "no constraint": Airflow's form shows it as an optional field.
    The upper bound is far beyond any real machine; it is there so that infinity is refused."""
    return {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": maximum}


@dataclass(frozen=True)
class RecommendSettings:
    memory_budget_gib: float | None = field(default=None, metadata=parameter(
        title="Memory budget (GiB)",
        description="The recommendation's best configuration must fit this peak memory "
                    "(CUDA: steady-state peak reserved by PyTorch; CPU: the process's peak "
                    "RSS); null: no budget.",
        schema=_optional_positive(1024 * 1024)))
    latency_target_ms: float | None = field(default=None, metadata=parameter(
        title="p90 latency target (ms)",
        description="The recommendation's best configuration must have a p90 batch latency "
                    "at most this (cases with too few batches for a p90 cannot show it); "
                    "null: no target.",
        schema=_optional_positive(24 * 3600 * 1000)))


# `control`'s two words; any other value names a lock (segtasks.envs)
CONTROL_BASELINE = "baseline"
CONTROL_NONE = "none"
# The fewest pairs a paired verdict is made of: the paired spread needs a few differences
MIN_PAIRS = 3


@dataclass(frozen=True)
class PairSettings:
    control: str = field(default=CONTROL_BASELINE, metadata=parameter(
        title="Control environment", metavar="baseline/none/LOCK",
        description="The environment each case is paired against tonight: \"baseline\" (the "
                    "lock of the newest good baseline night of the series, built from its "
                    "lock when it differs from tonight's), a lock's name or sha256 (prefix), "
                    "or \"none\" (no pairs). When it differs from a case's environment, the "
                    "case is measured in both, in fresh processes, in pairs of randomized "
                    "order, and the paired verdict says whether the software made it slower "
                    "on this machine tonight; when it is the same lock, the night runs "
                    "unpaired and says so.",
        schema={"type": "string", "minLength": 1, "maxLength": 250}))
    pairs: int | None = field(default=None, metadata=parameter(
        title="Pairs per case",
        description="Control/treatment pairs per paired case; null sizes them from the "
                    "series' paired noise so that the minimum effect can be seen (at least "
                    f"{MIN_PAIRS}, at most pairs_max).",
        schema={"type": ["integer", "null"], "minimum": MIN_PAIRS, "maximum": 100}))
    pairs_max: int = field(default=10, metadata=parameter(
        title="Most pairs per case",
        description="The cap on the pairs sized from the series' paired noise.",
        schema={"type": "integer", "minimum": MIN_PAIRS, "maximum": 100}))
    # duet by default: on this 2-core VM it measured a smaller paired spread than
    # interleaved at both batch sizes, at about half the machine time
    # (docs/results/2026-12-07-paired-nights.md); CUDA cases pair interleaved
    pair_mode: str = field(default=PairMode.DUET.value, metadata=parameter(
        title="Pair mode",
        description="duet: both sides of a pair at once, on disjoint halves of the cores "
                    "(a CUDA case, or one with a single core, pairs interleaved); "
                    "interleaved: one after the other, in a random order.",
        schema={"type": "string", "enum": [m.value for m in PairMode]}))
    pairs_budget_s: float = field(default=900.0, metadata=parameter(
        title="Pairs budget (s)",
        description="Machine time each case's pairs may take; the pairs measured when it "
                    "runs out make the verdict (fewer than planned: the report says so).",
        schema={"type": "number", "minimum": 0, "maximum": 86400}))
    # off by default: a bisection measures several intermediate environments in pairs, each
    # as long as a paired case, which a night's schedule may not have room for
    bisect: bool = field(default=False, metadata=parameter(
        title="Bisect new software regressions",
        description="After the night is judged, find which change between the control's "
                    "lock and tonight's explains each new paired regression: intermediate "
                    "environments (the control with some packages moved, or a package at "
                    "an intermediate git commit) measured in pairs against the control, "
                    "with the same rule (docs/bisection.md).",
        schema={"type": "boolean"}))
    bisect_budget_s: float = field(default=1800.0, metadata=parameter(
        title="Bisection budget (s)",
        description="Machine time the night's bisections may take together; a bisection "
                    "that runs out ends inconclusive with what it measured (`segbench "
                    "bisect` resumes it).",
        schema={"type": "number", "minimum": 0, "maximum": 86400}))


PARAMETERS: tuple[Parameter, ...] = (
    *declared(Case), *declared(JudgeSettings), *declared(NightOptions),
    *declared(RecommendSettings), *declared(PairSettings))
BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
DEFAULTS: dict[str, Any] = {p.name: copy.deepcopy(p.default) for p in PARAMETERS}
