"""Which configuration to ship: per device and hardware, the Pareto front of a run's cases
and the best one under a memory budget and a p90 latency target.

The front spans runtimes (PyTorch, ONNX Runtime, OpenVINO: segtasks.runtimes): a case in
any of them competes with every other of its device. The candidates are the cases that were
measured (status ok), that the machine left alone
(valid is not false) and, where output parity is stored, whose outputs are within
tolerance (parity_ok is not false). Each is scored on four objectives:

- images/s (higher is better);
- p90 batch latency (lower), stored only from 100 timed batches on;
- peak memory (lower): on CUDA the steady-state peak reserved by PyTorch (the seed's "CUDA
  Memory Consumption"), on the CPU the case process's peak RSS;
- energy per image (lower): the GPU's, or the CPU package's (RAPL), where it was read.

A case *dominates* another when it is at least as good on every objective both have and
better on one of them; an objective one of the two lacks is not compared, so a missing p90
or energy reading neither wins nor loses. The front is every candidate no other dominates.
The view v_recommendations (migration 0011) computes the same front in SQL.

The best configuration under constraints is the candidate with the most images/s whose
memory fits the budget and whose p90 meets the target (a case without a p90 cannot show that
it does); ties go to the lower p90, then the lower memory. Its speed-up is against the
PyTorch fp32 eager case of the same run, hardware, device, batch size and threads.
`runtime_gains` says, per runtime other than torch, that speed-up at each batch size (its
fastest valid case there), whatever its parity: a runtime outside tolerance is named so.

Pure Python over stored rows (any object with the results table's attributes); no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from segtasks.domain.records import Result

GIB = 2**30


@dataclass(frozen=True)
class Constraints:
    """What the best configuration must meet; None: no constraint."""

    memory_budget_gib: float | None = None
    latency_target_ms: float | None = None

    @classmethod
    def from_conf(cls, conf: Mapping[str, Any] | None) -> Constraints:
        """From a run's stored conf (runs.params); runs from before the parameters had none."""
        conf = conf or {}
        return cls(conf.get("memory_budget_gib"), conf.get("latency_target_ms"))

    def describe(self) -> str | None:
        parts = []
        if self.memory_budget_gib is not None:
            parts.append(f"within {self.memory_budget_gib:g} GiB")
        if self.latency_target_ms is not None:
            parts.append(f"p90 latency at most {self.latency_target_ms:g} ms")
        return " and ".join(parts) or None


@dataclass(frozen=True)
class Candidate:
    result: Result  # the stored result
    images_per_s: float
    p90_ms: float | None
    memory_bytes: float | None
    energy_j: float | None
    speedup: float | None = None  # images/s over the fp32 eager case's, same batch size
    masks_identical: float | None = None  # share of mask pixels equal to the reference's


# (attribute, True when higher is better)
OBJECTIVES = (("images_per_s", True), ("p90_ms", False), ("memory_bytes", False),
              ("energy_j", False))


def memory_of(r: Result) -> float | None:
    return r.cuda_peak_reserved_bytes if r.device == "cuda" else r.host_peak_rss_bytes


def energy_of(r: Result) -> float | None:
    return r.gpu_energy_j_per_image if r.device == "cuda" else r.cpu_energy_j_per_image


def eligible(r: Result) -> bool:
    """Measured, left alone, and with outputs within tolerance where parity is known."""
    return (r.status == "ok" and r.images_per_s is not None and r.valid is not False
            and getattr(r, "parity_ok", None) is not False)


def runtime_of(r: Result) -> str:
    return getattr(r, "runtime", None) or "torch"  # rows from before runtimes: torch


def _is_reference(r: Result) -> bool:
    """PyTorch fp32 eager: what every configuration, in any runtime, is measured against."""
    return (r.precision == "fp32" and not r.channels_last
            and getattr(r, "compile", "none") == "none" and runtime_of(r) == "torch")


def candidates(results: Sequence[Result]) -> list[Candidate]:
    """The eligible results as candidates, each with its speed-up over fp32 eager."""
    chosen = [r for r in results if eligible(r)]
    reference = {(r.run_pk, r.hardware_key, r.device, r.batch_size, r.threads): r.images_per_s
                 for r in chosen if _is_reference(r)}
    found = []
    for r in chosen:
        if (images_per_s := r.images_per_s) is None:
            continue  # not eligible
        base = reference.get((r.run_pk, r.hardware_key, r.device, r.batch_size, r.threads))
        mismatch = getattr(r, "parity_mask_mismatch", None)
        found.append(Candidate(
            result=r, images_per_s=images_per_s, p90_ms=r.latency_p90_ms,
            memory_bytes=memory_of(r), energy_j=energy_of(r),
            speedup=images_per_s / base if base else None,
            masks_identical=None if mismatch is None else 1 - mismatch))
    return found


