"""Tables of the results database. Alembic migrations create them; this is their Python view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class Run(Base):
    """One night (or one manual trigger, or one CLI run) of the benchmark."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id", name="uq_runs_dag_run"),
        Index("ix_runs_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    logical_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    trigger: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    code_version: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(32))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    excluded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    excluded_by: Mapped[str | None] = mapped_column(String(250))
    # what the night wants its readers to know, e.g. that the confirmation budget ran out
    notes: Mapped[list[str] | None] = mapped_column(JsonType)
    # the night's own secret: a recreated database hands this id out again, not this token
    token: Mapped[str | None] = mapped_column(String(32))
    # the night's process says it is alive; silent longer than stale_after_s: abandoned
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stale_after_s: Mapped[float | None] = mapped_column(Float)
    lock_sha256: Mapped[str | None] = mapped_column(String(64))  # the lock the night ran in
    # what the night set out to do, and what it left undone (segtasks.domain.run_states):
    # the planned case keys, the confirming processes screening asked for, and, once
    # closed, what did not finish (one line each, naming the task and the case)
    planned_cases: Mapped[list[str] | None] = mapped_column(JsonType)
    confirm_jobs: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    unfinished: Mapped[list[str] | None] = mapped_column(JsonType)

    results: Mapped[list[Result]] = relationship(back_populates="run")


class Environment(Base):
    """One distinct fingerprint (hardware, software, settings); results point at theirs."""

    __tablename__ = "environments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    hardware_key: Mapped[str] = mapped_column(String(250), index=True)
    cpu_model: Mapped[str | None] = mapped_column(String(250))
    logical_cores: Mapped[int | None] = mapped_column(Integer)
    physical_cores: Mapped[int | None] = mapped_column(Integer)
    ram_bytes: Mapped[int | None] = mapped_column(BigInteger)
    gpu_name: Mapped[str | None] = mapped_column(String(250))
    gpu_count: Mapped[int] = mapped_column(Integer)
    gpu_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    nvidia_driver: Mapped[str | None] = mapped_column(String(64))
    cuda_runtime: Mapped[str | None] = mapped_column(String(64))
    cudnn: Mapped[str | None] = mapped_column(String(64))
    torch_version: Mapped[str | None] = mapped_column(String(64))
    torchvision_version: Mapped[str | None] = mapped_column(String(64))
    smp_version: Mapped[str | None] = mapped_column(String(64))
    numpy_version: Mapped[str | None] = mapped_column(String(64))
    python_version: Mapped[str | None] = mapped_column(String(64))
    os: Mapped[str | None] = mapped_column(String(250))
    fingerprint: Mapped[dict[str, Any]] = mapped_column(JsonType)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Result(Base):
    """One case of one run, with its metrics as columns so that SQL can filter on them."""

    __tablename__ = "results"
    __table_args__ = (
        UniqueConstraint("run_pk", "case_key", name="uq_results_run_case"),
        Index("ix_results_series", "case_key", "hardware_key", "run_pk"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    case_key: Mapped[str] = mapped_column(String(64))
    # digest of the measurement stored: a second write is the same attempt or refused
    attempt_sha256: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(16))
    batch_size: Mapped[int] = mapped_column(Integer)
    precision: Mapped[str] = mapped_column(String(8))
    channels_last: Mapped[bool] = mapped_column(Boolean)
    compile: Mapped[str] = mapped_column(String(32), server_default="none")  # torch.compile mode
    threads: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    # Copied from the environment so that the series index needs no join.
    hardware_key: Mapped[str | None] = mapped_column(String(250))
    environment_id: Mapped[int | None] = mapped_column(ForeignKey("environments.id"))
    warnings: Mapped[list[str]] = mapped_column(JsonType, default=list)
    weights_sha256: Mapped[str | None] = mapped_column(String(64))
    # the model measured: its spec (NULL: the mission's default), its identity with the
    # weights read (segtasks.domain.model_spec), and the model in words
    model: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    model_identity: Mapped[str | None] = mapped_column(String(16))
    model_description: Mapped[str | None] = mapped_column(Text)
    dataset_fingerprint: Mapped[str | None] = mapped_column(String(64))
    inputs_skipped: Mapped[int | None] = mapped_column(Integer)
    seed_images: Mapped[int | None] = mapped_column(Integer)  # asked for; see end_to_end_images
    warmup_batches: Mapped[int] = mapped_column(Integer)
    warmup_seconds: Mapped[float | None] = mapped_column(Float)
    min_batches: Mapped[int | None] = mapped_column(Integer)
    min_seconds: Mapped[float | None] = mapped_column(Float)
    max_seconds: Mapped[float | None] = mapped_column(Float)
    ci_target: Mapped[float | None] = mapped_column(Float)
    cpu_affinity: Mapped[list[int] | None] = mapped_column(JsonType)  # [] = not pinned
    end_to_end_seconds: Mapped[float | None] = mapped_column(Float)
    end_to_end_passes: Mapped[int | None] = mapped_column(Integer)
    max_interference: Mapped[float | None] = mapped_column(Float)
    max_steal: Mapped[float | None] = mapped_column(Float)
    repeats: Mapped[int | None] = mapped_column(Integer)  # processes per case asked for
    n_images: Mapped[int | None] = mapped_column(Integer)
    n_batches: Mapped[int | None] = mapped_column(Integer)
    total_s: Mapped[float | None] = mapped_column(Float)
    ms_per_image: Mapped[float | None] = mapped_column(Float)
    images_per_s: Mapped[float | None] = mapped_column(Float)
    latency_mean_ms: Mapped[float | None] = mapped_column(Float)
    latency_p50_ms: Mapped[float | None] = mapped_column(Float)
    latency_p90_ms: Mapped[float | None] = mapped_column(Float)
    latency_p95_ms: Mapped[float | None] = mapped_column(Float)
    latency_p99_ms: Mapped[float | None] = mapped_column(Float)
    latency_std_ms: Mapped[float | None] = mapped_column(Float)
    latency_iqr_ms: Mapped[float | None] = mapped_column(Float)
    latency_cv: Mapped[float | None] = mapped_column(Float)
    latency_min_ms: Mapped[float | None] = mapped_column(Float)
    latency_max_ms: Mapped[float | None] = mapped_column(Float)
    ci_low_ms: Mapped[float | None] = mapped_column(Float)
    ci_high_ms: Mapped[float | None] = mapped_column(Float)
    ci_rel: Mapped[float | None] = mapped_column(Float)
    stable: Mapped[bool | None] = mapped_column(Boolean)
    stop_reason: Mapped[str | None] = mapped_column(String(16))
    latency_autocorr: Mapped[float | None] = mapped_column(Float)
    preprocess_ms: Mapped[float | None] = mapped_column(Float)
    h2d_ms: Mapped[float | None] = mapped_column(Float)
    forward_ms: Mapped[float | None] = mapped_column(Float)
    postprocess_ms: Mapped[float | None] = mapped_column(Float)
    cold_start_ms: Mapped[float | None] = mapped_column(Float)
    load_s: Mapped[float | None] = mapped_column(Float)
    end_to_end_s: Mapped[float | None] = mapped_column(Float)
    end_to_end_images: Mapped[int | None] = mapped_column(Integer)
    gflop_per_image: Mapped[float | None] = mapped_column(Float)
    gflops_per_s: Mapped[float | None] = mapped_column(Float)
    peak_tflops: Mapped[float | None] = mapped_column(Float)
    pct_of_peak: Mapped[float | None] = mapped_column(Float)
    cuda_model_bytes: Mapped[int | None] = mapped_column(BigInteger)
    nvml_process_bytes: Mapped[int | None] = mapped_column(BigInteger)
    gpu_other_processes: Mapped[int | None] = mapped_column(Integer)
    cuda_peak_allocated_bytes: Mapped[int | None] = mapped_column(BigInteger)
    cuda_peak_reserved_bytes: Mapped[int | None] = mapped_column(BigInteger)
    host_peak_rss_bytes: Mapped[int | None] = mapped_column(BigInteger)
    cuda_warmup_peak_allocated_bytes: Mapped[int | None] = mapped_column(BigInteger)
    cuda_warmup_peak_reserved_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # telemetry of the timed loop (NULL energy comes with its reason)
    gpu_uuid: Mapped[str | None] = mapped_column(String(64))
    gpu_samples: Mapped[int | None] = mapped_column(Integer)
    gpu_memory_used_bytes: Mapped[int | None] = mapped_column(BigInteger)
    gpu_power_w_mean: Mapped[float | None] = mapped_column(Float)
    gpu_power_w_max: Mapped[float | None] = mapped_column(Float)
    gpu_sm_clock_mhz_min: Mapped[float | None] = mapped_column(Float)
    gpu_sm_clock_mhz_median: Mapped[float | None] = mapped_column(Float)
    gpu_sm_clock_mhz_max: Mapped[float | None] = mapped_column(Float)
    gpu_utilization_pct: Mapped[float | None] = mapped_column(Float)
    gpu_clock_events: Mapped[str | None] = mapped_column(String(250))
    gpu_throttled_share: Mapped[float | None] = mapped_column(Float)
    gpu_energy_j_per_image: Mapped[float | None] = mapped_column(Float)
    gpu_energy_reason: Mapped[str | None] = mapped_column(Text)
    cpu_energy_j_per_image: Mapped[float | None] = mapped_column(Float)
    cpu_energy_reason: Mapped[str | None] = mapped_column(Text)
    # validity: was the machine quiet while the case was timed? NULL: not checked (older rows)
    valid: Mapped[bool | None] = mapped_column(Boolean)
    validity_reason: Mapped[str | None] = mapped_column(Text)
    interference: Mapped[float | None] = mapped_column(Float)
    steal: Mapped[float | None] = mapped_column(Float)
    cores_in_use: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int | None] = mapped_column(Integer)
    first_attempt_reason: Mapped[str | None] = mapped_column(Text)
    first_attempt_interference: Mapped[float | None] = mapped_column(Float)
    first_attempt_steal: Mapped[float | None] = mapped_column(Float)
    # torch.compile's one-off costs, apart from the steady state (NULL: eager)
    compile_seconds: Mapped[float | None] = mapped_column(Float)
    first_call_seconds: Mapped[float | None] = mapped_column(Float)
    recompiles: Mapped[int | None] = mapped_column(Integer)
    graph_breaks: Mapped[int | None] = mapped_column(Integer)
    # outputs: parity against the fp32 eager reference on the same device, in the same
    # process; the reference against the golden outputs. NULL: not checked
    weights_origin: Mapped[str | None] = mapped_column(String(32))
    parity_images: Mapped[int | None] = mapped_column(Integer)
    parity_max_abs_diff: Mapped[float | None] = mapped_column(Float)
    parity_mask_mismatch: Mapped[float | None] = mapped_column(Float)
    parity_iou: Mapped[float | None] = mapped_column(Float)
    truth_iou: Mapped[float | None] = mapped_column(Float)
    parity_ok: Mapped[bool | None] = mapped_column(Boolean)  # the judge's, with its tolerances
    device_kind: Mapped[str | None] = mapped_column(String(250))
    reference_checksum: Mapped[str | None] = mapped_column(String(64))
    golden_id: Mapped[int | None] = mapped_column(Integer)  # golden_outputs.id compared with
    golden_max_abs_diff: Mapped[float | None] = mapped_column(Float)
    golden_mask_mismatch: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lock_sha256: Mapped[str | None] = mapped_column(String(64))  # the lock it was measured in
    # where the model ran, and the export a runtime other than torch ran (NULL for torch):
    # segtasks.result.Export
    runtime: Mapped[str] = mapped_column(String(16), server_default="torch")
    export_status: Mapped[str | None] = mapped_column(String(16))
    export_seconds: Mapped[float | None] = mapped_column(Float)
    export_opset: Mapped[int | None] = mapped_column(Integer)
    export_bytes: Mapped[int | None] = mapped_column(BigInteger)
    export_cached: Mapped[bool | None] = mapped_column(Boolean)
    runtime_provider: Mapped[str | None] = mapped_column(String(64))

    run: Mapped[Run] = relationship(back_populates="results")
    environment: Mapped[Environment | None] = relationship()
    samples: Mapped[list[Sample]] = relationship(
        back_populates="result", cascade="all, delete-orphan", order_by="Sample.idx"
    )


class Sample(Base):
    """One timed batch's latency: the raw data every statistic can be recomputed from."""

    __tablename__ = "samples"

    result_id: Mapped[int] = mapped_column(
        ForeignKey("results.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    # which measuring process of the case timed it (0: the first; see `processes`)
    process: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_ms: Mapped[float] = mapped_column(Float)
    preprocess_ms: Mapped[float | None] = mapped_column(Float)
    h2d_ms: Mapped[float | None] = mapped_column(Float)
    forward_ms: Mapped[float | None] = mapped_column(Float)
    postprocess_ms: Mapped[float | None] = mapped_column(Float)

    result: Mapped[Result] = relationship(back_populates="samples")


class Comparison(Base):
    """A verdict on one metric of one case of a run, with what it was judged against."""

    __tablename__ = "comparisons"
    __table_args__ = (
        UniqueConstraint("run_pk", "case_key", "metric", name="uq_comparisons_run_case_metric"),
        Index("ix_comparisons_verdict", "verdict", "run_pk"),
        Index("ix_comparisons_series", "case_key", "hardware_key", "run_pk"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    case_key: Mapped[str] = mapped_column(String(64))
    hardware_key: Mapped[str | None] = mapped_column(String(250))
    metric: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str | None] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(32))
    tonight: Mapped[float | None] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)
    relative_change: Mapped[float | None] = mapped_column(Float)
    noise: Mapped[float | None] = mapped_column(Float)
    z: Mapped[float | None] = mapped_column(Float)
    rank_p: Mapped[float | None] = mapped_column(Float)
    min_effect: Mapped[float | None] = mapped_column(Float)  # smallest relative change that counts
    z_threshold: Mapped[float | None] = mapped_column(Float)
    baseline_run_pks: Mapped[list[int]] = mapped_column(JsonType, default=list)
    baseline_values: Mapped[list[float] | None] = mapped_column(JsonType)
    software_changes: Mapped[list[str] | None] = mapped_column(JsonType)
    method: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    # the smallest relative change this series sees (90% of the time) at its thresholds
    mde: Mapped[float | None] = mapped_column(Float)
    screened: Mapped[bool | None] = mapped_column(Boolean)  # close enough to measure again
    confirmed: Mapped[bool | None] = mapped_column(Boolean)  # NULL: not measured again
    first_value: Mapped[float | None] = mapped_column(Float)  # the first measurement alone
    process_values: Mapped[list[float] | None] = mapped_column(JsonType)  # every process
    began_run_pk: Mapped[int | None] = mapped_column(Integer)  # the night a change began
    alerted: Mapped[bool | None] = mapped_column(Boolean)  # a new regression, not ongoing
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Process(Base):
    """One measuring process of a case in a run: the first ones (`repeats`) and the ones
    that confirmed a screened change. The case's `results` row holds the first process's
    full measurement; the verdict pools these."""

    __tablename__ = "processes"
    __table_args__ = (
        UniqueConstraint("run_pk", "case_key", "process", name="uq_processes_run_case_process"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    case_key: Mapped[str] = mapped_column(String(64))
    process: Mapped[int] = mapped_column(Integer)  # 0, 1, ... in the order measured
    role: Mapped[str] = mapped_column(String(16))  # "first" or "confirm"
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    images_per_s: Mapped[float | None] = mapped_column(Float)
    latency_p50_ms: Mapped[float | None] = mapped_column(Float)
    latency_p90_ms: Mapped[float | None] = mapped_column(Float)
    ci_rel: Mapped[float | None] = mapped_column(Float)
    n_batches: Mapped[int | None] = mapped_column(Integer)
    valid: Mapped[bool | None] = mapped_column(Boolean)
    disturbed: Mapped[bool] = mapped_column(Boolean)
    validity_reason: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float | None] = mapped_column(Float)  # wall time of the process
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BaselineLevel(Base):
    """A curator's word that a series changed on purpose from a run on: nights before it
    stop counting as its baseline. Undoing keeps the row, with who undid it and when."""

    __tablename__ = "baseline_levels"
    __table_args__ = (Index("ix_baseline_levels_series", "case_key", "hardware_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_key: Mapped[str] = mapped_column(String(64))
    hardware_key: Mapped[str] = mapped_column(String(250))
    from_run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    accepted_by: Mapped[str] = mapped_column(String(250))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(250))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    from_run: Mapped[Run] = relationship()


GOLDEN = "golden"  # the outputs tonight's reference is compared with
CANDIDATE = "candidate"  # a night's reference that differed from the golden: acceptable
RETIRED = "retired"  # a golden replaced by a later one (or undone)


class GoldenOutput(Base):
    """Reference outputs (fp32 eager) of one weights file on one dataset and device kind.

    At most one row per (weights, dataset, device kind) is the `golden` one; a night whose
    reference differs from it keeps its own as a `candidate`, so that `segbench golden
    accept --from RUN` can make it the golden one; a replaced golden is `retired`, with
    who replaced it, and `replaces_id` lets an accept be undone.
    """

    __tablename__ = "golden_outputs"
    __table_args__ = (
        Index("uq_golden_outputs_active", "weights_sha256", "dataset_fingerprint",
              "device_kind", unique=True, postgresql_where=text("state = 'golden'"),
              sqlite_where=text("state = 'golden'")),
        UniqueConstraint("weights_sha256", "dataset_fingerprint", "device_kind", "run_pk",
                         "checksum", name="uq_golden_outputs_run_checksum"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weights_sha256: Mapped[str] = mapped_column(String(64))
    dataset_fingerprint: Mapped[str] = mapped_column(String(64))
    device_kind: Mapped[str] = mapped_column(String(250))
    state: Mapped[str] = mapped_column(String(16))
    checksum: Mapped[str] = mapped_column(String(64))
    summary: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    arrays: Mapped[bytes | None] = mapped_column(LargeBinary)  # npz; NULL when too large
    run_pk: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    case_key: Mapped[str | None] = mapped_column(String(64))  # the case that computed it
    environment_id: Mapped[int | None] = mapped_column(ForeignKey("environments.id"))
    code_version: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    accepted_by: Mapped[str | None] = mapped_column(String(250))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaces_id: Mapped[int | None] = mapped_column(Integer)  # the golden it replaced
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_by: Mapped[str | None] = mapped_column(String(250))

    environment: Mapped[Environment | None] = relationship()


class Lock(Base):
    """A Python environment as a lock: interpreter version and every installed distribution
    (name, version, source where it is not the registry). `sha256` covers those, not the
    code revision (recorded beside): the harness is tonight's segtasks on both sides."""

    __tablename__ = "locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(250), index=True)
    python_version: Mapped[str] = mapped_column(String(64))
    packages: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    code_revision: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(32))  # "snapshot" (of a live env) or "night"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Pair(Base):
    """One measuring process of a paired case: control or treatment, in its pair and
    position (the order within a pair is randomized), interleaved or as a duet."""

    __tablename__ = "pairs"
    __table_args__ = (
        UniqueConstraint("run_pk", "case_key", "pair", "side",
                         name="uq_pairs_run_case_pair_side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    case_key: Mapped[str] = mapped_column(String(64))
    pair: Mapped[int] = mapped_column(Integer)  # 0, 1, ...
    position: Mapped[int] = mapped_column(Integer)  # 0: measured first (or duet: both 0)
    side: Mapped[str] = mapped_column(String(16))  # "control" or "treatment"
    lock_sha256: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # "interleaved" or "duet"
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    images_per_s: Mapped[float | None] = mapped_column(Float)
    latency_p50_ms: Mapped[float | None] = mapped_column(Float)
    ci_rel: Mapped[float | None] = mapped_column(Float)
    n_batches: Mapped[int | None] = mapped_column(Integer)
    valid: Mapped[bool | None] = mapped_column(Boolean)
    cpu_affinity: Mapped[list[int] | None] = mapped_column(JsonType)
    seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PairedVerdict(Base):
    """The verdict on software (paired ratio treatment/control, its interval and minimum
    detectable effect) beside the verdict on the machine (the control's own series)."""

    __tablename__ = "paired_verdicts"
    __table_args__ = (
        UniqueConstraint("run_pk", "case_key", "metric",
                         name="uq_paired_verdicts_run_case_metric"),
        Index("ix_paired_verdicts_verdict", "verdict", "run_pk"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    case_key: Mapped[str] = mapped_column(String(64))
    hardware_key: Mapped[str | None] = mapped_column(String(250))
    metric: Mapped[str] = mapped_column(String(64))
    control_lock: Mapped[str] = mapped_column(String(64))
    treatment_lock: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    pairs: Mapped[int] = mapped_column(Integer)  # complete pairs the ratio is made of
    ratio: Mapped[float | None] = mapped_column(Float)  # treatment / control (geometric mean)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    p_value: Mapped[float | None] = mapped_column(Float)
    mde: Mapped[float | None] = mapped_column(Float)  # relative, from the paired spread
    min_effect: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(32))  # on software
    machine_verdict: Mapped[str | None] = mapped_column(String(32))  # the control's series
    machine_change: Mapped[float | None] = mapped_column(Float)
    machine_detail: Mapped[str | None] = mapped_column(Text)
    packages_changed: Mapped[list[str] | None] = mapped_column(JsonType)
    detail: Mapped[str | None] = mapped_column(Text)
    budget_s: Mapped[float | None] = mapped_column(Float)  # pairs_budget_s asked for
    spent_s: Mapped[float | None] = mapped_column(Float)  # what the pairs took
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Bisection(Base):
    """Which change between a paired night's control and treatment locks explains its
    verdict: the change groups, the outcome, the culprit and the effect it set out to
    explain (segtasks.domain.bisection). `finished_at` is NULL while it runs; a resumed
    bisection finds its row by the unique key."""

    __tablename__ = "bisections"
    __table_args__ = (
        UniqueConstraint("run_pk", "case_key", "metric", "control_lock", "treatment_lock",
                         name="uq_bisections_run_case_metric_locks"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    case_key: Mapped[str] = mapped_column(String(64))
    hardware_key: Mapped[str | None] = mapped_column(String(250))
    metric: Mapped[str] = mapped_column(String(64))
    control_lock: Mapped[str] = mapped_column(String(64))
    treatment_lock: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # "packages" or "commits"
    outcome: Mapped[str] = mapped_column(String(16))  # a BisectionOutcome value
    culprit: Mapped[list[int]] = mapped_column(JsonType)  # group indexes
    # the culprit's changes as text, written at finish: views read it without JSON functions
    culprit_changes: Mapped[str | None] = mapped_column(Text)
    effect_ratio: Mapped[float | None] = mapped_column(Float)  # treatment / control
    effect_ci_low: Mapped[float | None] = mapped_column(Float)
    effect_ci_high: Mapped[float | None] = mapped_column(Float)
    min_effect: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str | None] = mapped_column(Text)
    budget_s: Mapped[float | None] = mapped_column(Float)
    spent_s: Mapped[float | None] = mapped_column(Float)
    # [{index, changes, packages, commit}, ...]
    groups: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BisectionStep(Base):
    """One intermediate environment of a bisection (the control with some groups moved to
    the treatment's versions), measured in pairs against the control."""

    __tablename__ = "bisection_steps"
    __table_args__ = (
        UniqueConstraint("bisection_pk", "step", name="uq_bisection_steps_bisection_step"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bisection_pk: Mapped[int] = mapped_column(ForeignKey("bisections.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)  # 0, 1, ... in the order measured
    moved: Mapped[list[int]] = mapped_column(JsonType)  # group indexes at the treatment's
    lock_sha256: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(32))  # a VerdictKind value
    pairs: Mapped[int] = mapped_column(Integer)
    ratio: Mapped[float | None] = mapped_column(Float)  # this environment / control
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    mde: Mapped[float | None] = mapped_column(Float)
    seconds: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
