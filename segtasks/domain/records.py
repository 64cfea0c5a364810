"""What the store hands back: frozen values of a run, an environment, a result with its
parts, a measuring process, an accepted baseline level, golden outputs, and a night of a
series. The store builds them from its rows (segtasks.store.records); no ORM row leaves
the store, so judge, report and ui work on these. Their fields are the tables' columns
(a test keeps them in step: tests/test_store.py), plus the parts a reader needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from segtasks.domain.model_spec import KEY_SUFFIX, model_line, stored_spec

Series = tuple[str, str | None]  # (case key, hardware key)


@dataclass(frozen=True)
class Run:
    """One night (or one manual trigger, or one CLI run) of the benchmark."""

    id: int
    dag_id: str
    run_id: str
    logical_date: datetime | None
    trigger: str
    params: dict[str, Any]
    code_version: str | None
    started_at: datetime
    finished_at: datetime | None
    state: str
    excluded: bool
    excluded_reason: str | None
    excluded_at: datetime | None
    excluded_by: str | None
    notes: list[str] | None
    token: str | None  # the night's own secret (segtasks.store.identity)
    heartbeat_at: datetime | None  # the night's process last said it was alive
    stale_after_s: float | None  # silent longer than this: abandoned
    lock_sha256: str | None = None  # the lock (segtasks.envs) the night ran in
    planned_cases: list[str] | None = None  # the case keys the night set out to measure
    # the confirming processes screening asked for: {"case_key", "device", "process"}
    confirm_jobs: list[dict[str, Any]] | None = None
    unfinished: list[str] | None = None  # what did not finish, once closed

    @property
    def model_line(self) -> str | None:
        """The night's model in one line where its run conf names one other than the
        default (segtasks.domain.model_spec.model_line)."""
        return model_line(stored_spec((self.params or {}).get("model")))


@dataclass(frozen=True)
class Environment:
    """One distinct fingerprint (hardware, software, settings)."""

    id: int
    fingerprint_sha256: str
    hardware_key: str
    cpu_model: str | None
    logical_cores: int | None
    physical_cores: int | None
    ram_bytes: int | None
    gpu_name: str | None
    gpu_count: int
    gpu_memory_bytes: int | None
    nvidia_driver: str | None
    cuda_runtime: str | None
    cudnn: str | None
    torch_version: str | None
    torchvision_version: str | None
    smp_version: str | None
    numpy_version: str | None
    python_version: str | None
    os: str | None
    fingerprint: dict[str, Any]
    first_seen_at: datetime


@dataclass(frozen=True)
class Result:
    """One case of one run, with its environment and, where loaded, its run and its
    batch latencies."""

    id: int
    run_pk: int
    case_key: str
    device: str
    batch_size: int
    precision: str
    channels_last: bool
    compile: str
    threads: int | None
    status: str
    reason: str | None
    hardware_key: str | None
    environment_id: int | None
    warnings: list[str]
    weights_sha256: str | None
    dataset_fingerprint: str | None
    inputs_skipped: int | None
    seed_images: int | None
    warmup_batches: int
    warmup_seconds: float | None
    min_batches: int | None
    min_seconds: float | None
    max_seconds: float | None
    ci_target: float | None
    cpu_affinity: list[int] | None
    end_to_end_seconds: float | None
    end_to_end_passes: int | None
    max_interference: float | None
    max_steal: float | None
    repeats: int | None
    n_images: int | None
    n_batches: int | None
    total_s: float | None
    ms_per_image: float | None
    images_per_s: float | None
    latency_mean_ms: float | None
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    latency_std_ms: float | None
    latency_iqr_ms: float | None
    latency_cv: float | None
    latency_min_ms: float | None
    latency_max_ms: float | None
    ci_low_ms: float | None
    ci_high_ms: float | None
    ci_rel: float | None
    stable: bool | None
    stop_reason: str | None
    latency_autocorr: float | None
    preprocess_ms: float | None
    h2d_ms: float | None
    forward_ms: float | None
    postprocess_ms: float | None
    cold_start_ms: float | None
    load_s: float | None
    end_to_end_s: float | None
    end_to_end_images: int | None
    gflop_per_image: float | None
    gflops_per_s: float | None
    peak_tflops: float | None
    pct_of_peak: float | None
    cuda_model_bytes: int | None
    nvml_process_bytes: int | None
    gpu_other_processes: int | None
    cuda_peak_allocated_bytes: int | None
    cuda_peak_reserved_bytes: int | None
    host_peak_rss_bytes: int | None
    cuda_warmup_peak_allocated_bytes: int | None
    cuda_warmup_peak_reserved_bytes: int | None
    gpu_uuid: str | None
    gpu_samples: int | None
    gpu_memory_used_bytes: int | None
    gpu_power_w_mean: float | None
    gpu_power_w_max: float | None
    gpu_sm_clock_mhz_min: float | None
    gpu_sm_clock_mhz_median: float | None
    gpu_sm_clock_mhz_max: float | None
    gpu_utilization_pct: float | None
    gpu_clock_events: str | None
    gpu_throttled_share: float | None
    gpu_energy_j_per_image: float | None
    gpu_energy_reason: str | None
    cpu_energy_j_per_image: float | None
    cpu_energy_reason: str | None
    valid: bool | None
    validity_reason: str | None
    interference: float | None
    steal: float | None
    cores_in_use: int | None
    attempts: int | None
    first_attempt_reason: str | None
    first_attempt_interference: float | None
    first_attempt_steal: float | None
    compile_seconds: float | None
    first_call_seconds: float | None
    recompiles: int | None
    graph_breaks: int | None
    weights_origin: str | None
    parity_images: int | None
    parity_max_abs_diff: float | None
    parity_mask_mismatch: float | None
    parity_iou: float | None
    truth_iou: float | None
    parity_ok: bool | None
    device_kind: str | None
    reference_checksum: str | None
    golden_id: int | None
    golden_max_abs_diff: float | None
    golden_mask_mismatch: float | None
    updated_at: datetime
    lock_sha256: str | None = None  # the lock the case was measured in
    attempt_sha256: str | None = None  # which measurement was stored (idempotent writes)
    # the model measured (segtasks.domain.model_spec): its spec (None: the default), its
    # identity with the weights read, and the model in words
    model: dict[str, Any] | None = None
    model_identity: str | None = None
    model_description: str | None = None
    # where the model ran (torch, onnxruntime, openvino) and the export a runtime other than
    # torch ran (segtasks.result.Export); NULL export for torch
    runtime: str = "torch"
    export_status: str | None = None
    export_seconds: float | None = None
    export_opset: int | None = None
    export_bytes: int | None = None
    export_cached: bool | None = None
    runtime_provider: str | None = None
    environment: Environment | None = None
    run: Run | None = None
    samples: tuple[Sample, ...] = ()  # its timed batches, in the order timed

    @property
    def model_line(self) -> str | None:
        """The model in one line where it is not the default (model_spec.model_line); an
        unreadable stored spec still names what the case key says."""
        spec = stored_spec(self.model)
        if spec is not None:
            return model_line(spec, self.model_description)
        found = KEY_SUFFIX.search(self.case_key)
        if found is None:
            return None
        return f"{self.model_description or 'model'} · {found.group(1)}"

    @property
    def loaded_run(self) -> Run:
        """Its run, for a result read with it (the results pages read them so)."""
        if self.run is None:
            raise LookupError(f"result {self.id} was read without its run")
        return self.run


@dataclass(frozen=True)
class Sample:
    """One timed batch: its latency and phases (ms), and which process timed it."""

    idx: int
    process: int
    latency_ms: float
    preprocess_ms: float | None
    h2d_ms: float | None
    forward_ms: float | None
    postprocess_ms: float | None


@dataclass(frozen=True)
class Process:
    """One measuring process of a case in a run (the first ones, the confirming ones)."""

    id: int
    run_pk: int
    case_key: str
    process: int
    role: str
    status: str
    reason: str | None
    images_per_s: float | None
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    ci_rel: float | None
    n_batches: int | None
    valid: bool | None
    disturbed: bool
    validity_reason: str | None
    seconds: float | None
    created_at: datetime


@dataclass(frozen=True)
class BaselineLevel:
    """A curator's word that a series changed on purpose from a run on."""

    id: int
    case_key: str
    hardware_key: str
    from_run_pk: int
    reason: str
    accepted_by: str
    accepted_at: datetime
    undone_by: str | None
    undone_at: datetime | None
    from_run: Run  # the run the new level starts from


