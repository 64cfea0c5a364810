"""The benchmark grid: validated cases (device x batch size) from user parameters.

Validation lives here, not only in the DAG's Param schema, so that the CLI and a
hand-edited run conf get the same clear message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

DEVICES = ("cpu", "cuda")
MAX_BATCH_SIZE = 1024


class GridError(ValueError):
    """A grid parameter a user gave is not acceptable."""


@dataclass(frozen=True)
class Case:
    device: str
    batch_size: int
    n_images: int
    warmup_batches: int

    @property
    def key(self) -> str:
        """Identity of the case inside a run; stable across nights so history can be joined."""
        return f"{self.device}-bs{self.batch_size}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        return cls(**{k: data[k] for k in ("device", "batch_size", "n_images", "warmup_batches")})


def _int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    # bool is an int subclass in Python; `true` as a batch size is a user error, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise GridError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise GridError(f"{name} must be {bound}, got {value}")
    return value


def plan_grid(
    devices: list[str], batch_sizes: list[int], n_images: int, warmup_batches: int
) -> list[Case]:
    """Every (device, batch size) case, in a stable order, or a GridError naming the bad value."""
    if not devices:
        raise GridError("devices must name at least one of: " + ", ".join(DEVICES))
    if not batch_sizes:
        raise GridError("batch_sizes must hold at least one batch size")
    for device in devices:
        if device not in DEVICES:
            raise GridError(f"unknown device {device!r}; expected one of: {', '.join(DEVICES)}")
    sizes = [_int("batch size", b, 1, MAX_BATCH_SIZE) for b in batch_sizes]
    _int("n_images", n_images, 1)
    _int("warmup_batches", warmup_batches, 0, 100)
    return [
        Case(device=d, batch_size=b, n_images=n_images, warmup_batches=warmup_batches)
        for d in dict.fromkeys(devices)
        for b in sorted(set(sizes))
    ]
