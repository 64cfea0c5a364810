"""The value one case produces, whatever happened to it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from segtasks.grid import Case

STATUSES = ("ok", "oom", "skipped", "error")


@dataclass
class CaseResult:
    case: Case
    status: str
    reason: str | None = None
    hardware_key: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    weights_sha256: str | None = None
    dataset_fingerprint: str | None = None
    inputs_skipped: int | None = None
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
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    cold_start_ms: float | None = None
    load_s: float | None = None
    preprocess_s: float | None = None
    cuda_peak_allocated_bytes: int | None = None
    cuda_peak_reserved_bytes: int | None = None
    host_peak_rss_bytes: int | None = None
    latencies_ms: list[float] = field(default_factory=list)

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
        skip = {"case", "status", "reason", "environment", "latencies_ms"}
        return [f.name for f in fields(cls) if f.name not in skip]
