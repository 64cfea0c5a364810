"""Building stored results without running the model, for store, compare and report tests."""

from __future__ import annotations

from segtasks.plan.case import Case
from segtasks.result import (
    CaseResult,
    Latency,
    Memory,
    Phases,
    Telemetry,
    Throughput,
    Validity,
)

HARDWARE = "cpu=Test CPU (2 threads); gpu=none"


def result(device="cpu", batch_size=1, images_per_s=10.0, status="ok", hardware=HARDWARE,
           reason=None, samples=(100.0, 102.0, 98.0), reserved=None, environment=None,
           p90_ms=101.6, disturbed=None) -> CaseResult:
    """A stored-result stand-in; `disturbed` (a cause) makes it measured but not valid."""
    case = Case(device=device, batch_size=batch_size, seed_images=4, warmup_batches=1)
    if status != "ok":
        return CaseResult(case=case, status=status, reason=reason or status,
                          hardware_key=hardware, environment={"hardware_key": hardware})
    n = 4
    total = n / images_per_s
    return CaseResult(
        case=case, status="ok", hardware_key=hardware,
        environment=environment or {"hardware_key": hardware, "software": {"torch": "2.15.0"}},
        latency=Latency(
            n_batches=n // batch_size, n_images=n, total_s=total, mean_ms=100.0, p50_ms=100.0,
            p90_ms=p90_ms, p95_ms=101.8, p99_ms=102.0, std_ms=2.0, iqr_ms=2.0, cv=0.02,
            min_ms=98.0, max_ms=102.0, ci_low_ms=98.0, ci_high_ms=102.0, ci_rel=0.02,
            stable=True, stop_reason="stable"),
        phases=Phases(preprocess_ms=1.0, h2d_ms=0.0, forward_ms=99.0, postprocess_ms=1.0,
                      cold_start_ms=300.0, load_s=0.5),
        throughput=Throughput(
            images_per_s=images_per_s, ms_per_image=total * 1e3 / n, end_to_end_s=total,
            end_to_end_images=n, gflop_per_image=36.1, gflops_per_s=36.1 * images_per_s),
        memory=Memory(
            cuda_peak_allocated_bytes=reserved and reserved // 2,
            cuda_model_bytes=reserved and reserved // 4,
            cuda_peak_reserved_bytes=reserved, host_peak_rss_bytes=2**30),
        telemetry=Telemetry(),
        validity=Validity(valid=disturbed is None, validity_reason=disturbed,
                          interference=0.48 if disturbed else 0.01, steal=0.0, cores_in_use=2,
                          attempts=2 if disturbed else 1),
        latencies_ms=list(samples), phases_ms=[[1.0, 0.0, ms - 1.0, 1.0] for ms in samples],
    )


def judge(engine, run_pk, **conf):
    """The verdicts of a stored run, with the thresholds production builds from `conf`
    (the run parameters; defaults where left out), stored as the nightly stores them.
    Confirmation is off unless `confirm_repeats` is given: these stored nights have no
    confirming processes, and the verdict should say it was not asked for."""
    from segtasks.judge.stored import judge_run
    from segtasks.plan import validate

    return judge_run(engine, run_pk, validate({"confirm_repeats": 0, **conf}).judging)[1]
