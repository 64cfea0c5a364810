"""What every page shares: its context, runs and stored rows as plain values, tables of
cells, and the report's seed-style tables with the pages' own columns."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from segtasks.domain.records import Environment, Result, Run
from segtasks.domain.verdicts import Verdict
from segtasks.plan import ParamError, validate
from segtasks.report.tables import by_variant, seed_rows
from segtasks.ui.access import Viewer
from segtasks.ui.columns import RESULT_EXTRAS, RESULT_SHOWN, RowContext, report_cell
from segtasks.ui.links import Links

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ENVIRONMENT_COLUMNS = ("hardware_key", "cpu_model", "logical_cores", "gpu_name", "gpu_count",
                       "nvidia_driver", "cuda_runtime", "cudnn", "torch_version",
                       "torchvision_version", "smp_version", "numpy_version",
                       "python_version", "os")


@dataclass(frozen=True)
class PageContext:
    engine: Engine  # read-only
    links: Links
    database: str  # the reader's URL, password masked
    viewer: Viewer
    dag_id: str  # the governing DAG


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:  # SQLite returns naive datetimes; they are stored in UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def when(at: datetime | None) -> str | None:
    if at is None:
        return None
    return _utc(at).strftime("%Y-%m-%d %H:%M UTC")


def day(at: datetime) -> str:
    """A night's start as people say it: '7 Dec 02:00' (UTC, as every time on the pages)."""
    at = _utc(at)
    return f"{at.day} {at:%b %H:%M}"


def short_code(version: str | None) -> str | None:
    """A code version as `git log --oneline` shows it: '4ff042b' for a 12-digit sha, a
    '-dirty' suffix kept; anything else (a release name) as it is."""
    if not version:
        return None
    sha, dash, rest = version.partition("-")
    if re.fullmatch(r"[0-9a-f]{8,40}", sha):
        return sha[:7] + dash + rest
    return version


def night_name(run: Run) -> str:
    """'Night 5 · 7 Dec 02:00': the run's number (the one the CLI prints, `run 5`) and
    its start."""
    return f"Night {run.id} · {day(run.started_at)}"


def run_label(run: Run) -> str:
    """A run as a page titles it: 'Night 5 · 7 Dec 02:00 · code 4ff042b'."""
    code = short_code(run.code_version)
    return night_name(run) + (f" · code {code}" if code else "")


# a stored value's parts, which the API shows on their own, not inside each row
PARTS = ("environment", "run", "samples", "from_run")


def raw(row: DataclassInstance, leave_out: Sequence[str] = ()) -> dict[str, Any]:
    """Every column of a stored value (segtasks.domain): new columns reach the JSON API
    without code here."""
    return {f.name: getattr(row, f.name) for f in fields(row)
            if f.name not in leave_out and f.name not in PARTS}


def run_summary(run: Run, links: Links, counts: dict[str, int] | None = None
                ) -> dict[str, Any]:
    in_airflow = run.trigger != "cli"
    return {
        "id": run.id, "label": run_label(run), "name": night_name(run),
        "code": short_code(run.code_version),
        "dag_id": run.dag_id, "run_id": run.run_id, "trigger": run.trigger,
        "state": run.state, "started_at": run.started_at, "started": when(run.started_at),
        "finished_at": run.finished_at, "code_version": run.code_version,
        "excluded": run.excluded, "excluded_reason": run.excluded_reason,
        "excluded_by": run.excluded_by, "excluded_at": run.excluded_at,
        "href": links.run(run.id), "api": links.api(f"runs/{run.id}"),
        "airflow_href": links.airflow_run(run.dag_id, run.run_id) if in_airflow else None,
        "verdicts": counts or {},
    }


def table(title: str | None, columns: Sequence[str], rows: list[list[dict[str, Any]]],
          note: str | None = None, *, extra: Iterable[str] = (), wrap: Iterable[str] = ()
          ) -> dict[str, Any]:
    """A table of cells. `extra` columns wait behind "more columns" (a page shows them on
    request); `wrap` columns hold sentences, wrapped rather than widening the table. The
    first column stays in view when the table scrolls sideways."""
    folded, wrapped = set(extra) & set(columns), set(wrap)
    return {"title": title, "columns": list(columns), "rows": rows, "note": note,
            "classes": [" ".join(name for name, on in (("extra", c in folded),
                                                        ("wrap", c in wrapped)) if on)
                        for c in columns],
            "folded": len(folded)}


