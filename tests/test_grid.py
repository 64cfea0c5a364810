import pytest

from segtasks.grid import Case, GridError, plan_grid
from segtasks.nightly import plan


def test_grid_is_every_device_by_every_batch_size_in_stable_order():
    cases = plan_grid(["cuda", "cpu"], [4, 1, 2, 4], n_images=8, warmup_batches=1)
    assert [c.key for c in cases] == ["cuda-bs1", "cuda-bs2", "cuda-bs4",
                                      "cpu-bs1", "cpu-bs2", "cpu-bs4"]
    assert Case.from_dict(cases[0].to_dict()) == cases[0]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"batch_sizes": [1, 0]}, "batch size must be between 1 and 1024, got 0"),
        ({"batch_sizes": [True]}, "batch size must be an integer, got True"),
        ({"batch_sizes": []}, "batch_sizes must hold at least one"),
        ({"devices": ["tpu"]}, "unknown device 'tpu'; expected one of: cpu, cuda"),
        ({"devices": []}, "devices must name at least one"),
        ({"n_images": 0}, "n_images must be >= 1, got 0"),
        ({"warmup_batches": -1}, "warmup_batches must be between 0 and 100, got -1"),
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
