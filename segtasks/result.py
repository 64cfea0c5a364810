"""The value one case produces, whatever happened to it.

It crosses every boundary (worker process -> launcher -> store -> spool), so it lives
apart from the code that makes it and imports nothing heavy. Its figures come in parts
(latency, phases, throughput, memory), each absent when the case did not get that far;
`columns()` flattens them into the `results` table's columns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from segtasks.plan.case import Case

STATUSES = ("ok", "oom", "skipped", "error")
PHASES = ("preprocess_ms", "h2d_ms", "forward_ms", "postprocess_ms")


def _column(name: str) -> Any:
    """A field stored under another column name (the table predates the grouping)."""
    return field(metadata={"column": name})


@dataclass
class Latency:
    """The timed loop under the stopping rule; latency = h2d + forward + postprocess."""

    n_batches: int
    n_images: int
    total_s: float
    mean_ms: float = _column("latency_mean_ms")
    p50_ms: float = _column("latency_p50_ms")
    p90_ms: float = _column("latency_p90_ms")
    p95_ms: float = _column("latency_p95_ms")
    p99_ms: float = _column("latency_p99_ms")
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
    """Images/s from the median latency; the seed's end-to-end figure; FLOP rates."""

    images_per_s: float
    ms_per_image: float
    end_to_end_s: float  # the seed's figure: n_images once, preprocessing included
    end_to_end_images: int
    gflop_per_image: float
    gflops_per_s: float
    peak_tflops: float | None = None
    pct_of_peak: float | None = None


@dataclass
class Memory:
    host_peak_rss_bytes: int | None = None
    cuda_model_bytes: int | None = None
    cuda_peak_allocated_bytes: int | None = None
    cuda_peak_reserved_bytes: int | None = None
    nvml_process_bytes: int | None = None
    gpu_other_processes: int | None = None


PARTS: dict[str, type] = {"latency": Latency, "phases": Phases, "throughput": Throughput,
                          "memory": Memory}
_FACTS = ("hardware_key", "weights_sha256", "dataset_fingerprint", "inputs_skipped")


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
    dataset_fingerprint: str | None = None
    inputs_skipped: int | None = None
    latency: Latency | None = None
    phases: Phases | None = None
    throughput: Throughput | None = None
    memory: Memory | None = None
    latencies_ms: list[float] = field(default_factory=list)
    phases_ms: list[list[float]] = field(default_factory=list)  # per batch, in PHASES order

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {STATUSES}")

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
