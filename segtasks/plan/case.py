"""A case: one measurement of the grid, and the run parameters that make it.

A case's identity (its `key`, and so its history) is what changes the work done: device,
batch size, precision, memory format, compilation, CPU threads, the cores it is pinned
to and, when a night measures several, the Python environment (lock) it runs in. How long
it is measured, and the limits of a valid measurement, are recorded with the result but
are not part of the identity. A new option left at its default leaves the key
as it was, so that history stays joinable. Every field is also a stored column of `results`
and a run parameter, declared right here (see segtasks.plan.declare).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from segtasks.domain.model_spec import (
    IDENTITY_CHARS,
    MAX_CHANNELS,
    MAX_CLASSES,
    MAX_DEPTH,
    MAX_SIZE,
    MIN_SIZE,
    ModelSpec,
    is_default,
    spec_or_default,
)
from segtasks.plan.declare import parameter

DEVICES = ("cpu", "cuda")
# fp32 is strict IEEE fp32 (TF32 off for cuDNN convolutions and cuBLAS matmuls, set
# explicitly); tf32 lets both use TF32 tensor cores; bf16 / fp16 are autocast.
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
# torch.compile modes; "none" runs the model eagerly. reduce-overhead captures CUDA graphs,
# so a CPU case asking for it is recorded as skipped with the reason (as fp16 on the CPU).
COMPILE_MODES = ("none", "default", "max-autotune", "reduce-overhead")
# Where the model runs: PyTorch itself (eager or compiled), or an inference runtime fed an
# ONNX export of it (segtasks.runtimes; the extras onnx and openvino install them).
RUNTIMES = ("torch", "onnxruntime", "openvino")
TORCH = "torch"
MAX_BATCH_SIZE = 1024
# what the trigger form offers to pick from (any size up to MAX_BATCH_SIZE is allowed)
USUAL_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
MAX_THREADS = 256
MAX_CORE = 4095
# How much of a lock's sha256 a case key shows (segtasks.envs; 48 bits: no clash in practice)
LOCK_KEY_CHARS = 12
CURRENT_ENVIRONMENT = "current"


_MODEL_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"], "additionalProperties": False,
    "properties": {
        "architecture": {"type": "string", "minLength": 1, "maxLength": 100},
        "encoder": {"type": "string", "minLength": 1, "maxLength": 200},
        "encoder_depth": {"type": "integer", "minimum": 1, "maximum": MAX_DEPTH},
        "decoder_channels": {
            "type": ["integer", "array"], "minimum": 1, "maximum": 4096, "minItems": 1,
            "maxItems": MAX_DEPTH,
            "items": {"type": "integer", "minimum": 1, "maximum": 4096}},
        "factory": {"type": "string", "minLength": 3, "maxLength": 250},
        "in_channels": {"type": "integer", "minimum": 1, "maximum": MAX_CHANNELS},
        "classes": {"type": "integer", "minimum": 1, "maximum": MAX_CLASSES},
        "input_size": {"type": "array", "minItems": 2, "maxItems": 2,
                       "items": {"type": "integer", "minimum": MIN_SIZE,
                                 "maximum": MAX_SIZE}},
        "weights": {"type": "string", "minLength": 1, "maxLength": 1000},
        "weights_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
}


def _list_of(items: dict[str, Any], *, non_empty: bool = True, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items, "uniqueItems": True, **extra}
    if non_empty:
        schema["minItems"] = 1
    return schema


@dataclass(frozen=True)
class Case:
    # --- the axes of the grid, outermost first (batch size innermost, so that each
    # device and variant reads as one seed-style table) ---
    device: str = field(metadata=parameter(
        name="devices", axis=True, default=["cpu", "cuda"], title="Devices",
        description="Devices to benchmark. A CUDA case on a worker without a GPU is "
                    "recorded as skipped, never run on the CPU instead.",
        # `examples` makes Airflow's form a multi-select; `enum` makes its API reject typos.
        schema=_list_of({"type": "string", "enum": list(DEVICES)}, examples=list(DEVICES))))
    lock_sha256: str | None = field(default=None, metadata=parameter(
        name="environments", axis=True, default=[], title="Environments",
        description="Python environments to measure each case in, as locks (segtasks.envs): "
                    "a lock's name, its sha256 or a prefix of it, or \"current\" (the "
                    "environment the night runs in); [] is the current one. With one, every "
                    "case runs in it and keeps its key; with several, each is an axis of the "
                    "grid and the key names the lock (-env<sha256 prefix>; the current one "
                    "keeps its plain key). The measuring process starts with the lock's "
                    "interpreter; the harness is tonight's segtasks on every side.",
        metavar="LOCK,...",
        schema=_list_of({"type": "string", "minLength": 1, "maxLength": 250},
                        non_empty=False)))
    precision: str = field(default="fp32", metadata=parameter(
        name="precisions", axis=True, default=["fp32"], title="Precisions", runtimes=(TORCH,),
        description="fp32 (strict IEEE: TF32 off), tf32 (TF32 tensor cores for "
                    "convolutions and matmuls; CUDA, compute capability 8.0+), or autocast to "
                    "bf16 / fp16 (fp16 and tf32 on CUDA only; bf16 on CUDA needs native "
                    "support; other combinations are recorded as skipped).",
        schema=_list_of({"type": "string", "enum": list(PRECISIONS)},
                        examples=list(PRECISIONS))))
    channels_last: bool = field(default=False, metadata=parameter(
        axis=True, default=[False], title="Memory formats (channels_last)", runtimes=(TORCH,),
        description="Memory formats to try: false (contiguous, NCHW), true (channels_last, "
                    "NHWC) or both.",
        schema=_list_of({"type": "boolean"}, examples=[False, True],
                        # the form's labels, keyed as the form spells the values
                        values_display={"false": "contiguous (NCHW)",
                                        "true": "channels_last (NHWC)"})))
    compile: str = field(default="none", metadata=parameter(
        axis=True, default=["none"], title="torch.compile modes", runtimes=(TORCH,),
        description="torch.compile modes to try after loading, precision and memory format: "
                    "none (eager), default, max-autotune, reduce-overhead (CUDA graphs: CUDA "
                    "only; a CPU case is recorded as skipped). The first call (compilation) "
                    "and the first compiled call are stored apart from the steady state.",
        schema=_list_of({"type": "string", "enum": list(COMPILE_MODES)},
                        examples=list(COMPILE_MODES))))
    # Precision, memory format and compile mode are PyTorch's options: for another runtime
    # the grid plans fp32, contiguous, eager only (segtasks.plan.grid), rather than a
    # skipped row for every combination. A user who asks for runtimes x compile modes wants
    # each runtime at what it can do, not a table of "onnxruntime cannot torch.compile".
    runtime: str = field(default=TORCH, metadata=parameter(
        name="runtimes", axis=True, default=[TORCH], title="Runtimes",
        description="Where the model runs: torch (PyTorch, eager or compiled as compile "
                    "says), onnxruntime (an ONNX export; CPU execution provider, CUDA and "
                    "TensorRT providers where installed) or openvino (the same export "
                    "converted; CPU only, a CUDA case is skipped). Other runtimes than torch "
                    "run fp32, contiguous, uncompiled: the precision, memory format and "
                    "compile axes apply to torch only. The export is cached and timed on its "
                    "own; outputs are checked against PyTorch fp32 eager. A runtime not "
                    "installed makes its cases skipped (pip install -e .[onnx] / "
                    ".[openvino]). Part of the case key (-onnxruntime, -openvino) except for "
                    "torch.",
        schema=_list_of({"type": "string", "enum": list(RUNTIMES)},
                        examples=list(RUNTIMES))))
    threads: int | None = field(default=None, metadata=parameter(
        name="cpu_threads", axis=True, devices=("cpu",), default=[], title="CPU threads",
        description="torch intra-op thread counts for CPU cases; [] keeps torch's default.",
        cli=("--threads",),
        schema=_list_of({"type": "integer", "minimum": 1, "maximum": MAX_THREADS},
                        non_empty=False)))
    batch_size: int = field(default=1, metadata=parameter(
        name="batch_sizes", axis=True, default=[1, 2, 4, 8, 16], title="Batch sizes",
        description="One mapped bench task per device and batch size, e.g. [1, 2, 4, 8, 16]; "
                    f"any size from 1 to {MAX_BATCH_SIZE} (the trigger form lists the usual "
                    "ones; others go in its run conf JSON).",
        schema=_list_of({"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE},
                        examples=list(USUAL_BATCH_SIZES))))
    # --- how each case is measured (the same for every case of a night) ---
    model: ModelSpec | None = field(default=None, metadata=parameter(
        title="Model", metavar="JSON",
        description="The model to measure; null is the mission's UNet++/ResNet-34 (1 "
                    "channel, 1 class, 256x256, weights from SEGBENCH_WEIGHTS). Either a "
                    "segmentation_models_pytorch model, e.g. {\"architecture\": \"Unet\", "
                    "\"encoder\": \"resnet18\", \"encoder_depth\": 5, \"decoder_channels\": "
                    "[256, 128, 64, 32, 16], \"in_channels\": 3, \"classes\": 2, "
                    "\"input_size\": [256, 256], \"weights\": \"weights/unet18.pt\"}, or "
                    "your own: {\"factory\": \"package.module:function\" (called without "
                    "arguments, returning an nn.Module), \"in_channels\", \"classes\", "
                    "\"input_size\", \"weights\"}; \"weights_sha256\" pins the file. A model "
                    "other than the default is part of the case key (-m<identity>).",
        schema=_MODEL_SCHEMA))
    cpu_affinity: tuple[int, ...] = field(default=(), metadata=parameter(
        title="CPU affinity", metavar="CORE,...",
        description="Cores (logical CPU ids) to pin each case's process to, e.g. [2, 3]; "
                    "[] leaves it unpinned. CPU cases then use one torch thread per pinned "
                    "core unless cpu_threads says otherwise. Part of the case key (-pin2..3) "
                    "when set; interference is counted on these cores.",
        schema=_list_of({"type": "integer", "minimum": 0, "maximum": MAX_CORE},
                        non_empty=False)))
    seed_images: int = field(default=32, metadata=parameter(
        name="n_images", title="Images end to end", cli=("--images",),
        description="At least this many images in each seed-style end-to-end pass "
                    "(preprocessing included), rounded up to whole batches; the input folder "
                    "is cycled through.",
        schema={"type": "integer", "minimum": 1, "maximum": 100_000}))
    end_to_end_seconds: float = field(default=2.0, metadata=parameter(
        title="End-to-end pass seconds",
        description="Each end-to-end pass also lasts at least this long (whole batches), "
                    "so that the seed-style figure is not a fraction of a second on a GPU.",
        schema={"type": "number", "minimum": 0, "maximum": 600}))
    end_to_end_passes: int = field(default=3, metadata=parameter(
        title="End-to-end passes",
        description="End-to-end passes; the seed-style columns report the median one.",
        schema={"type": "integer", "minimum": 1, "maximum": 25}))
    warmup_batches: int = field(default=3, metadata=parameter(
        title="Warm-up batches", cli=("--warmup",),
        description="Untimed batches before measuring (the first is kept as cold start).",
        schema={"type": "integer", "minimum": 0, "maximum": 100}))
    warmup_seconds: float = field(default=1.0, metadata=parameter(
        title="Warm-up seconds",
        description="Warm up for at least this long too.",
        schema={"type": "number", "minimum": 0, "maximum": 600}))
    min_batches: int = field(default=6, metadata=parameter(
        title="Minimum timed batches",
        description="At least this many timed batches (6 is the fewest that give a 95% "
                    "interval of the median).",
        schema={"type": "integer", "minimum": 6, "maximum": 100_000}))
    min_seconds: float = field(default=2.0, metadata=parameter(
        title="Minimum timed seconds",
        description="Measure each case for at least this long.",
        schema={"type": "number", "minimum": 0.01, "maximum": 3600}))
    max_seconds: float = field(default=30.0, metadata=parameter(
        title="Time cap (s)",
        description="Stop measuring a case here even if its median is not pinned down; "
                    "it is then recorded as not stable.",
        schema={"type": "number", "minimum": 0.01, "maximum": 3600}))
    ci_target: float = field(default=0.02, metadata=parameter(
        title="Target precision", metavar="FRACTION",
        description="Stop early once the 95% interval of the median batch latency is "
                    "within +- this fraction.",
        schema={"type": "number", "minimum": 0.001, "maximum": 0.5}))
    max_interference: float = field(default=0.10, metadata=parameter(
        title="Maximum interference",
        description="A case whose cores in use were taken by other processes more than this "
                    "share of the timed loop is disturbed: it is re-measured once in a fresh "
                    "process, then stored as not valid. A busy loop on one of N cores in use "
                    "takes 1/(2N) to 1/N of them (25-50% of 2 cores); 1 turns the check off.",
        schema={"type": "number", "exclusiveMinimum": 0, "maximum": 1}))
    max_steal: float = field(default=0.05, metadata=parameter(
        title="Maximum steal",
        description="The same for the hypervisor's steal time on the cores in use: above "
                    "this share the case is disturbed (a 5% slowdown from steal alone could "
                    "pass for a regression); 1 turns the check off.",
        schema={"type": "number", "exclusiveMinimum": 0, "maximum": 1}))

    repeats: int = field(default=1, metadata=parameter(
        title="Processes per case",
        description="Measure each case in this many fresh processes and pool them (median; "
                    "the interval holds the process-to-process spread). Screened cases are "
                    "measured again anyway (confirm_repeats), so 1 keeps an ordinary night "
                    "short; more suits a series whose processes disagree.",
        schema={"type": "integer", "minimum": 1, "maximum": 10}))

    def __post_init__(self) -> None:
        # a run conf (JSON) gives a list; the case keeps a sorted tuple, so it stays hashable
        # and [3, 2] and [2, 3] are the same case
        object.__setattr__(self, "cpu_affinity", tuple(sorted(set(self.cpu_affinity))))
        # a run conf (JSON) gives the model as an object; the case keeps the frozen spec
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", ModelSpec.from_dict(self.model))

    @property
    def model_spec(self) -> ModelSpec:
        """The model this case measures: its spec, or the mission's default."""
        return spec_or_default(self.model)

    @property
    def effective_threads(self) -> int | None:
        """torch intra-op threads of a CPU case: as asked, else one per pinned core."""
        if self.threads is not None:
            return self.threads
        return len(self.cpu_affinity) or None

    @property
    def key(self) -> str:
        """Identity of the case, stable across nights so that history can be joined."""
        key = f"{self.device}-bs{self.batch_size}-{self.precision}"
        if self.lock_sha256 is not None:  # one of several environments, not the current one
            key += f"-env{self.lock_sha256[:LOCK_KEY_CHARS]}"
        if self.channels_last:
            key += "-cl"
        if self.compile != "none":  # eager keeps the key it had before compilation existed
            key += "-compile" if self.compile == "default" else f"-compile-{self.compile}"
        if self.runtime != TORCH:  # torch keeps the key it had before runtimes existed
            key += f"-{self.runtime}"
        if self.threads is not None:
            key += f"-t{self.threads}"
        if self.cpu_affinity:
            key += f"-pin{cores_text(self.cpu_affinity)}"
        if not is_default(self.model):  # the mission's model keeps the keys it always had
            assert self.model is not None
            key += f"-m{self.model.identity()}"
        return key

    @property
    def label(self) -> str:
        """Short, readable name for logs and Airflow's mapped task list."""
        return self.key.replace("-bs", " bs=").replace("-", " ")

    def to_dict(self) -> dict[str, Any]:
        """The case as JSON has it (XCom, the worker's job file, the stored column)."""
        return {**asdict(self), "cpu_affinity": list(self.cpu_affinity),
                "model": None if self.model is None else self.model.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def cores_text(cores: tuple[int, ...]) -> str:
    """Sorted core ids with runs written as ranges: (0, 1, 2, 3, 6) -> '0..3,6'."""
    parts: list[str] = []
    start = previous = None
    for core in (*cores, None):
        if core is not None and previous is not None and core == previous + 1:
            previous = core
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}..{previous}")
        start = previous = core
    return ",".join(parts)


# A case key as `Case.key` writes it; series_thresholds are checked against it.
CASE_KEY_PATTERN = (rf"^({'|'.join(DEVICES)})-bs[0-9]+-({'|'.join(PRECISIONS)})"
                    rf"(-env[0-9a-f]{{{LOCK_KEY_CHARS}}})?"
                    r"(-cl)?(-compile(-max-autotune|-reduce-overhead)?)?"
                    rf"(-({'|'.join(RUNTIMES[1:])}))?(-t[0-9]+)?"
                    r"(-pin[0-9][0-9.,]*)?"
                    rf"(-m[0-9a-f]{{{IDENTITY_CHARS}}})?$")
