"""The run parameters users may set, with defaults and JSON schema.

Airflow renders the trigger form from these schemas and validates against them;
the CLI uses the same defaults, and segtasks.grid re-checks the grid itself so a
hand-written run conf gets the same clear message.
"""

from __future__ import annotations

from typing import Any

from segtasks.grid import DEVICES, MAX_BATCH_SIZE, MAX_THREADS, PRECISIONS

SCHEMAS: dict[str, dict[str, Any]] = {
    "devices": {
        "default": ["cpu", "cuda"], "type": "array", "title": "Devices",
        # `examples` makes the form a multi-select; `items.enum` makes the API reject typos.
        "examples": list(DEVICES), "items": {"type": "string", "enum": list(DEVICES)},
        "minItems": 1, "uniqueItems": True,
        "description": "Devices to benchmark. A CUDA case on a worker without a GPU is "
                       "recorded as skipped, never run on the CPU instead.",
    },
    "batch_sizes": {
        "default": [1, 2, 4, 8, 16], "type": "array", "title": "Batch sizes",
        "items": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE},
        "minItems": 1, "uniqueItems": True,
        "description": "One mapped bench task per device and batch size, e.g. [1, 2, 4, 8, 16].",
    },
    "precisions": {
        "default": ["fp32"], "type": "array", "title": "Precisions",
        "examples": list(PRECISIONS), "items": {"type": "string", "enum": list(PRECISIONS)},
        "minItems": 1, "uniqueItems": True,
        "description": "fp32, or autocast to bf16 / fp16 (fp16 on CUDA only; a CPU fp16 "
                       "case is recorded as skipped).",
    },
    "channels_last": {
        "default": [False], "type": "array", "title": "channels_last",
        "items": {"type": "boolean"}, "minItems": 1, "uniqueItems": True,
        "description": "Memory formats to try: [false], [true] or [false, true].",
    },
    "cpu_threads": {
        "default": [], "type": "array", "title": "CPU threads",
        "items": {"type": "integer", "minimum": 1, "maximum": MAX_THREADS},
        "uniqueItems": True,
        "description": "torch intra-op thread counts for CPU cases; [] keeps torch's default.",
    },
    "n_images": {
        "default": 32, "type": "integer", "minimum": 1, "maximum": 100_000,
        "title": "Images end to end",
        "description": "Images in the seed-style end-to-end pass (preprocessing included), "
                       "rounded up to whole batches; the input folder is cycled through.",
    },
    "warmup_batches": {
        "default": 3, "type": "integer", "minimum": 0, "maximum": 100,
        "title": "Warm-up batches",
        "description": "Untimed batches before measuring (the first is kept as cold start).",
    },
    "warmup_seconds": {
        "default": 1.0, "type": "number", "minimum": 0, "maximum": 600,
        "title": "Warm-up seconds", "description": "Warm up for at least this long too.",
    },
    "min_batches": {
        "default": 6, "type": "integer", "minimum": 6, "maximum": 100_000,
        "title": "Minimum timed batches",
        "description": "At least this many timed batches (6 is the fewest that give a 95% "
                       "interval of the median).",
    },
    "min_seconds": {
        "default": 2.0, "type": "number", "minimum": 0.01, "maximum": 3600,
        "title": "Minimum timed seconds",
    },
    "max_seconds": {
        "default": 30.0, "type": "number", "minimum": 0.01, "maximum": 3600,
        "title": "Time cap (s)",
        "description": "Stop measuring a case here even if its median is not pinned down; "
                       "it is then recorded as not stable.",
    },
    "ci_target": {
        "default": 0.02, "type": "number", "minimum": 0.001, "maximum": 0.5,
        "title": "Target precision",
        "description": "Stop early once the 95% interval of the median batch latency is "
                       "within +- this fraction.",
    },
    "min_effect": {
        "default": 0.05, "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1,
        "title": "Minimum effect (speed)",
        "description": "Smallest relative change of images/s or p90 latency that is flagged.",
    },
    "memory_min_effect": {
        "default": 0.02, "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1,
        "title": "Minimum effect (memory)",
        "description": "Smallest relative change of CUDA peak memory or host RSS that is "
                       "flagged; memory is nearly deterministic, so the band is tight.",
    },
    "z_threshold": {
        "default": 3.0, "type": "number", "minimum": 1, "maximum": 20,
        "title": "Noise threshold (robust z)",
        "description": "A change must also lie this many noise units (MAD of the baseline "
                       "nights combined with tonight's interval) from the baseline.",
    },
    "series_thresholds": {
        "default": {}, "type": "object", "title": "Per-series thresholds",
        "description": 'Overrides per case key, e.g. {"cpu-bs1-fp32": {"images_per_s": '
                       '{"min_effect": 0.08, "z_threshold": 4}}}.',
    },
    "baseline_runs": {
        "default": 7, "type": "integer", "minimum": 1, "maximum": 100,
        "title": "Baseline nights (K)",
        "description": "How many earlier good nights of the same case and hardware form the "
                       "baseline.",
    },
    "min_history": {
        "default": 3, "type": "integer", "minimum": 1, "maximum": 100,
        "title": "Minimum history",
        "description": "Fewer baseline nights than this give `insufficient_history`.",
    },
    "fail_on_regression": {
        "default": True, "type": "boolean", "title": "Fail on regression",
        "description": "Fail the DAG run when a regression is found, so alerting fires.",
    },
}

DEFAULTS: dict[str, Any] = {name: schema["default"] for name, schema in SCHEMAS.items()}
