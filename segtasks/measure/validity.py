"""Whether a measured case may be trusted: the machine left it alone while it was timed.

Disturbed, with the cause named, when any of these held during the timed loop:
- other processes used more than `max_interference` of the cores in use;
- the hypervisor's steal time on them exceeded `max_steal`;
- another process had a context on the GPU;
- the GPU cut its clocks for a harmful reason (hardware slowdown, thermal, power brake) in
  at least `MAX_THROTTLED_SHARE` of the samples. A software power cap is normal under full
  load: recorded, not held against the case.
No torch here (the launcher reads the outcome; the worker decides it).
"""

from __future__ import annotations

from segtasks.measure.interference import Interference
from segtasks.result import Validity

MAX_THROTTLED_SHARE = 0.05


def judge(cpu: Interference | None, *, max_interference: float, max_steal: float,
          gpu_others: list[tuple[int, int | None]] | None = None,
          gpu_unidentified: int = 0, harmful_reasons: list[str] | None = None,
          throttled_share: float | None = None) -> Validity:
    """The validity of one attempt, from what was watched (see the module docstring)."""
    causes = []
    if cpu is not None and max_interference < 1 and cpu.interference > max_interference:
        causes.append(f"other processes used {cpu.interference:.0%} of the cores in use "
                      f"(at most {max_interference:.0%} allowed)")
    if cpu is not None and max_steal < 1 and cpu.steal > max_steal:
        causes.append(f"the hypervisor took {cpu.steal:.0%} of the cores in use as steal time "
                      f"(at most {max_steal:.0%} allowed)")
    if gpu_others:
        listed = ", ".join(f"pid {pid}" + ("" if used is None else f" ({used / 2**20:.0f} MiB)")
                           for pid, used in gpu_others)
        causes.append(f"another process was using the GPU: {listed}")
    if gpu_unidentified:
        causes.append(f"{gpu_unidentified} other process(es) started on the GPU with this one")
    if harmful_reasons and (throttled_share or 0) >= MAX_THROTTLED_SHARE:
        causes.append(f"the GPU cut its clocks ({', '.join(harmful_reasons)}) in "
                      f"{throttled_share:.0%} of the samples")
    return Validity(
        valid=not causes, validity_reason="; ".join(causes) or None,
        interference=None if cpu is None else cpu.interference,
        steal=None if cpu is None else cpu.steal,
        cores_in_use=None if cpu is None else cpu.cores_in_use)
