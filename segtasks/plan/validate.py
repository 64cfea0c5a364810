"""A run conf checked as a whole before anything is measured.

The JSON schema each parameter declares checks types and bounds (Airflow's trigger form
uses it too, admitting null so that no field is required, and the spellings of its
multi-selects: segtasks.plan.form); then the rules that tie parameters together, which no
per-field schema can say. Every message names the parameter, so a hand-written run conf or
a CLI flag gets the same answer as the form.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from segtasks.domain.metrics import METRIC_NAMES
from segtasks.domain.model_spec import ModelSpecError
from segtasks.errors import SegbenchError
from segtasks.plan.case import CURRENT_ENVIRONMENT, Case
from segtasks.plan.form import typed
from segtasks.plan.grid import plan_grid
from segtasks.plan.model_check import checked_spec
from segtasks.plan.params import (
    BY_NAME,
    CONTROL_BASELINE,
    CONTROL_NONE,
    DEFAULTS,
    PARAMETERS,
    JudgeSettings,
    NightOptions,
    PairSettings,
    RecommendSettings,
)


class ParamError(SegbenchError, ValueError):
    """A run parameter a user gave is not acceptable."""


# A lock reference (a name, a sha256 or a prefix of it) to the lock's sha256, or None for
# the environment the night runs in. It raises a SegbenchError naming the nearest lock
# for a reference that names none (segtasks.nightly.lock_resolver asks the results
# database; `validate` without one knows only "current" and whole sha256s).
LockResolver = Callable[[str], "str | None"]
_SHA256 = re.compile(r"[0-9a-f]{64}")


class LockUnresolved(SegbenchError, LookupError):
    """A lock named without the results database at hand to find it."""


def resolve_without_database(ref: str) -> str | None:
    """"current", or a whole sha256 taken as given: what a stored run conf holds, since
    `validate` writes every lock it resolved into the conf as its sha256."""
    if ref == CURRENT_ENVIRONMENT:
        return None
    if _SHA256.fullmatch(ref):
        return ref
    raise LockUnresolved(f"lock {ref!r} is found only in the results database (a name or a "
                         "sha256 prefix), which was not given")


@dataclass(frozen=True)
class NightParams:
    """A validated run conf: every parameter (defaults filled in) and what follows from it.

    `conf` holds every lock reference resolved: `environments` as sha256s ("current" for
    the environment the night runs in), `control` as a sha256 when it names a lock, so
    that a stored conf plans the same cases without the database."""

    conf: dict[str, Any]
    cases: tuple[Case, ...]
    judging: JudgeSettings
    options: NightOptions
    recommending: RecommendSettings
    pairing: PairSettings
    # the lock every case runs in when the night asks for one environment other than the
    # current one (with several, each case's lock_sha256 says); None: the current one
    night_lock: str | None = None

    def treatment_of(self, case: Case) -> str | None:
        """The lock a case of this night is measured in (None: the current environment)."""
        return case.lock_sha256 if case.lock_sha256 is not None else self.night_lock


def _non_finite(value: Any, where: str) -> Iterator[tuple[str, float]]:
    """Every NaN or infinity inside a value (a conf, a parameter), with its dotted path."""
    if isinstance(value, float) and not math.isfinite(value):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _non_finite(item, f"{where}.{index}")


def refuse_non_finite(conf: Mapping[str, Any]) -> None:
    """A ParamError naming the first NaN or infinity in a run conf, nested ones included.

    Every number parameter, threshold and tolerance must be finite, and no JSON schema bound
    can refuse NaN (every comparison with it is false): one such flag would store a run
    conf that is not JSON and silently turn a verdict off (a NaN minimum effect calls
    every change `unchanged`)."""
    for where, value in _non_finite(conf, ""):
        raise ParamError(f"bad parameter {where}: {value} is not a finite number "
                         "(NaN and infinity are refused)")


def _message(error: Any, name: str) -> str:
    expected = error.validator_value if error.validator == "type" else None
    if error.instance is None and expected is not None:
        kinds = [expected] if isinstance(expected, str) else expected
        # Airflow's trigger form sends an emptied field as null (no field is required:
        # segtasks.plan.form), and a NaN or infinity typed into a number field too
        how = ("an emptied field, NaN and infinity arrive as null"
               if {"number", "integer"} & set(kinds) else "an emptied field arrives as null")
        default = ("" if error.absolute_path
                   else f"; the default is {json.dumps(BY_NAME[name].default)}")
        return f"null is not a value here (expected {' or '.join(kinds)}; {how}{default})"
    return str(error.message)


def _schema_errors(name: str, value: Any) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    # the declared schema, not the form's: null and the form's spellings are no values here
    error = best_match(Draft202012Validator(BY_NAME[name].schema).iter_errors(value))
    if error is not None:
        where = ".".join([name, *map(str, error.absolute_path)])
        raise ParamError(f"bad parameter {where}: {_message(error, name)}")


def _as_declared(value: Any, schema: Mapping[str, Any]) -> Any:
    """A whole float where the schema wants an integer, as that integer. JSON Schema calls
    2.0 an integer, so the form and the checks above accept it; kept a float, it would make
    a case key of its own (cpu-bs2.0-fp32), a series with no history, and reach code that
    counts with it."""
    kinds = schema.get("type")
    if (kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds)) and \
            isinstance(value, float) and value.is_integer():
        return int(value)
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        return [_as_declared(item, items) for item in value]
    return value


def _owned(owner: type, conf: dict[str, Any]) -> Any:
    return owner(**{p.attribute: conf[p.name] for p in PARAMETERS if p.owner is owner})


def _resolved(name: str, ref: str, resolve: LockResolver) -> str | None:
    try:
        return resolve(ref)
    except SegbenchError as exc:
        raise ParamError(f"bad parameter {name}: {exc}") from None


def _environments(refs: list[str], resolve: LockResolver) -> list[str | None]:
    """Each environment's sha256 (None: the current one), in the order given; two names of
    one lock are refused, since they would be the same cases twice."""
    found: dict[str | None, str] = {}
    for ref in refs:
        sha = _resolved("environments", ref, resolve)
        if sha in found:
            raise ParamError(f"bad parameter environments: {found[sha]!r} and {ref!r} are "
                             "the same lock")
        found[sha] = ref
    return list(found)


def _control(ref: str, resolve: LockResolver) -> str:
    if ref in (CONTROL_BASELINE, CONTROL_NONE):
        return ref
    return _resolved("control", ref, resolve) or CURRENT_ENVIRONMENT


def _torch_axes_need_torch(full: Mapping[str, Any]) -> None:
    """PyTorch's own axes (precision, memory format, compile) asked beyond their default on a
    night without the torch runtime would be silently dropped (segtasks.plan.grid): refused,
    so that e.g. runtimes ["onnxruntime"] with compile ["max-autotune"] says why."""
    from segtasks.plan.grid import AXES

    if any(runtime in (a.runtimes or ()) for a in AXES for runtime in full["runtimes"]):
        return
    for axis in AXES:
        if axis.runtimes is None:
            continue
        beyond = [v for v in full[axis.name] if v != axis.field_default]
        if beyond:
            raise ParamError(
                f"bad parameter {axis.name}: {json.dumps(beyond)} applies to the "
                f"{' and '.join(axis.runtimes)} runtime only, and runtimes "
                f"{json.dumps(full['runtimes'])} has none (other runtimes run "
                f"{json.dumps(axis.field_default)})")


def validate(conf: Mapping[str, Any] | None, *, resolve_lock: LockResolver | None = None,
             installed: bool = True) -> NightParams:
    """The run conf, complete and checked, or a ParamError naming the bad key.

    `resolve_lock` finds the locks that `environments` and `control` name (see
    LockResolver); without it only "current" and whole sha256s are known. `installed`:
    also check what only the installed code can say (a model's smp architecture and
    encoder, its factory's module); a reader of a stored night's conf (the pages) passes
    False, so that a web process never imports torch, smp or a user's package for it."""
    given = dict(conf or {})
    unknown = sorted(set(given) - set(BY_NAME))
    if unknown:
        raise ParamError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"known parameters: {', '.join(BY_NAME)}")
    refuse_non_finite(given)
    full = {**DEFAULTS, **typed(given)}
    for name, value in full.items():
        _schema_errors(name, value)
        full[name] = _as_declared(value, BY_NAME[name].schema)
    try:
        checked_spec(full["model"], installed=installed)
    except ModelSpecError as exc:
        raise ParamError(f"bad parameter model: {exc}") from None
    if full["max_seconds"] < full["min_seconds"]:
        raise ParamError(f"bad parameter max_seconds: {full['max_seconds']} must be >= "
                         f"min_seconds ({full['min_seconds']})")
    if full["min_history"] > full["baseline_runs"]:
        raise ParamError(f"bad parameter min_history: {full['min_history']} must be <= "
                         f"baseline_runs ({full['baseline_runs']})")
    _torch_axes_need_torch(full)
    resolve = resolve_lock or resolve_without_database
    environments = _environments(full["environments"], resolve)
    full["environments"] = [CURRENT_ENVIRONMENT if sha is None else sha
                            for sha in environments]
    full["control"] = _control(full["control"], resolve)
    # one environment is the night's own: its cases keep their keys (history stays joinable)
    several = len(environments) > 1
    cases = plan_grid({**full, "environments": environments if several else []})
    keys = [case.key for case in cases]
    strangers = sorted(set(full["series_thresholds"]) - set(keys))
    if strangers:
        raise ParamError(
            f"bad parameter series_thresholds: {', '.join(strangers)} is not a case of this "
            f"grid (its cases: {', '.join(keys)}); metrics: {', '.join(METRIC_NAMES)}")
    return NightParams(conf=full, cases=tuple(cases), judging=_owned(JudgeSettings, full),
                       options=_owned(NightOptions, full),
                       recommending=_owned(RecommendSettings, full),
                       pairing=_owned(PairSettings, full),
                       night_lock=environments[0] if len(environments) == 1 else None)
