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

from segtasks.judge.metrics import METRIC_NAMES
from segtasks.plan.case import CASE_KEY_PATTERN, Case
from segtasks.plan.declare import Parameter, declared, parameter

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
