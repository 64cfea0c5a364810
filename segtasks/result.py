"""The value one case produces, whatever happened to it.

It crosses every boundary (worker process -> launcher -> store -> spool), so it lives
apart from the code that makes it and imports nothing heavy. Its figures come in parts
(latency, phases, throughput, memory, telemetry, validity), each absent when the case did
not get that far; `columns()` flattens them into the `results` table's columns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from segtasks.plan.case import Case

STATUSES = ("ok", "oom", "skipped", "error", "compile_failed", "export_failed")
# The case itself failed (its task fails; the night goes on). `oom` is a finding, not a
# failure: the batch does not fit. `export_failed` (the model could not be exported to, or
# loaded by, an inference runtime: an operator it lacks) is a failure like compile_failed:
# the configuration asked for cannot be measured.
FAILED_STATUSES = ("error", "compile_failed", "export_failed")
PHASES = ("preprocess_ms", "h2d_ms", "forward_ms", "postprocess_ms")


def _column(name: str, **default: Any) -> Any:
    """A field stored under another column name (the table predates the grouping)."""
    return field(metadata={"column": name}, **default)


@dataclass
class Latency:
    """The timed loop under the stopping rule; latency = h2d + forward + postprocess."""

    n_batches: int
    n_images: int
    total_s: float
    mean_ms: float = _column("latency_mean_ms")
    p50_ms: float = _column("latency_p50_ms")
    # None where there are too few batches for the percentile (segtasks.measure.stats)
    p90_ms: float | None = _column("latency_p90_ms")
    p95_ms: float | None = _column("latency_p95_ms")
    p99_ms: float | None = _column("latency_p99_ms")
    std_ms: float = _column("latency_std_ms")
    iqr_ms: float = _column("latency_iqr_ms")
    cv: float = _column("latency_cv")
    min_ms: float = _column("latency_min_ms")
    max_ms: float = _column("latency_max_ms")
    ci_low_ms: float | None = None
    ci_high_ms: float | None = None
    ci_rel: float | None = None
    stable: bool = False
    stop_reason: str = "time_cap"
    autocorr: float | None = _column("latency_autocorr", default=None)  # lag-1, of the ranks


@dataclass
class Phases:
    """Mean per timed batch by phase, and the once-per-case costs."""

    preprocess_ms: float
    h2d_ms: float
    forward_ms: float
    postprocess_ms: float
    cold_start_ms: float
    load_s: float


@dataclass
class Throughput:
    """Images/s from the median latency; the seed's end-to-end figure; FLOP rates of the
    forward phase."""

    images_per_s: float
    ms_per_image: float
    end_to_end_s: float  # the seed's figure: the median pass, preprocessing included
    end_to_end_images: int  # images in each pass
    gflop_per_image: float
    gflops_per_s: float  # from the median forward phase, not the whole batch
    peak_tflops: float | None = None
    pct_of_peak: float | None = None


@dataclass
class Memory:
    """Peaks of the case's process. CUDA peaks come from PyTorch's allocator, each measured
    from an emptied cache: the warm-up's (what a deployment must fit, cuDNN's trial
    workspaces included) and the timed loop's (the steady state)."""

    host_peak_rss_bytes: int | None = None
    cuda_model_bytes: int | None = None
    cuda_peak_allocated_bytes: int | None = None  # steady state (the timed loop)
    cuda_peak_reserved_bytes: int | None = None
    nvml_process_bytes: int | None = None  # the driver's view of this process, if it can tell
    gpu_other_processes: int | None = None
    cuda_warmup_peak_allocated_bytes: int | None = None
    cuda_warmup_peak_reserved_bytes: int | None = None


@dataclass
class Telemetry:
    """What the device and the package said while the timed loop ran (sampled in a
    background thread). Energy is NULL with its reason where it cannot be read, never an
    estimate."""

    gpu_uuid: str | None = None
    gpu_samples: int | None = None
    gpu_memory_used_bytes: int | None = None  # the device's, every process included (peak)
    gpu_power_w_mean: float | None = None
    gpu_power_w_max: float | None = None
    gpu_sm_clock_mhz_min: float | None = None
    gpu_sm_clock_mhz_median: float | None = None
    gpu_sm_clock_mhz_max: float | None = None  # the device's own maximum, for reference
    gpu_utilization_pct: float | None = None  # mean of the samples
    gpu_clock_events: str | None = None  # every clock event reason seen, comma-separated
    gpu_throttled_share: float | None = None  # samples with a harmful reason
    gpu_energy_j_per_image: float | None = None
    gpu_energy_reason: str | None = None
    cpu_energy_j_per_image: float | None = None  # RAPL packages: the whole socket's energy
    cpu_energy_reason: str | None = None


@dataclass
class Validity:
    """Whether the machine left the case alone while it was timed (valid), and the evidence.

    interference: CPU time other processes used on the cores in use, as a share of them;
    steal: the hypervisor's steal time on those cores, as a share. A disturbed case is
    measured again once in a fresh process; the first attempt's evidence is kept.
    """

    valid: bool
    validity_reason: str | None = None
    interference: float | None = None
    steal: float | None = None
    cores_in_use: int | None = None
    attempts: int = 1
    first_attempt_reason: str | None = None
    first_attempt_interference: float | None = None
    first_attempt_steal: float | None = None


