"""How a run parameter is declared: once, as metadata on the field of the value it sets.

A field declared with `parameter(...)` is a run parameter. From that one declaration come
the Airflow `Param` (JSON schema, title, help), the validation of a run conf (the DAG's
plan task and the CLI alike), the CLI flag, and, for fields of `Case`, the stored column.
An *axis* is a list in the run conf that spreads into one case per value.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any

_KEY = "segbench.parameter"


@dataclass(frozen=True)
class _Spec:
    title: str
    description: str
    default: Any
    schema: Mapping[str, Any]
    name: str | None
    axis: bool
    devices: tuple[str, ...] | None
    cli: tuple[str, ...]


@dataclass(frozen=True)
class Parameter:
    """One run parameter: its conf key, the field it fills, and what a user may give."""

    name: str
    attribute: str
    owner: type
    title: str
    description: str
    default: Any
    schema: Mapping[str, Any]
    axis: bool
    devices: tuple[str, ...] | None  # an axis that applies to these devices only
    cli: tuple[str, ...]  # extra flag spellings, kept for users of older versions
    field_default: Any  # the owner's own default for the field, or MISSING

    def param_schema(self) -> dict[str, Any]:
        """Keyword arguments for Airflow's `Param`: the JSON schema with default and help."""
        return {"default": copy.deepcopy(self.default), "title": self.title,
                "description": self.description, **copy.deepcopy(dict(self.schema))}

    @property
    def flags(self) -> tuple[str, ...]:
        return ("--" + self.name.replace("_", "-"), *self.cli)


def parameter(*, title: str, description: str, default: Any, schema: Mapping[str, Any],
              name: str | None = None, axis: bool = False,
              devices: tuple[str, ...] | None = None, cli: tuple[str, ...] = ()
              ) -> dict[str, Any]:
    """Field metadata that makes the field a run parameter (see the module docstring).

    `name` is the conf key when it differs from the field (an axis is plural: `batch_sizes`
    fills `batch_size`); `devices` limits an axis to some devices (CPU threads).
    """
    return {_KEY: _Spec(title, description, default, schema, name, axis, devices, cli)}


def declared(owner: type) -> list[Parameter]:
    """The run parameters declared on a dataclass, in field order."""
    found = []
    for f in fields(owner):
        spec = f.metadata.get(_KEY)
        if spec is None:
            continue
        own_default = f.default if f.default is not MISSING else (
            f.default_factory() if f.default_factory is not MISSING else MISSING)
        found.append(Parameter(
            name=spec.name or f.name, attribute=f.name, owner=owner, title=spec.title,
            description=spec.description, default=spec.default, schema=spec.schema,
            axis=spec.axis, devices=spec.devices, cli=spec.cli, field_default=own_default))
    return found
