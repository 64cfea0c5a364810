"""The benchmark grid: validated cases from user parameters.

A case's identity (its `key`, and so its history) is what changes the work done:
device, batch size, precision, memory format and CPU threads. How long it is measured
is recorded with the result but is not part of the identity.
Validation lives here, not only in the DAG's Param schema, so that the CLI and a
hand-edited run conf get the same clear message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from itertools import product
from typing import Any

DEVICES = ("cpu", "cuda")
PRECISIONS = ("fp32", "bf16", "fp16")
MAX_BATCH_SIZE = 1024
MAX_THREADS = 256


class GridError(ValueError):
    """A grid parameter a user gave is not acceptable."""


@dataclass(frozen=True)
class Case:
    device: str
    batch_size: int
    n_images: int
    warmup_batches: int
    precision: str = "fp32"
    channels_last: bool = False
    threads: int | None = None  # CPU only; None keeps torch's default
    warmup_seconds: float = 1.0
    min_batches: int = 6
    min_seconds: float = 2.0
    max_seconds: float = 30.0
    ci_target: float = 0.02

    @property
    def key(self) -> str:
        """Identity of the case, stable across nights so that history can be joined."""
        key = f"{self.device}-bs{self.batch_size}-{self.precision}"
        if self.channels_last:
            key += "-cl"
        if self.threads is not None:
            key += f"-t{self.threads}"
        return key

    @property
    def label(self) -> str:
        """Short, readable name for logs and Airflow's mapped task list."""
        return self.key.replace("-bs", " bs=").replace("-", " ")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    # bool is an int subclass in Python; `true` as a batch size is a user error, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise GridError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise GridError(f"{name} must be {bound}, got {value}")
    return value


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise GridError(f"{name} must be a number between {low:g} and {high:g}, got {value!r}")
    return float(value)


def _choices(name: str, values: Any, allowed: tuple[Any, ...]) -> list[Any]:
    if not isinstance(values, list | tuple) or not values:
        raise GridError(f"{name} must be a non-empty list of: {', '.join(map(str, allowed))}")
    for value in values:
        if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
            raise GridError(f"unknown {name[:-1]} {value!r}; expected one of: "
                            + ", ".join(map(str, allowed)))
    return list(dict.fromkeys(values))


def plan_grid(
    devices: list[str],
    batch_sizes: list[int],
    n_images: int,
    warmup_batches: int,
    *,
    precisions: list[str] | tuple[str, ...] = ("fp32",),
    channels_last: list[bool] | tuple[bool, ...] = (False,),
    cpu_threads: list[int] | tuple[int, ...] = (),
    warmup_seconds: float = 1.0,
    min_batches: int = 6,
    min_seconds: float = 2.0,
    max_seconds: float = 30.0,
    ci_target: float = 0.02,
) -> list[Case]:
    """Every case of the grid in a stable order, or a GridError naming the bad value."""
    devices = _choices("devices", devices, DEVICES)
    precisions = _choices("precisions", precisions, PRECISIONS)
    layouts = _choices("channels_last values", channels_last, (False, True))
    if not isinstance(batch_sizes, list | tuple) or not batch_sizes:
        raise GridError("batch_sizes must hold at least one batch size")
    sizes = sorted({_int("batch size", b, 1, MAX_BATCH_SIZE) for b in batch_sizes})
    threads: list[int | None] = [
        *sorted({_int("cpu thread count", t, 1, MAX_THREADS) for t in cpu_threads})]
    settings: dict[str, Any] = {
        "n_images": _int("n_images", n_images, 1),
        "warmup_batches": _int("warmup_batches", warmup_batches, 0, 100),
        "warmup_seconds": _number("warmup_seconds", warmup_seconds, 0, 600),
        "min_batches": _int("min_batches", min_batches, 6, 100_000),
        "min_seconds": _number("min_seconds", min_seconds, 0.01, 3600),
        "max_seconds": _number("max_seconds", max_seconds, 0.01, 3600),
        "ci_target": _number("ci_target", ci_target, 0.001, 0.5),
    }
    if settings["max_seconds"] < settings["min_seconds"]:
        raise GridError(f"max_seconds ({max_seconds}) must be >= min_seconds ({min_seconds})")
    # Batch size innermost: each (device, variant) reads as one seed-style table.
    return [
        Case(device=device, batch_size=size, precision=precision, channels_last=layout,
             threads=thread_count, **settings)
        for device, precision, layout in product(devices, precisions, layouts)
        for thread_count in ((threads or [None]) if device == "cpu" else [None])
        for size in sizes
    ]
