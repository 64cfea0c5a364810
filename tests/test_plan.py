"""Run parameters: declared once, validated as a whole before anything is measured."""

import argparse
from dataclasses import fields

import pytest

from segtasks.plan import ParamError, validate
from segtasks.plan.case import Case
from segtasks.plan.cli_flags import add_parameter_flags, conf_from_args
from segtasks.plan.form import SCHEMAS
from segtasks.plan.params import DEFAULTS, PARAMETERS


def _keys(conf):
    return [c.key for c in validate(conf).cases]


def test_grid_is_every_device_by_every_batch_size_in_stable_order():
    assert _keys({"devices": ["cuda", "cpu"], "batch_sizes": [4, 1, 2]}) == [
        "cuda-bs1-fp32", "cuda-bs2-fp32", "cuda-bs4-fp32",
        "cpu-bs1-fp32", "cpu-bs2-fp32", "cpu-bs4-fp32"]
    case = validate({}).cases[0]
    assert Case.from_dict(case.to_dict()) == case


def test_options_are_grid_axes_recorded_in_the_key():
    night = validate({"devices": ["cpu", "cuda"], "batch_sizes": [1],
                      "precisions": ["fp32", "bf16"], "channels_last": [False, True],
                      "cpu_threads": [2]})
    assert [c.key for c in night.cases] == [
        "cpu-bs1-fp32-t2", "cpu-bs1-fp32-cl-t2", "cpu-bs1-bf16-t2", "cpu-bs1-bf16-cl-t2",
        "cuda-bs1-fp32", "cuda-bs1-fp32-cl", "cuda-bs1-bf16", "cuda-bs1-bf16-cl",
    ]  # thread counts apply to CPU cases only
    assert night.cases[1].label == "cpu bs=1 fp32 cl t2"


def test_a_whole_float_for_an_integer_parameter_is_that_integer_in_keys_and_conf():
    # JSON Schema (and so Airflow's form) calls 2.0 an integer; a float in the case key
    # would start a series of its own (cpu-bs2.0-fp32) with no history
    night = validate({"devices": ["cpu"], "batch_sizes": [2.0], "cpu_threads": [1.0],
                      "cpu_affinity": [0.0], "n_images": 4.0, "repeats": 2.0})
    assert [c.key for c in night.cases] == ["cpu-bs2-fp32-t1-pin0"]
    assert night.cases[0] == validate({"devices": ["cpu"], "batch_sizes": [2],
                                       "cpu_threads": [1], "cpu_affinity": [0],
                                       "n_images": 4, "repeats": 2}).cases[0]
    assert type(night.conf["n_images"]) is int and type(night.conf["repeats"]) is int


