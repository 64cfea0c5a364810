"""Which model a night measures: a segmentation_models_pytorch architecture and encoder, or
a user's own factory, with its input channels, classes, input size and weights.

A pure value (no torch, no smp): the plan checks it, the case carries it to its measuring
process, the store records it. `identity()` is a short hash of what makes the model this
one (its structure and, when known, its weights' sha256): the case key names it when the
model is not the mission's default, so two models never share a series, and the export
cache of other runtimes is keyed by it. The weights file's path is where it lies, not what
it is, so it is left out of the identity.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from segtasks.errors import SegbenchError

IDENTITY_CHARS = 12  # 48 bits, as a lock's prefix in a case key: no clash in practice
FACTORY_PATTERN = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SMP_KEYS = ("architecture", "encoder", "encoder_depth", "decoder_channels")
_COMMON_KEYS = ("in_channels", "classes", "input_size", "weights", "weights_sha256")
KEYS = (*_SMP_KEYS, "factory", *_COMMON_KEYS)
# Bounds of the JSON schema (segtasks.plan.case) and of from_dict alike
MAX_CHANNELS, MAX_CLASSES, MIN_SIZE, MAX_SIZE, MAX_DEPTH = 64, 1000, 8, 4096, 8


class ModelSpecError(SegbenchError, ValueError):
    """A model specification that cannot name a model."""


@dataclass(frozen=True)
class ModelSpec:
    in_channels: int
    classes: int
    input_size: tuple[int, int]  # (height, width) the images are resized to
    architecture: str | None = None  # an smp class name, e.g. "UnetPlusPlus"
    encoder: str | None = None  # an smp encoder name, e.g. "resnet34"
    encoder_depth: int | None = None  # None: smp's default
    decoder_channels: tuple[int, ...] | int | None = None  # None: smp's default
    factory: str | None = None  # "package.module:function", called without arguments
    weights: str | None = None  # path of the state dict (relative: to SEGBENCH_HOME)
    weights_sha256: str | None = None  # when given, the file must have it

    @property
    def is_factory(self) -> bool:
        return self.factory is not None

    def structure(self) -> dict[str, Any]:
        """What the network is, without where its weights lie."""
        data = self.to_dict()
        data.pop("weights", None)
        data.pop("weights_sha256", None)
        return data

    def identity(self, weights_sha256: str | None = None) -> str:
        """A short hash of the structure and the weights' sha256 (`weights_sha256`, else
        the one the spec pins, else none): the same model and weights, the same identity."""
        sha = weights_sha256 or self.weights_sha256
        text = json.dumps({**self.structure(), "weights_sha256": sha}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:IDENTITY_CHARS]

    def describe(self) -> str:
        """The model in words, e.g. UnetPlusPlus(resnet34, depth=4, decoder=(256,128,64,32),
        in=1, classes=1), with its input size."""
        size = f"{self.input_size[0]}x{self.input_size[1]}"
        if self.factory is not None:
            return f"{self.factory}(in={self.in_channels}, classes={self.classes}) at {size}"
        parts = [str(self.encoder)]
        if self.encoder_depth is not None:
            parts.append(f"depth={self.encoder_depth}")
        if isinstance(self.decoder_channels, tuple):
            parts.append("decoder=(" + ",".join(map(str, self.decoder_channels)) + ")")
        elif self.decoder_channels is not None:
            parts.append(f"decoder={self.decoder_channels}")
        parts += [f"in={self.in_channels}", f"classes={self.classes}"]
        return f"{self.architecture}({', '.join(parts)}) at {size}"

    def to_dict(self) -> dict[str, Any]:
        """As a run conf holds it (keys left at None are left out)."""
        data: dict[str, Any] = {}
        for key in KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            data[key] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """The spec of a run conf's `model`, or a ModelSpecError naming the bad key.

        The types and bounds are the JSON schema's (segtasks.plan.case), checked again here
        for a spec that comes another way (`segbench data --model`); what ties keys
        together is checked only here."""
        if not isinstance(data, dict):
            raise ModelSpecError(f"expected an object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise ModelSpecError(f"unknown key {', '.join(unknown)}; known: {', '.join(KEYS)}")
        has_factory = data.get("factory") is not None
        has_smp = data.get("architecture") is not None
        if has_factory == has_smp:
            raise ModelSpecError("give either architecture (with encoder: a "
                                 "segmentation_models_pytorch model) or factory "
                                 "(package.module:function), not both nor neither")
        for key in ("in_channels", "classes", "input_size"):
            if data.get(key) is None:
                raise ModelSpecError(f"{key} is required")
        if has_factory:
            given = [k for k in _SMP_KEYS if data.get(k) is not None]
            if given:
                raise ModelSpecError(f"{', '.join(given)} belong to an smp architecture, "
                                     "not to a factory")
            if not isinstance(data["factory"], str) or not FACTORY_PATTERN.match(
                    data["factory"]):
                raise ModelSpecError(f"factory {data['factory']!r} is not "
                                     "package.module:function")
        elif not isinstance(data.get("encoder"), str) or not data["encoder"]:
            raise ModelSpecError("encoder is required with an architecture (e.g. resnet34)")
        spec = cls(
            in_channels=_integer(data, "in_channels", 1, MAX_CHANNELS),
            classes=_integer(data, "classes", 1, MAX_CLASSES),
            input_size=_size(data["input_size"]),
            architecture=data.get("architecture"), encoder=data.get("encoder"),
            encoder_depth=(None if data.get("encoder_depth") is None
                           else _integer(data, "encoder_depth", 1, MAX_DEPTH)),
            decoder_channels=_decoder(data.get("decoder_channels")),
            factory=data.get("factory"), weights=_text(data, "weights"),
            weights_sha256=_text(data, "weights_sha256"))
        if spec.weights_sha256 is not None and not _SHA256.match(spec.weights_sha256):
            raise ModelSpecError("weights_sha256 must be 64 lowercase hex digits")
        if (isinstance(spec.decoder_channels, tuple) and spec.encoder_depth is not None
                and len(spec.decoder_channels) != spec.encoder_depth):
            raise ModelSpecError(
                f"decoder_channels has {len(spec.decoder_channels)} entries, encoder_depth "
                f"is {spec.encoder_depth}: one decoder stage per encoder stage")
        return spec


def _integer(data: dict[str, Any], key: str, low: int, high: int) -> int:
    value = data[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ModelSpecError(f"{key} must be an integer from {low} to {high}, got {value!r}")
    return value


def _size(value: Any) -> tuple[int, int]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ModelSpecError(f"input_size must be [height, width], got {value!r}")
    return (_integer({"input_size": value[0]}, "input_size", MIN_SIZE, MAX_SIZE),
            _integer({"input_size": value[1]}, "input_size", MIN_SIZE, MAX_SIZE))


def _decoder(value: Any) -> tuple[int, ...] | int | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        if not value:
            raise ModelSpecError("decoder_channels must not be empty")
        return tuple(_integer({"decoder_channels": v}, "decoder_channels", 1, 4096)
                     for v in value)
    return _integer({"decoder_channels": value}, "decoder_channels", 1, 4096)


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ModelSpecError(f"{key} must be a non-empty string, got {value!r}")
    return value


# The mission's model: what a night measures when `model` is null, with today's case keys
DEFAULT = ModelSpec(architecture="UnetPlusPlus", encoder="resnet34", encoder_depth=4,
                    decoder_channels=(256, 128, 64, 32), in_channels=1, classes=1,
                    input_size=(256, 256))


def spec_or_default(spec: ModelSpec | None) -> ModelSpec:
    return DEFAULT if spec is None else spec


def is_default(spec: ModelSpec | None) -> bool:
    """Whether the spec measures the mission's model as a series: same structure, no
    pinned weights (the weights' path may differ, as SEGBENCH_WEIGHTS may today)."""
    return spec is None or spec.identity() == DEFAULT.identity()


KEY_SUFFIX = re.compile(rf"-m([0-9a-f]{{{IDENTITY_CHARS}}})$")  # a case key's model part


def stored_spec(value: Any) -> ModelSpec | None:
    """The spec a result or a run conf stored (None: the default, or one that no longer
    reads as a spec: a reader shows what it can rather than fail on an old row)."""
    if value is None:
        return None
    try:
        return value if isinstance(value, ModelSpec) else ModelSpec.from_dict(value)
    except ModelSpecError:
        return None


def model_line(spec: ModelSpec | None, description: str | None = None) -> str | None:
    """The model in one line for a reader, e.g. "Unet(resnet18, depth=5, ..., in=3,
    classes=2) at 256x256 · 3f2a9c1e0b4d": its description and the identity its case keys
    end with (-m<identity>); None for the mission's default model, which pages and reports
    leave unnamed as they always did. `description`, when given, is the one recorded."""
    if is_default(spec):
        return None
    assert spec is not None
    return f"{description or spec.describe()} · {spec.identity()}"