@dataclass
class Compilation:
    """torch.compile's one-off costs, apart from the steady state (None: eager).

    compile_seconds: the first call, which traces and compiles (or loads the kernels from
    the cache) and runs one batch; first_call_seconds: the second, the first call of the
    compiled code; recompiles: graphs compiled after the first call (warm-up, timed loop,
    end-to-end passes), where 0 is expected; graph_breaks: graphs the model was split into
    beyond one."""

    compile_seconds: float | None = None
    first_call_seconds: float | None = None
    recompiles: int | None = None
    graph_breaks: int | None = None


@dataclass
class Export:
    """The export a runtime other than torch runs (segtasks.runtimes; None: torch).

    export_status: ok or failed (the case is then `export_failed`, with the reason);
    export_seconds: how long the export took when it was made (ONNX, plus the conversion for
    OpenVINO), even when tonight reused it from the cache (export_cached); export_opset: the
    ONNX opset; export_bytes: the size of the files the runtime loads; runtime_provider: what
    ran it (onnxruntime's execution provider, OpenVINO's device)."""

    export_status: str
    export_seconds: float | None = None
    export_opset: int | None = None
    export_bytes: int | None = None
    export_cached: bool | None = None
    runtime_provider: str | None = None


@dataclass
class OutputCheck:
    """The case's outputs on the parity images against the fp32 eager reference computed on
    the same device in the same process (segtasks.measure.outputs), and the reference
    against the golden outputs (filled in when the result is stored). Whether they are
    within tolerance (`parity_ok`) is the judge's call, with the night's tolerances."""

    parity_images: int
    parity_max_abs_diff: float  # of the probabilities
    parity_mask_mismatch: float  # share of mask pixels that differ
    parity_iou: float  # of the masks, against the reference's
    truth_iou: float | None  # of the masks, against the true ones where the inputs have them
    device_kind: str  # what golden outputs are kept per (segtasks.parity.outputs)
    reference_checksum: str
    golden_id: int | None = None
    golden_max_abs_diff: float | None = None  # the reference against the golden outputs
    golden_mask_mismatch: float | None = None


PARTS: dict[str, type] = {"latency": Latency, "phases": Phases, "throughput": Throughput,
                          "memory": Memory, "telemetry": Telemetry, "validity": Validity,
                          "compilation": Compilation, "outputs": OutputCheck,
                          "export": Export}
_FACTS = ("hardware_key", "weights_sha256", "weights_origin", "dataset_fingerprint",
          "inputs_skipped", "model_identity", "model_description")


def _part_columns(part: type) -> list[tuple[str, str]]:
    """(field, column) pairs of a part."""
    return [(f.name, f.metadata.get("column", f.name)) for f in fields(part)]


# Every scalar column a result fills besides the case's own fields and its status.
COLUMNS: tuple[str, ...] = (*_FACTS, *(column for part in PARTS.values()
                                        for _, column in _part_columns(part)))


@dataclass
class CaseResult:
    case: Case
    status: str
    reason: str | None = None
    hardware_key: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    weights_sha256: str | None = None
    weights_origin: str | None = None  # trained-demo, seeded-random, unrecorded (provenance)
    dataset_fingerprint: str | None = None
    inputs_skipped: int | None = None
    # the model measured: its spec's identity with the weights read (ModelSpec.identity),
    # and its spec in words (the case carries the spec itself)
    model_identity: str | None = None
    model_description: str | None = None
    latency: Latency | None = None
    phases: Phases | None = None
    throughput: Throughput | None = None
    memory: Memory | None = None
    telemetry: Telemetry | None = None
    validity: Validity | None = None
    compilation: Compilation | None = None
    outputs: OutputCheck | None = None
    export: Export | None = None
    # the fp32 eager reference outputs on their way to the store (segtasks.parity.outputs.
    # encode: checksum, summary, npz); not a column, the golden outputs keep them
    reference_outputs: dict[str, Any] | None = None
    latencies_ms: list[float] = field(default_factory=list)
    phases_ms: list[list[float]] = field(default_factory=list)  # per batch, in PHASES order
    # the lock (segtasks.envs) it was measured in, set by the night before it is stored
    # (stored as results.lock_sha256; the case names it only when a night has several)
    lock_sha256: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {STATUSES}")

    @property
    def disturbed(self) -> bool:
        """Measured, but the machine did not leave it alone (see Validity)."""
        return self.status == "ok" and self.validity is not None and not self.validity.valid

    def columns(self) -> dict[str, Any]:
        """The figures as the `results` table's columns; None where a part is absent."""
        values = {name: getattr(self, name) for name in _FACTS}
        for attribute, part in PARTS.items():
            value = getattr(self, attribute)
            for name, column in _part_columns(part):
                values[column] = None if value is None else getattr(value, name)
        return values

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["case"] = Case.from_dict(data["case"])
        for attribute, part in PARTS.items():
            if values.get(attribute) is not None:
                values[attribute] = part(**values[attribute])
        return cls(**values)
