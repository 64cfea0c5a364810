"""fp32/tf32 set explicitly with the API this torch has, what cannot run here, every form
an allocation failure takes, and the CUDA memory peaks (injected readings: no GPU here)."""

from types import SimpleNamespace

import pytest
import torch

from segtasks.measure import failures, memory, precision, protocol
from segtasks.plan.case import Case


def _new_api(conv="tf32", matmul="none"):
    """torch.backends as torch >= 2.9 has it (defaults: cuDNN convolutions in TF32)."""
    return SimpleNamespace(
        cudnn=SimpleNamespace(conv=SimpleNamespace(fp32_precision=conv),
                              rnn=SimpleNamespace(fp32_precision=conv)),
        cuda=SimpleNamespace(matmul=SimpleNamespace(fp32_precision=matmul)),
        mkldnn=SimpleNamespace(fp32_precision="none"))


def _legacy():
    """torch.backends as torch < 2.9 has it: only the allow_tf32 flags."""
    return SimpleNamespace(cudnn=SimpleNamespace(allow_tf32=True),
                           cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False)))


@pytest.mark.parametrize(("case_precision", "mode"), [("fp32", "ieee"), ("tf32", "tf32"),
                                                      ("bf16", "ieee"), ("fp16", "ieee")])
def test_fp32_math_is_set_with_the_new_api_where_torch_has_it(case_precision, mode):
    backends = _new_api()
    recorded = precision.apply(case_precision, backends)
    assert backends.cudnn.conv.fp32_precision == backends.cudnn.rnn.fp32_precision == mode
    assert backends.cuda.matmul.fp32_precision == mode
    assert backends.mkldnn.fp32_precision == "ieee"
    assert recorded == {"fp32_precision_api": "fp32_precision",
                        "cudnn_conv_fp32_precision": mode, "matmul_fp32_precision": mode,
                        "mkldnn_fp32_precision": "ieee", "cudnn_allow_tf32": mode == "tf32",
                        "matmul_allow_tf32": mode == "tf32"}


@pytest.mark.parametrize(("case_precision", "allowed"), [("fp32", False), ("tf32", True)])
def test_an_older_torch_gets_the_legacy_flags_instead(case_precision, allowed):
    backends = _legacy()
    assert not precision.has_new_api(backends)
    recorded = precision.apply(case_precision, backends)
    assert backends.cudnn.allow_tf32 is allowed and backends.cuda.matmul.allow_tf32 is allowed
    assert recorded == {"fp32_precision_api": "allow_tf32", "cudnn_allow_tf32": allowed,
                        "matmul_allow_tf32": allowed}


def test_this_torch_is_set_and_read_without_mixing_the_apis():
    if not precision.has_new_api(torch.backends):
        pytest.skip(f"torch {torch.__version__} predates the fp32_precision API")
    try:
        recorded = precision.apply("fp32")
        assert recorded["cudnn_conv_fp32_precision"] == "ieee"
        assert recorded["cudnn_allow_tf32"] is False  # PyTorch's own default would be True
    finally:
        precision.apply("tf32")  # leave cuDNN as torch's default has it (TF32 convolutions)


def _cuda_machine(monkeypatch, capability, name):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: name)


@pytest.mark.parametrize("case_precision", ["bf16", "tf32"])
def test_bf16_and_tf32_are_skipped_without_native_support_never_emulated(monkeypatch,
                                                                          case_precision):
    _cuda_machine(monkeypatch, (7, 5), "Tesla T4")
    why = failures.unsupported(Case(device="cuda", precision=case_precision))
    assert why.startswith(f"{case_precision} requested, but Tesla T4 (compute capability 7.5) "
                          "has no native")
    _cuda_machine(monkeypatch, (8, 0), "NVIDIA A100-SXM4-80GB")
    assert failures.unsupported(Case(device="cuda", precision=case_precision)) is None


