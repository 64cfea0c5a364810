"""An smp model spec checked against segmentation_models_pytorch's own registries, without
building the model: its architecture classes, its encoders (timm's for `tu-` names), the
constructor's parameters, and the input size its U-shaped decoders can take."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from segtasks.domain.model_spec import ModelSpec, ModelSpecError


def architectures() -> dict[str, Any]:
    """smp's architecture classes by their exact name (Unet, UnetPlusPlus, FPN, ...)."""
    import segmentation_models_pytorch as smp

    return {cls.__name__: cls for cls in smp.MODEL_ARCHITECTURES_MAPPING.values()}


def encoder_known(name: str) -> bool:
    import segmentation_models_pytorch as smp

    if name in smp.encoders.get_encoder_names():
        return True
    if name.startswith("tu-"):  # timm's universal encoders: any model timm has
        import timm

        return bool(timm.is_model(name[len("tu-"):].split(".")[0]))
    return False


def _default_of(cls: Any, parameter: str) -> Any:
    found = inspect.signature(cls.__init__).parameters.get(parameter)
    return inspect.Parameter.empty if found is None else found.default


def check_smp(spec: ModelSpec) -> None:
    """A ModelSpecError naming what smp lacks or refuses; nothing for a spec it can build."""
    known = architectures()
    cls = known.get(str(spec.architecture))
    if cls is None:
        raise ModelSpecError(f"unknown architecture {spec.architecture!r}; smp has "
                             f"{', '.join(sorted(known))}")
    if not encoder_known(str(spec.encoder)):
        raise ModelSpecError(f"unknown encoder {spec.encoder!r} (smp's encoders: "
                             "segmentation_models_pytorch.encoders.get_encoder_names(), or "
                             "tu-<timm model>)")
    depth = _default_of(cls, "encoder_depth") if spec.encoder_depth is None \
        else spec.encoder_depth
    if spec.encoder_depth is not None and depth is inspect.Parameter.empty:
        raise ModelSpecError(f"{spec.architecture} takes no encoder_depth")
    channels = _default_of(cls, "decoder_channels")
    if spec.decoder_channels is not None:
        if channels is inspect.Parameter.empty:
            raise ModelSpecError(f"{spec.architecture} takes no decoder_channels")
        if isinstance(channels, Sequence) != isinstance(spec.decoder_channels, tuple):
            listed = isinstance(channels, Sequence)
            raise ModelSpecError(
                f"{spec.architecture}'s decoder_channels is "
                f"{'a list' if listed else 'one integer'} "
                f"(smp's default: {list(channels) if listed else channels})")
        channels = spec.decoder_channels
    if isinstance(channels, Sequence) and isinstance(depth, int):
        # U-shaped decoders: one stage per encoder stage, and the input halved `depth` times
        if len(channels) != depth:
            raise ModelSpecError(f"decoder_channels has {len(channels)} entries, "
                                 f"encoder_depth is {depth}: one decoder stage per encoder "
                                 "stage")
        stride = 2 ** depth
        if any(side % stride for side in spec.input_size):
            raise ModelSpecError(f"input_size {list(spec.input_size)} is not divisible by "
                                 f"{stride} (2^encoder_depth), which {spec.architecture} "
                                 "needs")