def dominates(a: Candidate, b: Candidate) -> bool:
    """a is at least as good as b on every objective both have, and better on one."""
    better = False
    for name, higher in OBJECTIVES:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            continue
        if (x < y) if higher else (x > y):
            return False
        better = better or x != y
    return better


def pareto_front(found: Sequence[Candidate]) -> list[Candidate]:
    """The candidates no other dominates, fastest first."""
    front = [c for c in found if not any(dominates(o, c) for o in found if o is not c)]
    return sorted(front, key=lambda c: -c.images_per_s)


def _fits(c: Candidate, limits: Constraints) -> bool:
    if limits.memory_budget_gib is not None and (
            c.memory_bytes is None or c.memory_bytes > limits.memory_budget_gib * GIB):
        return False
    return limits.latency_target_ms is None or (
        c.p90_ms is not None and c.p90_ms <= limits.latency_target_ms)


def best_under(found: Sequence[Candidate], limits: Constraints) -> Candidate | None:
    """The fastest candidate that meets the constraints, or None."""
    fitting = [c for c in found if _fits(c, limits)]
    if not fitting:
        return None
    return min(fitting, key=lambda c: (-c.images_per_s,
                                       c.p90_ms if c.p90_ms is not None else float("inf"),
                                       c.memory_bytes if c.memory_bytes is not None
                                       else float("inf")))


def configuration(r: Result) -> str:
    """precision + layout + compile (or the runtime and what ran it), and CPU threads where
    set: how to reproduce the case."""
    mode, runtime = getattr(r, "compile", "none"), runtime_of(r)
    if runtime != "torch":
        provider = getattr(r, "runtime_provider", None)
        parts = [runtime + (f" ({provider})" if provider else ""), r.precision]
    else:
        parts = [r.precision, "channels_last" if r.channels_last else "contiguous",
                 "eager" if mode == "none" else f"compile {mode}"]
    text = " + ".join(parts)
    return text + (f" with {r.threads} threads" if r.threads is not None else "")


def hardware_name(r: Result) -> str:
    env = getattr(r, "environment", None)
    name = None
    if env is not None:
        name = env.gpu_name if r.device == "cuda" else env.cpu_model
    return name or r.hardware_key or r.device


def sentence(c: Candidate) -> str:
    """'on <hardware>, <precision> + <layout> + <compile> at batch size N: X times the fp32
    eager throughput, masks Y% identical, Z GiB', from the measured figures."""
    r = c.result
    speed = (f"{c.speedup:.2f} times the fp32 eager throughput" if c.speedup is not None
             else "fp32 eager not measured at this batch size")
    parts = [f"on {hardware_name(r)}, {configuration(r)} at batch size {r.batch_size}: "
             f"{speed} ({c.images_per_s:.4g} images/s"
             + (f", p90 {c.p90_ms:.4g} ms)" if c.p90_ms is not None else ")")]
    if c.masks_identical is not None:
        parts.append(f"masks {c.masks_identical:.2%} identical")
    if c.memory_bytes is not None:
        parts.append(f"{c.memory_bytes / GIB:.2f} GiB")
    return ", ".join(parts)


@dataclass(frozen=True)
class Recommendation:
    """One device on one machine: its front, and the best case under the constraints."""

    hardware_key: str | None
    device: str
    hardware: str
    front: list[Candidate]
    best: Candidate | None
    limits: Constraints
    considered: int  # eligible cases

    @property
    def text(self) -> str:
        under = self.limits.describe()
        if self.best is None:
            return (f"on {self.hardware} ({self.device}), no configuration of the "
                    f"{self.considered} measured is {under}")
        prefix = f"Best {under}: " if under else "Fastest: "
        return prefix + sentence(self.best)


def recommend(results: Sequence[Result], limits: Constraints) -> list[Recommendation]:
    """A recommendation per (hardware, device) with at least one eligible case."""
    found = candidates(results)
    groups: dict[tuple[str | None, str], list[Candidate]] = {}
    for c in found:
        groups.setdefault((c.result.hardware_key, c.result.device), []).append(c)
    return [Recommendation(hardware_key=key, device=device,
                           hardware=hardware_name(group[0].result),
                           front=pareto_front(group), best=best_under(group, limits),
                           limits=limits, considered=len(group))
            for (key, device), group in sorted(groups.items(), key=lambda g: (g[0][1],
                                                                               g[0][0] or ""))]


