"""What changed in the software between two nights, to name it beside a verdict."""

from __future__ import annotations

from segtasks.domain.records import Environment

# environment columns whose change is worth naming next to a verdict
SOFTWARE = (("torch", "torch_version"), ("torchvision", "torchvision_version"),
            ("smp", "smp_version"), ("numpy", "numpy_version"), ("cuda", "cuda_runtime"),
            ("cudnn", "cudnn"), ("driver", "nvidia_driver"), ("python", "python_version"))


def software_changes(tonight_code: str | None, tonight_env: Environment | None,
                     before_code: str | None, before_env: Environment | None) -> list[str]:
    """What differs between tonight's software and an earlier night's (environment rows)."""
    changes = []
    if tonight_code != before_code:
        changes.append(f"code {before_code} -> {tonight_code}")
    if before_env is not None and tonight_env is not None:
        for label, column in SOFTWARE:
            a, b = getattr(before_env, column), getattr(tonight_env, column)
            if a != b:
                changes.append(f"{label} {a} -> {b}")
    return changes
