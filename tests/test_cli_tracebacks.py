"""The CLI prints one line for a failure the user can act on, and a traceback for a bug."""

from __future__ import annotations

import argparse

import pytest

from segtasks import cli
from segtasks.errors import NotFound, SegbenchError


def _with_command(monkeypatch: pytest.MonkeyPatch, body) -> None:  # type: ignore[no-untyped-def]
    """Stand `body` in for `segbench data` (the parser binds the command when it is built)."""
    monkeypatch.setattr(cli, "cmd_data", body)


def test_a_programming_error_in_a_command_keeps_its_traceback(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def buggy(args: argparse.Namespace) -> int:
        return {}["x"]  # a KeyError no user can act on

    _with_command(monkeypatch, buggy)
    with pytest.raises(KeyError):
        cli.main(["data"])


def test_a_user_error_prints_one_line_and_exits_2(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    def missing(args: argparse.Namespace) -> int:
        raise NotFound("no run with id 9")

    _with_command(monkeypatch, missing)
    assert cli.main(["data"]) == 2
    err = capsys.readouterr().err
    assert err == "segbench: error: no run with id 9\n"


def test_every_user_facing_error_type_is_a_segbench_error() -> None:
    from segtasks.alerts.send import AlertError
    from segtasks.launch.device_lock import DeviceBusy
    from segtasks.measure.data import DataError
    from segtasks.measure.model import WeightsError
    from segtasks.plan import ParamError
    from segtasks.report.files import ReportNotWritten
    from segtasks.store.access import AccessError
    from segtasks.store.database import BadDatabaseUrl, SchemaOutdated, StoreUnavailable
    from segtasks.store.export import ExportError

    for kind in (AlertError, DeviceBusy, DataError, WeightsError, ParamError, ReportNotWritten,
                 AccessError, BadDatabaseUrl, SchemaOutdated, StoreUnavailable, ExportError):
        assert issubclass(kind, SegbenchError), kind
