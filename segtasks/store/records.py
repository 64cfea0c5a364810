"""Rows to frozen values (segtasks.domain.records, segtasks.domain.verdicts): every read
function of the store returns these, so that no ORM row, with its session and lazy
loading, leaves the store. Call them inside the session that loaded the row."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from segtasks.domain import records
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.store import schema

T = TypeVar("T")

_PARTS = {"environment", "run", "samples", "from_run"}


def _columns(kind: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind) if f.name not in _PARTS)


RUN = _columns(records.Run)
ENVIRONMENT = _columns(records.Environment)
RESULT = _columns(records.Result)
PROCESS = _columns(records.Process)
SAMPLE = _columns(records.Sample)
LEVEL = _columns(records.BaselineLevel)
GOLDEN = _columns(records.GoldenOutputs)
VERDICT = tuple(f.name for f in fields(Verdict))


def _copy(kind: type[T], names: tuple[str, ...], row: Any, **parts: Any) -> T:
    return kind(**{name: getattr(row, name) for name in names}, **parts)


def run(row: schema.Run) -> records.Run:
    return _copy(records.Run, RUN, row)


def environment(row: schema.Environment | None) -> records.Environment | None:
    return None if row is None else _copy(records.Environment, ENVIRONMENT, row)


def result(row: schema.Result, *, with_run: bool = False, with_samples: bool = False
           ) -> records.Result:
    """The result with its environment; its run and batch latencies where asked for (they
    must have been loaded with it)."""
    return _copy(records.Result, RESULT, row, environment=environment(row.environment),
                 run=run(row.run) if with_run else None,
                 samples=tuple(_copy(records.Sample, SAMPLE, s) for s in row.samples)
                 if with_samples else ())


def process(row: schema.Process) -> records.Process:
    return _copy(records.Process, PROCESS, row)


def level(row: schema.BaselineLevel, from_run: records.Run | None = None
          ) -> records.BaselineLevel:
    """The level with the run it starts from (`from_run`, else the row's own, loaded)."""
    return _copy(records.BaselineLevel, LEVEL, row, from_run=from_run or run(row.from_run))


def golden(row: schema.GoldenOutput, *, with_environment: bool = True
           ) -> records.GoldenOutputs:
    return _copy(records.GoldenOutputs, GOLDEN, row,
                 environment=environment(row.environment) if with_environment else None)


def verdict(row: schema.Comparison) -> Verdict:
    values = {name: getattr(row, name) for name in VERDICT}
    return Verdict(**{**values, "verdict": VerdictKind(row.verdict),
                      "baseline_run_pks": list(row.baseline_run_pks or [])})


def comparison_columns(v: Verdict) -> dict[str, Any]:
    """A verdict as the comparisons table's columns (its run is the row's run_pk)."""
    values = {name: getattr(v, name) for name in VERDICT if name != "run_pk"}
    return {**values, "verdict": str(v.verdict)}
