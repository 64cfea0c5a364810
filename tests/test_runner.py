import signal

import pytest
import torch

from segtasks import launch
from segtasks.launch.isolated import crash_reason, run_case_isolated
from segtasks.measure import protocol
from segtasks.measure.case_runner import run_case
from segtasks.plan.case import Case
from segtasks.result import CaseResult

pytestmark = pytest.mark.slow


def _case(device="cpu", batch_size=2, n_images=3, warmup=1, **options):
    # a fast protocol: the tests check accounting, not the machine's speed
    return Case(device=device, batch_size=batch_size, seed_images=n_images, warmup_batches=warmup,
                warmup_seconds=0, min_batches=6, min_seconds=0.01, max_seconds=0.5,
                end_to_end_seconds=0, end_to_end_passes=1, **options)


def test_ok_case_accounts_for_every_batch_and_phase(tiny_inputs, weights_file):
    result = run_case(_case(), tiny_inputs, weights_file)
    assert result.status == "ok", result.reason
    latency, phases, speed, memory = (result.latency, result.phases, result.throughput,
                                      result.memory)
    n = len(result.latencies_ms)
    assert n == latency.n_batches >= 6 and latency.n_images == 2 * n
    assert latency.stop_reason in ("stable", "time_cap")
    assert latency.stable == (latency.stop_reason == "stable")
    # a batch's latency is exactly its device phases; the means add up the same way
    for total, (pre, h2d, forward, post) in zip(result.latencies_ms, result.phases_ms,
                                                strict=True):
        assert total == pytest.approx(h2d + forward + post)
        assert pre > 0
    assert latency.mean_ms == pytest.approx(
        phases.h2d_ms + phases.forward_ms + phases.postprocess_ms)
    assert latency.total_s == pytest.approx(sum(result.latencies_ms) / 1e3)
    assert speed.images_per_s == pytest.approx(2 * 1e3 / latency.p50_ms)
    assert speed.ms_per_image == pytest.approx(latency.p50_ms / 2)
    assert latency.min_ms <= latency.p50_ms <= latency.max_ms
    # too few batches for percentiles: none rather than an interpolation from a handful
    assert n >= 100 or latency.p90_ms is None
    assert latency.autocorr is None or -1 <= latency.autocorr <= 1
    # the seed's figure: 3 images -> 2 whole batches of 2, preprocessing included
    assert speed.end_to_end_images == 4 and speed.end_to_end_s > 0
    assert speed.gflop_per_image == pytest.approx(36.11, abs=0.01)
    # the model's own rate: from the forward phase, not the whole batch
    forward = sorted(p[2] for p in result.phases_ms)
    median_forward = (forward[(n - 1) // 2] + forward[n // 2]) / 2
    assert speed.gflops_per_s == pytest.approx(36.11086 * 2 * 1e3 / median_forward, rel=1e-3)
    assert speed.gflops_per_s > 36.11086 * speed.images_per_s
    assert speed.pct_of_peak is None  # no known peak for a CPU: none rather than a guess
    assert phases.cold_start_ms > 0 and phases.load_s > 0
    assert memory.cuda_peak_allocated_bytes is None  # a CPU case has no CUDA peak, not a zero
    assert memory.host_peak_rss_bytes > 100 * 2**20
    # watched while timed: the share of the cores others took, or why it was not measured
    validity = result.validity
    assert validity.cores_in_use == len(result.environment["settings"]["cpu_affinity"])
    assert 0 <= validity.interference <= 1.05 and validity.steal >= 0
    assert validity.valid == (validity.interference <= 0.10 and validity.steal <= 0.05)
    assert result.telemetry.cpu_energy_j_per_image is not None or \
        result.telemetry.cpu_energy_reason
    assert result.weights_sha256 and len(result.dataset_fingerprint) == 16
    assert result.hardware_key.startswith("cpu=")
    # flattened, the parts are the table's columns
    columns = result.columns()
    assert columns["latency_p90_ms"] == latency.p90_ms and columns["images_per_s"] == \
        speed.images_per_s


def test_fingerprint_has_the_keys_it_promises(tiny_inputs, weights_file):
    env = run_case(_case(batch_size=1, n_images=1), tiny_inputs, weights_file).environment
    hardware = {"cpu_model", "logical_cores", "physical_cores", "ram_bytes", "gpus"}
    software = {"python", "os", "nvidia_driver", "cuda_runtime", "cudnn", "torch",
                "torchvision", "segmentation-models-pytorch", "numpy", "opencv-python-headless"}
    settings = {"torch_threads", "torch_interop_threads", "cudnn_benchmark", "cudnn_allow_tf32",
                "matmul_allow_tf32", "fp32_precision_api", "cpu_affinity", "OMP_NUM_THREADS",
                "MKL_NUM_THREADS"}
    assert hardware <= set(env["hardware"])
    assert software <= set(env["software"])
    assert settings <= set(env["settings"])
    assert env["code_version"] and env["hardware_key"].startswith("cpu=")


def test_options_change_the_work_and_the_case_key(tiny_inputs, weights_file):
    case = _case(batch_size=1, n_images=1, precision="bf16", channels_last=True, threads=1)
    result = run_case(case, tiny_inputs, weights_file)
    assert result.status == "ok", result.reason
    assert case.key == "cpu-bs1-bf16-cl-t1"
    assert result.environment["settings"]["torch_threads"] == 1


def test_fp16_on_cpu_is_skipped_with_the_reason(tiny_inputs, weights_file):
    result = run_case(_case(precision="fp16"), tiny_inputs, weights_file)
    assert (result.status, result.reason) == (
        "skipped", "fp16 autocast is a CUDA option here; on the CPU use bf16")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_skipped_with_the_reason_never_run_on_cpu(tiny_inputs,
                                                                          weights_file):
    result = run_case(_case(device="cuda"), tiny_inputs, weights_file)
    assert result.status == "skipped"
    assert "CUDA requested" in result.reason
    assert result.throughput is None and result.latencies_ms == []


def test_cuda_on_a_machine_without_an_nvidia_driver_is_skipped_without_a_process(
        tmp_path, monkeypatch):
    from segtasks.launch import isolated
    from segtasks.measure import failures

    def no_process(*_args, **_kwargs):
        raise AssertionError("a case this machine cannot run needs no process")

    monkeypatch.setattr(isolated, "run_streamed", no_process)
    monkeypatch.setattr(failures, "NVIDIA_DRIVER_FILES", (str(tmp_path / "no-driver"),))
    monkeypatch.setattr(isolated, "no_nvidia_driver", failures.no_nvidia_driver)
    result = run_case_isolated(_case(device="cuda"), tmp_path, tmp_path)
    assert result.status == "skipped" and result.throughput is None
    assert result.reason.startswith("CUDA requested, but this machine has no NVIDIA driver")
    assert result.hardware_key and result.environment["software"]["torch"]  # joins its series
    # where a driver's file is there, torch decides in the case's process
    (tmp_path / "no-driver").write_text("NVRM version: 580")
    assert failures.no_nvidia_driver() is None


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: "
                     "can't allocate memory: you tried to allocate 1234 bytes"),
        RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously "
                     "reported at some other API call"),
        RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED"),
        RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
    ],
)
def test_out_of_memory_is_recorded_as_oom_not_raised(tiny_inputs, weights_file, monkeypatch,
                                                    error):
    def exhausted(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(protocol, "postprocess", exhausted)
    result = run_case(_case(), tiny_inputs, weights_file)
    assert result.status == "oom"
    assert str(error).splitlines()[0][:30] in result.reason
    assert result.throughput is None


def test_any_other_failure_is_recorded_as_error(tiny_inputs, weights_file, monkeypatch,
                                                tmp_path):
    monkeypatch.setattr(protocol, "postprocess", lambda *a: 1 / 0)
    result = run_case(_case(), tiny_inputs, weights_file)
    assert (result.status, result.reason) == ("error", "ZeroDivisionError: division by zero")

    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_case(_case(), empty, weights_file)
    assert result.status == "error" and "no readable image" in result.reason


def test_isolated_case_comes_back_from_its_own_process(tiny_inputs, tmp_path):
    result = run_case_isolated(_case(batch_size=1, n_images=1, warmup=0), tiny_inputs,
                               tmp_path / "absent.pt")
    assert isinstance(result, CaseResult)
    assert result.status == "error" and "absent.pt not found" in result.reason


def test_a_crashed_case_process_is_an_error_that_says_how_it_died():
    reason = crash_reason(-signal.SIGKILL, "")
    assert "killed by SIGKILL" in reason and "OOM killer" in reason
    assert "exited with code 3" in crash_reason(3, "boom")


def test_a_case_past_its_time_limit_is_an_error(tiny_inputs, weights_file):
    result = run_case_isolated(_case(), tiny_inputs, weights_file, timeout_s=0.3)
    assert result.status == "error"
    assert result.reason == "case did not finish within 0.3 s"


def test_an_oom_at_one_batch_size_still_lets_the_larger_ones_run(tiny_inputs, weights_file,
                                                                 sqlite_url, monkeypatch):
    from segtasks import nightly, store

    original_run = protocol.Workload.run

    def run_unless_batch_of_two(self, images):
        if len(images) == 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        return original_run(self, images)

    # in-process instead of a fresh process, so the injected fault reaches the case
    monkeypatch.setattr(protocol.Workload, "run", run_unless_batch_of_two)
    monkeypatch.setattr(launch, "run_case_isolated",
                        lambda case, inputs, weights, timeout_s=None:
                        run_case(case, inputs, weights))
    store.upgrade(sqlite_url)
    params = {"devices": ["cpu"], "batch_sizes": [1, 2, 4], "n_images": 1,
              "warmup_batches": 0, "warmup_seconds": 0, "min_seconds": 0.01,
              "max_seconds": 0.2, "end_to_end_seconds": 0, "max_interference": 1,
              "max_steal": 1}
    night = nightly.plan(params)
    run = nightly.open_run(db_url=sqlite_url, dag_id="t", run_id="oom", trigger="cli",
                           params=night)
    for case in night.cases:
        nightly.bench(case.to_dict(), run, db_url=sqlite_url, inputs=tiny_inputs,
                      weights=weights_file)
    rows = store.repository.run_results(store.connect(sqlite_url), run.pk)
    assert [(r.batch_size, r.status) for r in rows] == [(1, "ok"), (2, "oom"), (4, "ok")]
    assert rows[1].reason.startswith("OutOfMemoryError: CUDA out of memory")
