"""Golden outputs: the fp32 eager reference outputs kept per (weights sha256, dataset
fingerprint, device kind), and each stored result's reference compared with them.

When a result is stored, its reference outputs (computed in the case's process) are kept
as a candidate. The judge (segtasks.judge.stored) then compares them with the golden ones
and the drift is stored with the result (golden_*): the first night of a (weights,
dataset, device kind) makes the golden outputs; a night whose reference differs from them
keeps its own as a candidate, which `segbench golden accept` can make the golden one; an
equal one is not kept. The judge turns the drift into `outputs_changed` (segtasks.judge.
outputs). This module only reads and writes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from segtasks.domain import records as values
from segtasks.errors import NotFound, Refused
from segtasks.result import CaseResult
from segtasks.store import records
from segtasks.store.nearest import nearest
from segtasks.store.schema import CANDIDATE, GOLDEN, RETIRED, GoldenOutput, Result, Run

FIRST_NIGHT = "first night of these weights, data and device kind"


def _now() -> datetime:
    return datetime.now(UTC)


def _key(result: CaseResult) -> tuple[str, str, str] | None:
    if result.outputs is None or not result.weights_sha256 or not result.dataset_fingerprint:
        return None
    return result.weights_sha256, result.dataset_fingerprint, result.outputs.device_kind


def active(session: Session, weights: str, dataset: str, device_kind: str
           ) -> GoldenOutput | None:
    return session.scalars(select(GoldenOutput).where(
        GoldenOutput.weights_sha256 == weights, GoldenOutput.dataset_fingerprint == dataset,
        GoldenOutput.device_kind == device_kind, GoldenOutput.state == GOLDEN)).first()


def _row(result: CaseResult, key: tuple[str, str, str], state: str, run: Run,
         environment_id: int | None, reason: str | None) -> GoldenOutput:
    encoded = result.reference_outputs or {}
    npz = encoded.get("npz")
    return GoldenOutput(
        weights_sha256=key[0], dataset_fingerprint=key[1], device_kind=key[2], state=state,
        checksum=encoded["checksum"], summary=encoded.get("summary") or [],
        arrays=base64.b64decode(npz) if npz else None, run_pk=run.id,
        case_key=result.case.key, environment_id=environment_id,
        code_version=run.code_version, reason=reason, created_at=_now(),
        accepted_at=_now() if state == GOLDEN else None,
        accepted_by="segbench" if state == GOLDEN else None)


def _insert(session: Session, row: GoldenOutput) -> bool:
    """Insert unless the unique keys say another task already did (a race, or a retry)."""
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        return False


def keep_reference(session: Session, run_pk: int, result: CaseResult,
                   environment_id: int | None) -> None:
    """Keep tonight's reference outputs as a candidate (once per run and checksum: a retry,
    or a second case with the same outputs, adds nothing). A plain write, inside the
    result's own transaction; the judge compares them with the golden ones
    (segtasks.judge.stored), which may make them the golden ones or drop them."""
    key = _key(result)
    if key is None or result.reference_outputs is None:
        return
    _insert(session, _row(result, key, CANDIDATE, session.get_one(Run, run_pk),
                          environment_id, None))


def _tonight(session: Session, run_pk: int) -> list[GoldenOutput]:
    return list(session.scalars(select(GoldenOutput).where(
        GoldenOutput.run_pk == run_pk, GoldenOutput.state == CANDIDATE)
        .order_by(GoldenOutput.id)))


def make_first_golden(engine: Engine, run_pk: int) -> None:
    """The first night of a (weights, dataset, device kind) makes its golden outputs: the
    run's first kept reference of each key that has no golden outputs yet."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        for row in _tonight(session, run_pk):
            if active(session, row.weights_sha256, row.dataset_fingerprint,
                      row.device_kind) is None:
                row.state, row.reason = GOLDEN, FIRST_NIGHT
                row.accepted_at, row.accepted_by = _now(), "segbench"
                session.flush()


def references(engine: Engine, run_pk: int) -> list[values.ReferenceCheck]:
    """Each checked result of the run, with its reference outputs and the golden ones of
    its (weights, dataset, device kind) to compare them with."""
    found = []
    with Session(engine, expire_on_commit=False) as session:
        results = session.scalars(select(Result).where(
            Result.run_pk == run_pk, Result.reference_checksum.is_not(None))
            .order_by(Result.id))
        for result in results:
            if not (result.weights_sha256 and result.dataset_fingerprint
                    and result.device_kind and result.reference_checksum):
                continue
            golden = active(session, result.weights_sha256, result.dataset_fingerprint,
                            result.device_kind)
            if golden is None:
                continue
            mine = golden if golden.checksum == result.reference_checksum else \
                session.scalars(select(GoldenOutput).where(
                    GoldenOutput.run_pk == run_pk, GoldenOutput.device_kind == golden.device_kind,
                    GoldenOutput.weights_sha256 == golden.weights_sha256,
                    GoldenOutput.dataset_fingerprint == golden.dataset_fingerprint,
                    GoldenOutput.checksum == result.reference_checksum)).first()
            found.append(values.ReferenceCheck(
                result_id=result.id, checksum=result.reference_checksum,
                arrays=mine.arrays if mine is not None else None, golden_id=golden.id,
                golden_checksum=golden.checksum, golden_arrays=golden.arrays))
    return found


