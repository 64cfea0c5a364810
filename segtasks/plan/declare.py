"""How a run parameter is declared: once, as metadata on the field of the value it sets.

A field declared with `parameter(...)` is a run parameter. From that one declaration come
the Airflow `Param` (JSON schema, title, help: segtasks.plan.form), the validation of a run
conf (the DAG's plan task and the CLI alike), the CLI flag, the generated
docs/parameters.md and, for fields of `Case`, the stored column.

An *axis* is a list in the run conf that spreads into one case per value. Its default (a
list) cannot be the field's own (one value), so an axis declares it; every other parameter
takes its default from the field, so that each default is written once.

Every number a run conf can hold is bounded on both sides in its schema (checked here when
a parameter is declared): Airflow's form then refuses the infinities, and segtasks.plan
.validate refuses NaN, which no JSON schema bound can catch.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, fields
from typing import Any

_KEY = "segbench.parameter"
_FROM_FIELD: Any = object()  # `parameter(default=...)` left out: the field's default is it


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
    metavar: str | None
    runtimes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Parameter:
    """One run parameter: its conf key, the field it fills, and what a user may give."""

    name: str
    attribute: str
    owner: type
    title: str
    description: str
    default: Any  # as a run conf (JSON) holds it
    schema: Mapping[str, Any]
    axis: bool
    devices: tuple[str, ...] | None  # an axis that applies to these devices only
    cli: tuple[str, ...]  # extra flag spellings, kept for users of older versions
    field_default: Any  # the owner's own default for the field, or MISSING
    declared_metavar: str | None = None
    runtimes: tuple[str, ...] | None = None  # an axis that applies to these runtimes only

    @property
    def flags(self) -> tuple[str, ...]:
        return ("--" + self.name.replace("_", "-"), *self.cli)

    @property
    def value_type(self) -> str:
        """The JSON type of the value (of each item, for a list), null left aside."""
        schema = self.schema.get("items", self.schema) if self.schema["type"] == "array" \
            else self.schema
        return _non_null(schema["type"])

    @property
    def metavar(self) -> str:
        """What the CLI's help shows for one value: declared, else read from the schema."""
        if self.declared_metavar:
            return self.declared_metavar
        schema = self.schema.get("items", self.schema) if self.schema["type"] == "array" \
            else self.schema
        choices = schema.get("enum")
        one = ",".join(choices) if choices else _metavar_of(self.attribute, schema)
        return f"{one},..." if self.schema["type"] == "array" and not choices else one


def _non_null(kind: str | list[str]) -> str:
    return kind if isinstance(kind, str) else next(k for k in kind if k != "null")


# A field named for its unit shows the unit in the CLI's help.
_UNIT_SUFFIXES = (("_seconds", "SECONDS"), ("_s", "SECONDS"), ("_ms", "MS"), ("_gib", "GIB"),
                  ("_mib", "MIB"))


def _metavar_of(attribute: str, schema: Mapping[str, Any]) -> str:
    kind = _non_null(schema["type"])
    if kind == "object":
        return "JSON"
    for suffix, unit in _UNIT_SUFFIXES:
        if attribute.endswith(suffix):
            return unit
    if kind == "integer":
        return "N"
    if kind == "number":
        top = schema.get("maximum", schema.get("exclusiveMaximum"))
        bottom = schema.get("minimum", schema.get("exclusiveMinimum"))
        return "FRACTION" if top == 1 and bottom == 0 else "X"
    return {"string": "NAME", "boolean": "off/on"}.get(kind, kind.upper())


def parameter(*, title: str, description: str, schema: Mapping[str, Any],
              default: Any = _FROM_FIELD, name: str | None = None, axis: bool = False,
              devices: tuple[str, ...] | None = None, cli: tuple[str, ...] = (),
              metavar: str | None = None, runtimes: tuple[str, ...] | None = None
              ) -> dict[str, Any]:
    """Field metadata that makes the field a run parameter (see the module docstring).

    `name` is the conf key when it differs from the field (an axis is plural: `batch_sizes`
    fills `batch_size`); `devices` limits an axis to some devices (CPU threads); `default`
    is an axis's list of values (any other parameter's default is its field's); `metavar`
    names a value in the CLI's help when the schema cannot (e.g. MS, GIB); `runtimes` limits
    an axis to some runtimes (torch.compile modes: PyTorch's only).
    """
    return {_KEY: _Spec(title, description, default, schema, name, axis, devices, cli,
                        metavar, runtimes)}


def _field_default(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _as_conf_value(value: Any) -> Any:
    """A field's default as a run conf (JSON) holds it: tuples become lists."""
    if isinstance(value, tuple):
        return [_as_conf_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_conf_value(v) for k, v in value.items()}
    return copy.deepcopy(value)


def _default(owner: type, f: Field[Any], spec: _Spec) -> Any:
    given = spec.default is not _FROM_FIELD
    if spec.axis and not given:
        raise TypeError(f"{owner.__name__}.{f.name}: an axis declares its default list")
    if not spec.axis and given:
        raise TypeError(f"{owner.__name__}.{f.name}: its default is the field's; do not "
                        "write it again in parameter(...)")
    if given:
        return spec.default
    own = _field_default(f)
    if own is MISSING:
        raise TypeError(f"{owner.__name__}.{f.name}: a run parameter needs a default")
    return _as_conf_value(own)


def number_schemas(schema: Mapping[str, Any], where: str = "") -> Iterator[
        tuple[str, Mapping[str, Any]]]:
    """Every (path, subschema) of a schema that admits a number, nested ones included."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "number" in kinds or "integer" in kinds:
        yield where, schema
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), Mapping):
            yield from number_schemas(schema[key], f"{where}.{key}")
    for name, sub in (schema.get("properties") or {}).items():
        yield from number_schemas(sub, f"{where}.{name}")


def _check_bounded(owner: type, f: Field[Any], schema: Mapping[str, Any]) -> None:
    for where, sub in number_schemas(schema):
        if not ({"minimum", "exclusiveMinimum"} & set(sub)
                and {"maximum", "exclusiveMaximum"} & set(sub)):
            raise TypeError(f"{owner.__name__}.{f.name}{where}: a number needs a lower and an "
                            "upper bound (so that infinities are refused)")


def declared(owner: type) -> list[Parameter]:
    """The run parameters declared on a dataclass, in field order."""
    found = []
    for f in fields(owner):
        spec = f.metadata.get(_KEY)
        if spec is None:
            continue
        _check_bounded(owner, f, spec.schema)
        found.append(Parameter(
            name=spec.name or f.name, attribute=f.name, owner=owner, title=spec.title,
            description=spec.description, default=_default(owner, f, spec),
            schema=spec.schema, axis=spec.axis, devices=spec.devices, cli=spec.cli,
            field_default=_field_default(f), declared_metavar=spec.metavar,
            runtimes=spec.runtimes))
    return found
