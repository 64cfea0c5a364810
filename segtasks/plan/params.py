"""Every run parameter, each declared once on the value it sets.

- `Case` (segtasks.plan.case): the grid's axes and how each case is measured;
- `JudgeSettings`: the thresholds a night is judged with;
- `NightOptions`: what the night does with its verdicts;
- `RecommendSettings`: the constraints the recommendation picks a configuration under.

`PARAMETERS` lists them all; Airflow's trigger form (`SCHEMAS`), the CLI's flags
(segtasks.plan.cli_flags) and the validation of a run conf (segtasks.plan.validate) are
built from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segtasks.domain.metrics import METRIC_NAMES
from segtasks.parity.tolerance import Tolerance
from segtasks.plan.case import CASE_KEY_PATTERN, PRECISIONS, Case
from segtasks.plan.declare import Parameter, declared, parameter

# How far each precision's outputs may lie from the fp32 eager reference (and, for fp32,
# the night's reference from the golden outputs). README "Output parity, per case" gives the
# measurements behind them (benchmarks/parity.py on the trained demo model): bf16 moved
# the probabilities by at most 0.042 and 0.0018% of the mask pixels, fp32 channels_last by
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
        title="Minimum effect (speed)", default=0.05,
        description="Smallest relative change of images/s or p90 latency that is flagged.",
        schema={"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}))
    memory_min_effect: float = field(default=0.02, metadata=parameter(
        title="Minimum effect (memory)", default=0.02,
        description="Smallest relative change of CUDA peak memory or host RSS that is "
                    "flagged; memory is nearly deterministic, so the band is tight.",
        schema={"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}))
    z_threshold: float = field(default=3.0, metadata=parameter(
        title="Noise threshold (robust z)", default=3.0,
        description="A change must also lie this many noise units (night-to-night spread "
                    "combined with tonight's interval) from the baseline.",
        schema={"type": "number", "minimum": 1, "maximum": 20}))
    series_thresholds: dict[str, Any] = field(default_factory=dict, metadata=parameter(
        title="Per-series thresholds", default={},
        description='Overrides per case key, applied after the run-level thresholds, e.g. '
                    '{"cpu-bs1-fp32": {"images_per_s": {"min_effect": 0.08, '
                    '"z_threshold": 4}}}. Metrics: ' + ", ".join(METRIC_NAMES) + ".",
        schema={"type": "object", "propertyNames": {"pattern": CASE_KEY_PATTERN},
                "additionalProperties": {
                    "type": "object", "additionalProperties": False,
                    "properties": dict.fromkeys(METRIC_NAMES, _THRESHOLD)}}))
    baseline_runs: int = field(default=7, metadata=parameter(
        title="Baseline nights (K)", default=7,
        description="How many earlier good nights of the same case and hardware form the "
                    "baseline.",
        schema={"type": "integer", "minimum": 1, "maximum": 100}))
    output_tolerances: dict[str, Any] = field(default_factory=dict, metadata=parameter(
        title="Output tolerances", default=OUTPUT_TOLERANCES,
        description="Per precision, how far a case's outputs on the parity images may lie "
                    "from the fp32 eager reference on the same device: max_abs_diff of the "
                    "probabilities and mask_mismatch, the share of mask pixels that differ. "
                    "Beyond either, the case gets the verdict outputs_differ; the fp32 "
                    "tolerance also bounds the reference's drift from the golden outputs "
                    "(outputs_changed). A precision or key left out keeps its default.",
        schema={"type": "object", "additionalProperties": False,
                "properties": dict.fromkeys(PRECISIONS, _TOLERANCE)}))
    min_history: int = field(default=3, metadata=parameter(
        title="Minimum history", default=3,
        description="Fewer baseline nights than this give `insufficient_history`; at most "
                    "the baseline nights (K).",
        schema={"type": "integer", "minimum": 1, "maximum": 100}))
    screen_factor: float = field(default=0.7, metadata=parameter(
        title="Screening factor", default=0.7,
        description="A change that passes this share of the alert criterion (both its "
                    "minimum effect and its z) is measured again tonight before it is "
                    "believed; 1 screens only what would be flagged.",
        schema={"type": "number", "exclusiveMinimum": 0, "maximum": 1}))
    confirm_repeats: int = field(default=2, metadata=parameter(
        title="Confirming processes", default=2,
        description="Fresh processes that re-measure each screened case the same night; "
                    "pooled with the first, only a change they confirm is a regression or "
                    "an improvement (one that does not hold is `unconfirmed`). 0 turns "
                    "confirmation off.",
        schema={"type": "integer", "minimum": 0, "maximum": 10}))
    step_z_threshold: float = field(default=3.5, metadata=parameter(
        title="Step threshold (nights pooled)", default=3.5,
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
        title="Fail on regression", default=True,
        description="Fail the DAG run when a regression is found, so alerting fires.",
        schema={"type": "boolean"}))
    confirm_budget_s: float = field(default=600.0, metadata=parameter(
        title="Confirmation budget (s)", default=600.0,
        description="Machine time the night may spend re-measuring screened cases; cases "
                    "left when it runs out keep their first verdict, and the report says so.",
        schema={"type": "number", "minimum": 0, "maximum": 86400}))


# A number, or null for "no constraint": Airflow's form shows it as an optional field.
_OPTIONAL_POSITIVE = {"type": ["number", "null"], "exclusiveMinimum": 0}


@dataclass(frozen=True)
class RecommendSettings:
    memory_budget_gib: float | None = field(default=None, metadata=parameter(
        title="Memory budget (GiB)", default=None,
        description="The recommendation's best configuration must fit this peak memory "
                    "(CUDA: steady-state peak reserved by PyTorch; CPU: the process's peak "
                    "RSS); null: no budget.",
        schema=_OPTIONAL_POSITIVE))
    latency_target_ms: float | None = field(default=None, metadata=parameter(
        title="p90 latency target (ms)", default=None,
        description="The recommendation's best configuration must have a p90 batch latency "
                    "at most this (cases with too few batches for a p90 cannot show it); "
                    "null: no target.",
        schema=_OPTIONAL_POSITIVE))


PARAMETERS: tuple[Parameter, ...] = (
    *declared(Case), *declared(JudgeSettings), *declared(NightOptions),
    *declared(RecommendSettings))
BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
SCHEMAS: dict[str, dict[str, Any]] = {p.name: p.param_schema() for p in PARAMETERS}
DEFAULTS: dict[str, Any] = {p.name: schema["default"] for p, schema in
                            zip(PARAMETERS, SCHEMAS.values(), strict=True)}