@dataclass(frozen=True)
class GoldenOutputs:
    """Reference outputs (fp32 eager) of one weights file on one dataset and device
    kind, without their arrays (those stay in the store, which compares them)."""

    id: int
    weights_sha256: str
    dataset_fingerprint: str
    device_kind: str
    state: str
    checksum: str
    summary: list[dict[str, Any]]
    run_pk: int | None
    case_key: str | None
    environment_id: int | None
    code_version: str | None
    reason: str | None
    accepted_by: str | None
    created_at: datetime
    accepted_at: datetime | None
    replaces_id: int | None
    retired_at: datetime | None
    retired_by: str | None
    environment: Environment | None = None


@dataclass(frozen=True)
class ReferenceCheck:
    """A result's fp32 eager reference outputs and the golden ones to compare them with
    (npz bytes; None where too large to keep)."""

    result_id: int
    checksum: str
    arrays: bytes | None
    golden_id: int
    golden_checksum: str
    golden_arrays: bytes | None


@dataclass(frozen=True)
class GoldenDrift:
    """The judge's comparison of a reference with the golden outputs."""

    max_abs_diff: float | None  # None: the arrays could not be compared
    mask_mismatch: float | None
    keep_candidate: bool  # tonight's reference differs: kept for `segbench golden accept`
    warning: str | None = None


@dataclass(frozen=True)
class Night:
    """One earlier good night of a series, as the judge needs it."""

    run_pk: int
    started_at: datetime
    code_version: str | None
    result: Result
    # its measuring processes (several when it ran `repeats` or confirmed a change)
    processes: list[Process] = field(default_factory=list)
