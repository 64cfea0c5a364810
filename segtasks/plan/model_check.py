"""A run conf's `model` checked at plan time, before any case is measured.

The spec's own rules (segtasks.domain.model_spec), then what only the installed code can
say: an smp architecture and encoder exist in smp's registries (read by
segtasks.measure.model_registry, which imports smp in this process only when a night
names a model other than the default), and a factory's module can be found. Whether a
factory really returns an nn.Module is known only by calling it, which the case's own
process does (segtasks.measure.model.build_model): its case then ends `error` with why.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from segtasks.domain.model_spec import ModelSpec, ModelSpecError, is_default


def checked_spec(value: dict[str, Any] | None, *, installed: bool = True
                 ) -> ModelSpec | None:
    """The spec of `value` (None: the default model), or a ModelSpecError saying why not;
    `installed`: with what the installed smp and the factory's module say (the plan does)."""
    if value is None:
        return None
    spec = ModelSpec.from_dict(value)
    if is_default(spec) or not installed:
        return spec  # the mission's model: smp is not loaded for it
    if spec.factory is not None:
        _check_factory_module(spec.factory)
    else:
        from segtasks.measure.model_registry import check_smp

        check_smp(spec)
    return spec


def _check_factory_module(factory: str) -> None:
    module = factory.split(":", 1)[0]
    try:
        found = importlib.util.find_spec(module)
    except Exception as exc:  # noqa: BLE001 - the user's parent package failed to import
        raise ModelSpecError(f"factory {factory!r}: module {module} cannot be found "
                             f"({exc})") from None
    if found is None:
        raise ModelSpecError(f"factory {factory!r}: no module {module} on this Python's path "
                             "(install your package in the night's environment)")
