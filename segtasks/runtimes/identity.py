"""What an export is cached by: the model it was made from, its structure and its weights
(segtasks.domain.model_spec.ModelSpec.identity), so two models never share an export and
new weights make a new one."""

from __future__ import annotations

from segtasks.domain.model_spec import ModelSpec, spec_or_default


def export_identity(weights_sha256: str, model: ModelSpec | None = None) -> str:
    """The model's identity with the weights file read (None: the mission's model)."""
    return spec_or_default(model).identity(weights_sha256)