def test_defaults_fill_what_the_user_left_out_and_settings_reach_every_case():
    night = validate({"devices": ["cpu"], "max_seconds": 12.5})
    assert [c.batch_size for c in night.cases] == [1, 2, 4, 8, 16]
    assert {(c.warmup_batches, c.max_seconds, c.seed_images) for c in night.cases} == {
        (3, 12.5, 32)}
    assert night.conf == {**DEFAULTS, "devices": ["cpu"], "max_seconds": 12.5}
    assert night.judging.baseline_runs == 7 and night.options.fail_on_regression is True


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"batch_sizes": [1, 0]}, "bad parameter batch_sizes.1: 0 is less than the minimum of 1"),
        ({"batch_sizes": [True]}, "bad parameter batch_sizes.0: True is not of type 'integer'"),
        ({"batch_sizes": []}, "bad parameter batch_sizes: [] should be non-empty"),
        ({"batch_sizes": [4, 4]}, "bad parameter batch_sizes: [4, 4] has non-unique elements"),
        ({"devices": ["tpu"]}, "bad parameter devices.0: 'tpu' is not one of ['cpu', 'cuda']"),
        ({"n_images": 0}, "bad parameter n_images: 0 is less than the minimum of 1"),
        ({"warmup_batches": -1}, "bad parameter warmup_batches: -1 is less than the minimum"),
        ({"precisions": ["fp8"]}, "bad parameter precisions.0: 'fp8' is not one of"),
        ({"channels_last": [1]}, "bad parameter channels_last.0: 1 is not of type 'boolean'"),
        ({"cpu_threads": [0]}, "bad parameter cpu_threads.0: 0 is less than the minimum of 1"),
        ({"min_batches": 3}, "bad parameter min_batches: 3 is less than the minimum of 6"),
        ({"min_seconds": 5, "max_seconds": 1},
         "bad parameter max_seconds: 1 must be >= min_seconds (5)"),
        ({"min_effect": 1}, "bad parameter min_effect: 1 is greater than or equal to the maximum"),
        ({"min_history": 8}, "bad parameter min_history: 8 must be <= baseline_runs (7)"),
        ({"batch_size": [1]}, "unknown parameter batch_size; known parameters: devices,"),
        ({"series_thresholds": {"cpu-bs1-fp32": {"fps": {"min_effect": 0.1}}}},
         "bad parameter series_thresholds.cpu-bs1-fp32: Additional properties are not allowed "
         "('fps' was unexpected)"),
        ({"series_thresholds": {"cpu-bs1-fp32": {"images_per_s": {"min_effect": 2}}}},
         "bad parameter series_thresholds.cpu-bs1-fp32.images_per_s.min_effect: 2 is greater"),
        ({"series_thresholds": {"cpu_bs1": {}}},
         "bad parameter series_thresholds: 'cpu_bs1' does not match"),
        ({"batch_sizes": [1], "series_thresholds": {"cpu-bs4-fp32": {}}},
         "bad parameter series_thresholds: cpu-bs4-fp32 is not a case of this grid"),
    ],
)
def test_bad_parameters_are_rejected_with_a_message_naming_the_key(conf, message):
    with pytest.raises(ParamError) as err:
        validate(conf)
    assert message in str(err.value)


def test_every_case_field_is_a_declared_parameter_with_a_schema_airflow_can_use():
    declared = {p.attribute for p in PARAMETERS if p.owner is Case}
    assert declared == {f.name for f in fields(Case)}
    for name, schema in SCHEMAS.items():
        assert {"default", "title", "description", "type"} <= set(schema), name
    # a default must itself be valid: the trigger form starts from it
    assert validate(DEFAULTS).conf == DEFAULTS


def _cli(*argv):
    parser = argparse.ArgumentParser()
    add_parameter_flags(parser)
    return conf_from_args(parser.parse_args(argv))


def test_the_cli_has_a_flag_for_every_parameter_and_only_passes_what_was_given():
    assert _cli() == {}
    conf = _cli("--batch-sizes", "1,4", "--channels-last", "off,on", "--threads", "2",
                "--images", "8", "--memory-min-effect", "0.03", "--baseline-runs", "5",
                "--min-history", "2", "--no-fail-on-regression", "--series-thresholds",
                '{"cpu-bs1-fp32-t2": {"images_per_s": {"min_effect": 0.1}}}')
    assert conf == {"batch_sizes": [1, 4], "channels_last": [False, True], "cpu_threads": [2],
                    "n_images": 8, "memory_min_effect": 0.03, "baseline_runs": 5,
                    "min_history": 2, "fail_on_regression": False,
                    "series_thresholds": {"cpu-bs1-fp32-t2": {"images_per_s": {"min_effect": 0.1}}}}
    assert validate(conf).judging.memory_min_effect == 0.03
    flags = {flag for p in PARAMETERS for flag in p.flags}
    assert {"--" + p.name.replace("_", "-") for p in PARAMETERS} <= flags