def test_cpu_cases_that_cannot_run_here_say_why():
    assert failures.unsupported(Case(device="cpu", precision="tf32")) == (
        "tf32 is a CUDA tensor-core mode; on the CPU use fp32 or bf16")
    assert failures.unsupported(Case(device="cpu", precision="fp16")).startswith("fp16")
    assert "cannot use" in failures.unsupported(Case(device="cpu", cpu_affinity=(4000,)))


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a "
                               "total capacity of 139.81 GiB of which 1.2 GiB is free."),
        RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously "
                     "reported at some other API call"),
        RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
        RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"),
        RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED"),
        RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED"),
        RuntimeError("expandable_segments: memory mapping failed with OOM on device 0"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate "
                     "memory: you tried to allocate 1234 bytes"),
        MemoryError(),
    ],
)
def test_every_allocation_failure_form_is_out_of_memory(error):
    assert failures.is_out_of_memory(error)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("cuDNN error: CUDNN_STATUS_NOT_SUPPORTED"),
        RuntimeError("Expected all tensors to be on the same device"),
        ValueError("out of memory"),  # not an allocator's exception
    ],
)
def test_other_failures_are_not(error):
    assert not failures.is_out_of_memory(error)


class _FakeCudaWork:
    """A CUDA case's workload without a GPU: fixed phases, and a log of what happened."""

    torch_device = True  # a PyTorch workload (segtasks.measure.protocol.Workload)

    def __init__(self, log):
        self.case = Case(device="cuda", batch_size=2, seed_images=2, warmup_batches=2,
                         warmup_seconds=0, min_seconds=0.001, max_seconds=0.01,
                         end_to_end_seconds=0, end_to_end_passes=1)
        self.log = log

    def batch(self, index):
        return [index]

    def run(self, images):
        self.log.append("batch")
        return 0.1, 0.2, 1.0, 0.3


def test_warm_up_and_steady_peaks_are_each_measured_from_an_emptied_cache(monkeypatch):
    log, readings = [], iter([(7 * 2**30, 9 * 2**30), (3 * 2**30, 4 * 2**30)])
    monkeypatch.setattr(memory, "fresh_peaks", lambda: log.append("empty cache, reset"))
    monkeypatch.setattr(memory, "cuda_peaks", lambda: (log.append("read"), next(readings))[1])
    monkeypatch.setattr(protocol, "_sync", lambda work: None)
    run = protocol.measure_case(_FakeCudaWork(log))
    assert (run.warmup_peaks, run.steady_peaks) == ((7 * 2**30, 9 * 2**30),
                                                     (3 * 2**30, 4 * 2**30))
    first_read = log.index("read")
    timed = len(run.latencies_ms)
    # reset, warm-up, read; reset, one untimed batch, the timed loop, read; end to end
    assert log[:first_read + 1] == ["empty cache, reset", "batch", "batch", "read"]
    assert log[first_read + 1:first_read + 3 + timed + 1] == [
        "empty cache, reset", "batch", *["batch"] * timed, "read"]


def test_the_end_to_end_pass_is_sized_by_time_and_repeated(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(protocol.time, "perf_counter", lambda: clock[0])
    log: list[str] = []
    work = _FakeCudaWork(log)
    work.case = Case(device="cpu", batch_size=2, seed_images=3, end_to_end_seconds=1.0,
                     end_to_end_passes=3)
    durations = iter([0.3] * 4 + [0.3] * 4 + [0.5] * 4)  # the last pass is slower

    def batch_taking_time(images):
        clock[0] += next(durations)
        log.append("batch")
        return 0.0, 0.0, 0.0, 0.0

    work.run = batch_taking_time
    seconds, images = protocol.end_to_end(work)
    # at least 2 batches (3 images, whole batches) and at least 1 s: 4 batches of 0.3 s;
    # three passes of those 4 batches, and the median pass is reported
    assert images == 8 and log.count("batch") == 12
    assert seconds == pytest.approx(1.2)
