"""How the demo model is trained (`segbench train-demo`): one frozen value, so that the
record written beside the weights can say exactly how they were made.

No torch here: the CLI builds its flags from these fields without loading it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from segtasks.errors import UsageError


@dataclass(frozen=True)
class TrainSettings:
    seed: int = 0
    batch_size: int = 4
    learning_rate: float = 1e-3  # plain Adam
    dice_weight: float = 1.0  # loss = BCE + dice_weight * soft dice
    holdout: int = 12  # the last images by name are held out, never trained on
    target_iou: float = 0.98  # stop once the held-out IoU reaches this ...
    max_steps: int = 400  # ... or after this many steps ...
    max_seconds: float = 300.0  # ... or this long (the budget on 2 cores)
    eval_every: int = 10  # steps between held-out evaluations
    threads: int | None = None  # torch intra-op threads; None keeps torch's default

    def __post_init__(self) -> None:
        problems = [name for name, ok in (
            ("seed", self.seed >= 0), ("batch_size", self.batch_size >= 1),
            ("learning_rate", self.learning_rate > 0), ("dice_weight", self.dice_weight >= 0),
            ("holdout", self.holdout >= 1), ("target_iou", 0 < self.target_iou <= 1),
            ("max_steps", self.max_steps >= 1), ("max_seconds", self.max_seconds > 0),
            ("eval_every", self.eval_every >= 1),
            ("threads", self.threads is None or self.threads >= 1)) if not ok]
        if problems:
            raise UsageError("bad training setting: " + ", ".join(
                f"{name}={getattr(self, name)!r}" for name in problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
