import pytest

from segtasks.grid import Case, GridError, plan_grid
from segtasks.nightly import plan


def test_grid_is_every_device_by_every_batch_size_in_stable_order():
    cases = plan_grid(["cuda", "cpu"], [4, 1, 2, 4], n_images=8, warmup_batches=1)
    assert [c.key for c in cases] == ["cuda-bs1-fp32", "cuda-bs2-fp32", "cuda-bs4-fp32",
                                      "cpu-bs1-fp32", "cpu-bs2-fp32", "cpu-bs4-fp32"]
    assert Case.from_dict(cases[0].to_dict()) == cases[0]


def test_options_are_grid_axes_recorded_in_the_key():
    cases = plan_grid(["cpu", "cuda"], [1], n_images=1, warmup_batches=0,
                      precisions=["fp32", "bf16"], channels_last=[False, True], cpu_threads=[2])
    assert [c.key for c in cases] == [
        "cpu-bs1-fp32-t2", "cpu-bs1-fp32-cl-t2", "cpu-bs1-bf16-t2", "cpu-bs1-bf16-cl-t2",
        "cuda-bs1-fp32", "cuda-bs1-fp32-cl", "cuda-bs1-bf16", "cuda-bs1-bf16-cl",
    ]  # thread counts apply to CPU cases only
    assert cases[1].label == "cpu bs=1 fp32 cl t2"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"batch_sizes": [1, 0]}, "batch size must be between 1 and 1024, got 0"),
        ({"batch_sizes": [True]}, "batch size must be an integer, got True"),
        ({"batch_sizes": []}, "batch_sizes must hold at least one"),
        ({"devices": ["tpu"]}, "unknown device 'tpu'; expected one of: cpu, cuda"),
        ({"devices": []}, "devices must be a non-empty list of: cpu, cuda"),
        ({"n_images": 0}, "n_images must be >= 1, got 0"),
        ({"warmup_batches": -1}, "warmup_batches must be between 0 and 100, got -1"),
        ({"precisions": ["fp8"]}, "unknown precision 'fp8'; expected one of: fp32, bf16, fp16"),
        ({"channels_last": [1]}, "unknown channels_last value 1; expected one of: False, True"),
        ({"cpu_threads": [0]}, "cpu thread count must be between 1 and 256, got 0"),
        ({"min_batches": 3}, "min_batches must be between 6 and 100000, got 3"),
        ({"min_seconds": 5, "max_seconds": 1}, "max_seconds (1) must be >= min_seconds (5)"),
    ],
)
def test_bad_parameters_are_rejected_with_a_message_naming_the_value(params, message):
    with pytest.raises(GridError) as err:
        plan(params)
    assert message in str(err.value)


def test_plan_fills_defaults_for_what_the_user_left_out():
    cases = plan({"devices": ["cpu"]})
    assert [c["batch_size"] for c in cases] == [1, 2, 4, 8, 16]
    assert {c["warmup_batches"] for c in cases} == {3}