def _fmt(value: float | None, spec: str, scale: float = 1.0) -> str:
    return "-" if value is None else format(value / scale, spec)


def front_rows(rec: Recommendation) -> list[dict[str, str]]:
    """The front as a table, fastest first; the best case is marked."""
    return [{
        "Case": c.result.case_key,
        "Configuration": configuration(c.result),
        "Batch Size": str(c.result.batch_size),
        "Inference img/s": _fmt(c.images_per_s, ".4g"),
        "× fp32 eager": _fmt(c.speedup, ".2f"),
        "p90 Latency (ms)": _fmt(c.p90_ms, ".4g"),
        "Peak Memory (GiB)": _fmt(c.memory_bytes, ".3f", GIB),
        "J/img": _fmt(c.energy_j, ".3g"),
        "Masks identical": _fmt(c.masks_identical, ".2%"),
        "Runtime": runtime_of(c.result),
        "Compile (s)": _fmt(getattr(c.result, "compile_seconds", None), ".1f"),
        "Export (s)": _fmt(getattr(c.result, "export_seconds", None), ".1f"),
        "Best": "yes" if rec.best is not None and c.result is rec.best.result else "",
    } for c in rec.front]


NOTE = ("Recommendation: among cases measured ok, not disturbed and (where output parity is "
        "stored) within tolerance, the Pareto front over images/s, p90 latency, peak memory "
        "(CUDA: steady-state reserved; CPU: process RSS) and energy per image (where read); "
        "an objective a case lacks is not compared; it spans runtimes (torch, onnxruntime, "
        "openvino). '× fp32 eager' is against the PyTorch fp32 eager case of the same batch "
        "size. The budget and target are the run parameters "
        "memory_budget_gib and latency_target_ms.")


GAINS_TITLE = "Runtimes against PyTorch eager"


@dataclass(frozen=True)
class RuntimeGain:
    """What one runtime gains over PyTorch eager on one device and machine, per batch size:
    images/s over the fp32 eager case's, and whether its outputs were within tolerance."""

    hardware_key: str | None
    device: str
    runtime: str
    ratios: tuple[tuple[int, float], ...]  # (batch size, x eager), by batch size
    outside_tolerance: tuple[int, ...] = ()  # batch sizes whose outputs differ

    @property
    def text(self) -> str:
        ratios = ", ".join(f"{ratio:.2f}x eager at bs{bs}" for bs, ratio in self.ratios)
        text = f"{self.runtime} ({self.device}): {ratios or 'no PyTorch eager case to compare'}"
        if self.outside_tolerance:
            sizes = ", ".join(f"bs{bs}" for bs in self.outside_tolerance)
            text += f"; outputs outside tolerance at {sizes} (not recommended)"
        return text


def runtime_gains(results: Sequence[Result]) -> list[RuntimeGain]:
    """Per (hardware, device, runtime other than torch): its fastest measured, undisturbed
    case at each batch size over PyTorch fp32 eager's at that batch size (and threads)."""
    measured = [r for r in results
                if r.status == "ok" and r.images_per_s is not None and r.valid is not False]
    eager = {(r.hardware_key, r.device, r.batch_size, r.threads): r.images_per_s
             for r in measured if _is_reference(r)}
    best: dict[tuple[str | None, str, str], dict[int, Result]] = {}
    for r in measured:
        if runtime_of(r) == "torch":
            continue
        sizes = best.setdefault((r.hardware_key, r.device, runtime_of(r)), {})
        if r.batch_size not in sizes or (r.images_per_s or 0) > (
                sizes[r.batch_size].images_per_s or 0):
            sizes[r.batch_size] = r
    gains = []
    for (hardware, device, runtime), sizes in sorted(
            best.items(), key=lambda g: (g[0][1], g[0][0] or "", g[0][2])):
        ratios, outside = [], []
        for bs, r in sorted(sizes.items()):
            base = eager.get((hardware, device, bs, r.threads))
            if base and r.images_per_s is not None:
                ratios.append((bs, r.images_per_s / base))
            if getattr(r, "parity_ok", None) is False:
                outside.append(bs)
        gains.append(RuntimeGain(hardware, device, runtime, tuple(ratios), tuple(outside)))
    return gains
