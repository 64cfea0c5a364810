"""Benchmark history out of the database, for people who analyse elsewhere."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from segtasks import paths
from segtasks.errors import SegbenchError

FORMATS = ("csv", "parquet")


class ExportError(SegbenchError, RuntimeError):
    """The export file cannot be written where the user asked."""


def export(engine: Engine, since: date, fmt: str, output: Path) -> int:
    """Write v_results rows of runs started on or after `since`; returns the row count."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM v_results WHERE started_at >= :start "
                 "ORDER BY started_at, run_pk, case_key"),
            {"start": start},
        )
        columns = list(rows.keys())
        records = [tuple(r) for r in rows]
    try:
        _write(fmt, output, columns, records)
    except OSError as exc:  # pyarrow's file errors are OSErrors too
        raise ExportError(f"cannot write {output}: {paths.write_error(exc, output)}") from None
    return len(records)


def _write(fmt: str, output: Path, columns: list[str], records: list[tuple]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)  # a missing folder is made
    if fmt == "csv":
        with open(output, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows(records)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([dict(zip(columns, r, strict=True)) for r in records])
        if not records:
            table = pa.table({name: pa.array([], pa.null()) for name in columns})
        # Through a file of ours: given a path, pyarrow deletes it when a write fails,
        # and an output like /dev/full (a device node, for root) would be gone.
        with open(output, "wb") as fh:
            pq.write_table(table, fh)
