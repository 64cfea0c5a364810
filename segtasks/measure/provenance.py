"""The record written beside a weights file (`weights_001.json` next to `weights_001.pt`):
how the weights were made, so that a night can say which weights it measured.

Origins: `trained-demo` (segbench train-demo), `seeded-random` (segbench weights: right
shapes, realistic timing, meaningless masks), `unrecorded` (a file with no record, or one
whose sha256 no longer matches its record: someone else's weights). No torch here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRAINED = "trained-demo"
SEEDED = "seeded-random"
UNRECORDED = "unrecorded"
ORIGINS = (TRAINED, SEEDED, UNRECORDED)
# What the report says when the masks come from weights nobody trained.
UNTRAINED_WARNING = "untrained weights: parity and IoU are not meaningful"


def record_path(weights: Path) -> Path:
    return Path(weights).with_suffix(".json")


def write_record(weights: Path, record: dict[str, Any]) -> Path:
    path = record_path(weights)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def read_record(weights: Path) -> dict[str, Any] | None:
    path = record_path(weights)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def origin(weights: Path, sha256: str) -> str:
    """Where the weights at `weights` (whose sha256 is given) came from."""
    record = read_record(weights)
    if record is None or record.get("sha256") != sha256 or record.get("origin") not in ORIGINS:
        return UNRECORDED
    return str(record["origin"])
