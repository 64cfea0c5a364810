import signal

import pytest
import torch

from segtasks import runner
from segtasks.grid import Case
from segtasks.result import CaseResult
from segtasks.runner import run_case, run_case_isolated

pytestmark = pytest.mark.slow


def _case(device="cpu", batch_size=2, n_images=3, warmup=1):
    return Case(device=device, batch_size=batch_size, n_images=n_images, warmup_batches=warmup)


def test_ok_case_times_whole_batches_after_warmup(tiny_inputs, weights_file):
    result = run_case(_case(), tiny_inputs, weights_file)
    assert result.status == "ok", result.reason
    # 3 images in batches of 2 -> 2 full batches, 4 images; the warm-up batch is not among them
    assert (result.n_batches, result.n_images, len(result.latencies_ms)) == (2, 4, 2)
    assert result.total_s == pytest.approx(sum(result.latencies_ms) / 1e3)
    assert result.ms_per_image == pytest.approx(result.total_s * 1e3 / 4)
    assert result.images_per_s == pytest.approx(4 / result.total_s)
    assert result.latency_min_ms <= result.latency_p50_ms <= result.latency_p90_ms
    assert result.latency_p90_ms <= result.latency_max_ms
    assert result.cold_start_ms > 0 and result.load_s > 0 and result.preprocess_s > 0
    assert result.cuda_peak_allocated_bytes is None  # a CPU case has no CUDA peak, not a zero
    assert result.host_peak_rss_bytes > 100 * 2**20
    assert result.weights_sha256 and len(result.dataset_fingerprint) == 16
    assert result.hardware_key.startswith("cpu=")
    assert {"hardware", "software", "settings", "code_version"} <= set(result.environment)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_skipped_with_the_reason_never_run_on_cpu(tiny_inputs,
                                                                          weights_file):
    result = run_case(_case(device="cuda"), tiny_inputs, weights_file)
    assert result.status == "skipped"
    assert "CUDA requested" in result.reason
    assert result.images_per_s is None and result.latencies_ms == []


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: "
                     "can't allocate memory: you tried to allocate 1234 bytes"),
    ],
)
def test_out_of_memory_is_recorded_as_oom_not_raised(tiny_inputs, weights_file, monkeypatch,
                                                    error):
    def exhausted(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(runner, "postprocess", exhausted)
    result = run_case(_case(), tiny_inputs, weights_file)
    assert result.status == "oom"
    assert str(error).splitlines()[0][:30] in result.reason
    assert result.images_per_s is None


def test_any_other_failure_is_recorded_as_error(tiny_inputs, weights_file, monkeypatch,
                                                tmp_path):
    monkeypatch.setattr(runner, "postprocess", lambda *a: 1 / 0)
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
    reason = runner._crash_reason(-signal.SIGKILL, "")
    assert "killed by SIGKILL" in reason and "OOM killer" in reason
    assert "exited with code 3" in runner._crash_reason(3, "boom")


def test_a_case_past_its_time_limit_is_an_error(tiny_inputs, weights_file):
    result = run_case_isolated(_case(), tiny_inputs, weights_file, timeout_s=0.5)
    assert result.status == "error"
    assert result.reason == "case did not finish within 0.5 s"
