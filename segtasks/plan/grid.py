"""The grid: every case of a night, from validated parameters, in a stable order."""

from __future__ import annotations

from itertools import product
from typing import Any

from segtasks.plan.case import Case
from segtasks.plan.declare import Parameter, declared

_CASE_PARAMETERS = declared(Case)
AXES: tuple[Parameter, ...] = tuple(p for p in _CASE_PARAMETERS if p.axis)
SETTINGS: tuple[Parameter, ...] = tuple(p for p in _CASE_PARAMETERS if not p.axis)


def _values(axis: Parameter, device: str, conf: dict[str, Any]) -> list[Any]:
    """The axis's values for one device, without repeats (numbers sorted, names in the order
    given); an axis that does not apply to the device (or is left empty) keeps the field's
    own default."""
    if axis.devices is not None and device not in axis.devices:
        return [axis.field_default]
    values = list(dict.fromkeys(conf[axis.name]))
    if not values:
        return [axis.field_default]
    return sorted(values) if axis.schema["items"]["type"] == "integer" else values


def _for_runtime(values: dict[str, Any]) -> dict[str, Any]:
    """The values with every axis that does not apply to their runtime at its default: a
    runtime other than torch runs fp32, contiguous, uncompiled (see Case.runtime)."""
    runtime = values["runtime"]
    return {**values, **{a.attribute: a.field_default for a in AXES
                         if a.runtimes is not None and runtime not in a.runtimes}}


def plan_grid(conf: dict[str, Any]) -> list[Case]:
    """Every case of the grid, axes in declaration order (batch size innermost); an axis
    that does not apply to a case's runtime is not spread for it (no repeated cases).

    `conf` holds every parameter, already validated (segtasks.plan.validate).
    """
    settings = {p.attribute: conf[p.name] for p in SETTINGS}
    device_axis, *others = AXES
    cases: dict[Case, None] = {}
    for device in dict.fromkeys(conf[device_axis.name]):
        for combo in product(*(_values(axis, device, conf) for axis in others)):
            values = _for_runtime(dict(zip((a.attribute for a in others), combo, strict=True)))
            cases.setdefault(Case(device=device, **values, **settings))
    return list(cases)