def test_a_whole_conf_can_be_given_and_flags_win_over_it(tmp_path):
    path = tmp_path / "conf.json"
    path.write_text('{"batch_sizes": [2], "min_effect": 0.1}')
    assert _cli("--conf", f"@{path}", "--min-effect", "0.2") == {"batch_sizes": [2],
                                                                 "min_effect": 0.2}


def test_new_options_at_their_defaults_leave_every_case_key_as_it_was():
    night = validate({"devices": ["cpu", "cuda"], "batch_sizes": [1, 4],
                      "cpu_threads": [2]})
    assert [c.key for c in night.cases] == ["cpu-bs1-fp32-t2", "cpu-bs4-fp32-t2",
                                            "cuda-bs1-fp32", "cuda-bs4-fp32"]
    case = night.cases[0]
    assert (case.cpu_affinity, case.max_interference, case.max_steal) == ((), 0.10, 0.05)
    assert (case.end_to_end_seconds, case.end_to_end_passes) == (2.0, 3)


def test_tf32_is_a_precision_of_its_own_beside_strict_fp32():
    night = validate({"devices": ["cuda"], "batch_sizes": [1],
                      "precisions": ["fp32", "tf32", "bf16"]})
    assert [c.key for c in night.cases] == ["cuda-bs1-fp32", "cuda-bs1-tf32", "cuda-bs1-bf16"]
    assert validate({"series_thresholds": {"cuda-bs1-tf32": {}}, "devices": ["cuda"],
                     "batch_sizes": [1], "precisions": ["tf32"]})


def test_cpu_affinity_pins_every_case_names_it_in_the_key_and_sets_the_threads():
    night = validate({"devices": ["cpu", "cuda"], "batch_sizes": [1],
                      "cpu_affinity": [3, 2, 4, 7]})
    cpu, cuda = night.cases
    assert cpu.cpu_affinity == (2, 3, 4, 7) and cpu.key == "cpu-bs1-fp32-pin2..4,7"
    assert cpu.effective_threads == 4 and cpu.label == "cpu bs=1 fp32 pin2..4,7"
    assert cuda.key == "cuda-bs1-fp32-pin2..4,7"
    assert Case.from_dict(cpu.to_dict()) == cpu
    pinned_two_threads = validate({"devices": ["cpu"], "batch_sizes": [1],
                                   "cpu_affinity": [0, 1], "cpu_threads": [1]}).cases[0]
    assert pinned_two_threads.effective_threads == 1
    assert pinned_two_threads.key == "cpu-bs1-fp32-t1-pin0..1"
    # series thresholds know the pinned key
    assert validate({"devices": ["cpu"], "batch_sizes": [1], "cpu_affinity": [0, 1],
                     "series_thresholds": {"cpu-bs1-fp32-pin0..1": {}}})


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"cpu_affinity": [-1]}, "bad parameter cpu_affinity.0: -1 is less than the minimum"),
        ({"cpu_affinity": [1, 1]}, "bad parameter cpu_affinity: [1, 1] has non-unique"),
        ({"max_interference": 0}, "bad parameter max_interference: 0 is less than or equal"),
        ({"max_steal": 1.5}, "bad parameter max_steal: 1.5 is greater than the maximum of 1"),
        ({"end_to_end_passes": 0}, "bad parameter end_to_end_passes: 0 is less than"),
        ({"precisions": ["tf16"]}, "bad parameter precisions.0: 'tf16' is not one of"),
    ],
)
def test_the_new_parameters_are_checked_like_the_others(conf, message):
    with pytest.raises(ParamError) as err:
        validate(conf)
    assert message in str(err.value)


def test_every_flag_help_prints_even_with_a_percent_sign_in_it():
    parser = argparse.ArgumentParser()
    add_parameter_flags(parser)
    assert "(25-50% of 2 cores)" in " ".join(parser.format_help().split())
    assert _cli("--cpu-affinity", "2,3", "--max-interference", "0.2") == {
        "cpu_affinity": [2, 3], "max_interference": 0.2}
