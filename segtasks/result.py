"""The value one case produces, whatever happened to it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from segtasks.grid import Case

STATUSES = ("ok", "oom", "skipped", "error")
PHASES = ("preprocess_ms", "h2d_ms", "forward_ms", "postprocess_ms")


@dataclass
class CaseResult:
    case: Case
    status: str
    reason: str | None = None
    hardware_key: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    weights_sha256: str | None = None
    dataset_fingerprint: str | None = None
    inputs_skipped: int | None = None
    # the timed loop (stopping rule); latency = h2d + forward + postprocess of one batch
    n_images: int | None = None
    n_batches: int | None = None
    total_s: float | None = None
    ms_per_image: float | None = None
    images_per_s: float | None = None
    latency_mean_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p90_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_std_ms: float | None = None
    latency_iqr_ms: float | None = None
    latency_cv: float | None = None
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    ci_low_ms: float | None = None
    ci_high_ms: float | None = None
    ci_rel: float | None = None
    stable: bool | None = None
    stop_reason: str | None = None
    # mean per timed batch, by phase
    preprocess_ms: float | None = None
    h2d_ms: float | None = None
    forward_ms: float | None = None
    postprocess_ms: float | None = None
    # once per case
    cold_start_ms: float | None = None
    load_s: float | None = None
    # the seed's figure: all n_images once, preprocessing included
    end_to_end_s: float | None = None
    end_to_end_images: int | None = None
    gflop_per_image: float | None = None
    gflops_per_s: float | None = None
    peak_tflops: float | None = None
    pct_of_peak: float | None = None
    cuda_model_bytes: int | None = None
    cuda_peak_allocated_bytes: int | None = None
    cuda_peak_reserved_bytes: int | None = None
    nvml_process_bytes: int | None = None
    gpu_other_processes: int | None = None
    host_peak_rss_bytes: int | None = None
    latencies_ms: list[float] = field(default_factory=list)
    phases_ms: list[list[float]] = field(default_factory=list)  # per batch, in PHASES order

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {STATUSES}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["case"] = Case.from_dict(data["case"])
        return cls(**values)

    @classmethod
    def metric_names(cls) -> list[str]:
        """The scalar columns a result carries besides its identity and raw samples."""
        skip = {"case", "status", "reason", "environment", "warnings", "latencies_ms",
                "phases_ms"}
        return [f.name for f in fields(cls) if f.name not in skip]