def record_check(engine: Engine, run_pk: int, check: values.ReferenceCheck,
                 drift: values.GoldenDrift) -> None:
    """Store the judge's comparison on the result (golden_*, and a warning when the outputs
    could not be compared); a reference equal to the golden ones is not kept."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get_one(Result, check.result_id)
        row.golden_id = check.golden_id
        row.golden_max_abs_diff, row.golden_mask_mismatch = drift.max_abs_diff, \
            drift.mask_mismatch
        if drift.warning and drift.warning not in (row.warnings or []):
            row.warnings = [*(row.warnings or []), drift.warning]
        if not drift.keep_candidate:
            for candidate in _tonight(session, run_pk):
                if candidate.checksum == check.checksum:
                    session.delete(candidate)


@dataclass(frozen=True)
class Accepted:
    golden: values.GoldenOutputs
    replaced: values.GoldenOutputs | None


def _run_keys(session: Session, run: values.Run, device_kind: str | None
              ) -> list[tuple[str, str, str]]:
    query = (select(Result.weights_sha256, Result.dataset_fingerprint, Result.device_kind)
             .where(Result.run_pk == run.id, Result.reference_checksum.is_not(None))
             .distinct())
    if device_kind is not None:
        query = query.where(Result.device_kind == device_kind)
    return [tuple(row) for row in session.execute(query).all()]  # type: ignore[misc]


def accept(engine: Engine, *, from_run: values.Run, device_kind: str | None, reason: str,
           by: str) -> Accepted:
    """Make the reference outputs `from_run` computed the golden ones of their (weights,
    dataset, device kind); the golden they replace is retired (kept, and restored by undo)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        keys = _run_keys(session, from_run, device_kind)
        if not keys and device_kind is not None:
            checked = [k[2] for k in _run_keys(session, from_run, None)]
            raise NotFound(f"run {from_run.id} ({from_run.run_id}) has no checked outputs "
                           f"on {device_kind!r}{nearest(device_kind, checked)}")
        if not keys:
            raise Refused(f"run {from_run.id} ({from_run.run_id}) has no checked outputs")
        if len(keys) > 1:
            kinds = sorted({k[2] for k in keys})
            raise Refused(f"run {from_run.id} checked outputs of several kinds ("
                          + "; ".join(kinds) + "): name one with --device-kind")
        key = keys[0]
        current = active(session, *key)
        candidate = session.scalars(select(GoldenOutput).where(
            GoldenOutput.weights_sha256 == key[0], GoldenOutput.dataset_fingerprint == key[1],
            GoldenOutput.device_kind == key[2], GoldenOutput.run_pk == from_run.id,
            GoldenOutput.state.in_((CANDIDATE, RETIRED))).order_by(GoldenOutput.id)).first()
        if candidate is None:
            if current is not None and current.run_pk == from_run.id:
                raise Refused(f"the outputs of run {from_run.id} are already the golden "
                              f"ones ({current.id}) on {key[2]}")
            raise Refused(f"run {from_run.id} computed the same outputs as the golden ones "
                          f"on {key[2]}: nothing to accept")
        if current is not None:
            current.state, current.retired_at, current.retired_by = RETIRED, _now(), by
            session.flush()  # before the new one: one golden per key at any moment
        candidate.state, candidate.reason, candidate.accepted_by = GOLDEN, reason, by
        candidate.accepted_at, candidate.retired_at, candidate.retired_by = _now(), None, None
        candidate.replaces_id = current.id if current is not None else None
        session.flush()
        return Accepted(records.golden(candidate),
                        None if current is None else records.golden(current))


def undo(engine: Engine, golden_id: int, by: str) -> Accepted:
    """Take an accepted golden back: it becomes a candidate again and the one it replaced
    is the golden one again."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get(GoldenOutput, golden_id)
        if row is None:
            raise NotFound(f"no golden outputs with id {golden_id} (segbench golden list "
                           "--all)")
        if row.state != GOLDEN:
            raise Refused(f"golden outputs {golden_id} are not the golden ones now "
                          "(segbench golden list)")
        if row.replaces_id is None:
            raise Refused(f"golden outputs {golden_id} were the first of their kind: "
                          "there is nothing to go back to")
        previous = session.get_one(GoldenOutput, row.replaces_id)
        row.state, row.retired_at, row.retired_by = CANDIDATE, _now(), by
        session.flush()
        previous.state, previous.retired_at, previous.retired_by = GOLDEN, None, None
        session.flush()
        return Accepted(records.golden(previous), records.golden(row))


def listing(engine: Engine, *, include_all: bool = False) -> list[values.GoldenOutputs]:
    """The golden outputs (and with `include_all` the candidates and retired ones), newest
    first."""
    query = select(GoldenOutput).options(selectinload(GoldenOutput.environment))
    if not include_all:
        query = query.where(GoldenOutput.state == GOLDEN)
    with Session(engine, expire_on_commit=False) as session:
        return [records.golden(row) for row in session.scalars(
            query.order_by(GoldenOutput.id.desc()))]


def by_ids(engine: Engine, ids: set[int]) -> dict[int, values.GoldenOutputs]:
    """Golden rows with their environment (for the software changes since they were taken)."""
    if not ids:
        return {}
    with Session(engine, expire_on_commit=False) as session:
        rows = session.scalars(select(GoldenOutput).where(GoldenOutput.id.in_(ids))
                               .options(selectinload(GoldenOutput.environment)))
        return {row.id: records.golden(row) for row in rows}


def summary_text(row: values.GoldenOutputs) -> str:
    """Per image: mask pixels and mean probability, for a person comparing two goldens."""
    parts: list[Any] = row.summary or []
    return ", ".join(f"{p['name']}: {p['mask_pixels']} px, p {p['prob_mean']:.4f}"
                     for p in parts)