def shown_first(columns: Sequence[str], shown: Sequence[str]) -> list[int]:
    """The order of `columns` with `shown` first (as `shown` lists them), then the rest."""
    first = [columns.index(c) for c in shown if c in columns]
    return first + [i for i in range(len(columns)) if i not in first]


def report_table(title: str | None, rows: Sequence[dict[str, str]], *,
                 extra: Iterable[str] = (), wrap: Iterable[str] = ()) -> dict[str, Any]:
    columns = list(rows[0]) if rows else []
    return table(title, columns, [[report_cell(c, row[c]) for c in columns] for row in rows],
                 extra=extra, wrap=wrap)


def _verdicts_by_case(verdicts: Iterable[Verdict]
                      ) -> dict[tuple[int | None, str], list[Verdict]]:
    found: dict[tuple[int | None, str], list[Verdict]] = defaultdict(list)
    for v in verdicts:
        found[(v.run_pk, v.case_key)].append(v)
    return found


def _map_indexes(run: Run) -> dict[str, int]:
    """Each case's map index in the run's bench task, as the DAG expanded it: the cases of
    its device in the order the validated run conf lists them."""
    try:
        cases = validate(run.params or {}, installed=False).cases
    except ParamError:
        return {}
    indexes: dict[str, int] = {}
    count: dict[str, int] = defaultdict(int)
    for case in cases:
        indexes[case.key] = count[case.device]
        count[case.device] += 1
    return indexes


def _row_context(results: Sequence[Result], verdicts: Iterable[Verdict], links: Links
                 ) -> RowContext:
    runs = {r.run_pk: r.loaded_run for r in results}  # one validation per run, not per case
    indexes = {pk: _map_indexes(run) for pk, run in runs.items()
               if links.airflow is not None and run.trigger != "cli"}

    def task_href(r: Result) -> str | None:
        if r.run_pk not in indexes:
            return None
        return links.task_instance(r.loaded_run.dag_id, r.loaded_run.run_id, f"bench_{r.device}",
                                   indexes[r.run_pk].get(r.case_key))

    return RowContext(verdicts=_verdicts_by_case(verdicts),
                      series_href=lambda r: links.series(r.case_key, r.hardware_key)
                      if r.hardware_key else None,
                      task_href=task_href)


def result_tables(results: Sequence[Result], verdicts: Iterable[Verdict], links: Links
                  ) -> list[dict[str, Any]]:
    """The report's seed-style table per variant, with the pages' extra columns."""
    ctx = _row_context(results, verdicts, links)
    tables = []
    grouped = by_variant(results)
    for name, rows in seed_rows(results).items():
        statuses = {row["Status"] for row in rows}
        note = None
        if len(statuses) == 1 and not statuses <= {"ok"}:
            sizes = ", ".join(row["Batch Size"] for row in rows)
            note = f"All cases (batch sizes {sizes}) {statuses.pop()}"
        columns = [*rows[0], *(extra for extra, _ in RESULT_EXTRAS)]
        cells = [[report_cell(c, row[c]) for c in row] + [make(r, ctx) for _, make in RESULT_EXTRAS]
                 for row, r in zip(rows, grouped[name], strict=True)]
        order = shown_first(columns, RESULT_SHOWN)
        columns = [columns[i] for i in order]
        tables.append(table(name, columns, [[row[i] for i in order] for row in cells], note,
                            extra=[c for c in columns if c not in RESULT_SHOWN]))
    return tables


def environments(results: Iterable[Result]) -> list[dict[str, Any]]:
    seen: dict[int, Environment] = {}
    for r in results:
        if r.environment is not None:
            seen.setdefault(r.environment.id, r.environment)
    return [{c: getattr(env, c) for c in ENVIRONMENT_COLUMNS} for env in seen.values()]
