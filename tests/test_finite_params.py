"""Every number a run conf holds is finite: NaN and infinity are refused with the parameter's
name by the validation, the CLI's flags and a conf file, and null (what Airflow's form sends
for them) by the plan task."""

import importlib.util
import math
from pathlib import Path

import pytest

from segtasks.cli import main
from segtasks.plan import ParamError, validate
from segtasks.plan.params import PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
NUMBERS = [p for p in PARAMETERS if p.value_type in ("integer", "number")]
NOT_FINITE = [math.nan, math.inf, -math.inf]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("bad", NOT_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("p", NUMBERS, ids=[p.name for p in NUMBERS])
def test_every_number_parameter_refuses_nan_and_infinity_naming_itself(p, bad):
    value = [bad] if p.schema["type"] == "array" else bad
    with pytest.raises(ParamError) as err:
        validate({p.name: value})
    assert str(err.value).startswith(f"bad parameter {p.name}")
    assert "not a finite number" in str(err.value)


@pytest.mark.parametrize(("conf", "where"), [
    ({"series_thresholds": {"cpu-bs1-fp32": {"images_per_s": {"min_effect": math.nan}}}},
     "series_thresholds.cpu-bs1-fp32.images_per_s.min_effect"),
    ({"series_thresholds": {"cpu-bs1-fp32": {"latency_p90_ms": {"z_threshold": math.inf}}}},
     "series_thresholds.cpu-bs1-fp32.latency_p90_ms.z_threshold"),
    ({"output_tolerances": {"bf16": {"max_abs_diff": math.nan}}},
     "output_tolerances.bf16.max_abs_diff"),
    ({"output_tolerances": {"fp32": {"mask_mismatch": -math.inf}}},
     "output_tolerances.fp32.mask_mismatch"),
])
def test_nested_thresholds_and_tolerances_must_be_finite_too(conf, where):
    with pytest.raises(ParamError, match=f"^bad parameter {where}: .* is not a finite number"):
        validate({"devices": ["cpu"], "batch_sizes": [1], **conf})


def test_null_for_a_number_names_the_parameter_and_says_why_it_may_have_come():
    with pytest.raises(ParamError) as err:
        validate({"min_effect": None})
    assert str(err.value) == ("bad parameter min_effect: null is not a value here (expected "
                              "number; an emptied field, NaN and infinity arrive as null; "
                              "the default is 0.05)")
    with pytest.raises(ParamError, match="^bad parameter series_thresholds.cpu-bs1-fp32"
                                         ".images_per_s.z_threshold: null is not a value"):
        validate({"series_thresholds": {"cpu-bs1-fp32": {"images_per_s": {"z_threshold": None}}}})
    # where null means "no constraint" it stays allowed
    assert validate({"memory_budget_gib": None}).recommending.memory_budget_gib is None


def test_the_plan_task_of_the_dag_names_the_parameter_the_form_sent_as_null():
    from airflow.sdk.exceptions import AirflowFailException

    spec = importlib.util.spec_from_file_location("segbench_nightly_under_test",
                                                  ROOT / "dags" / "segbench_nightly.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(AirflowFailException, match="^bad parameter z_threshold: null is not"):
        module._validated({"z_threshold": None})


@pytest.mark.parametrize(("argv", "where"), [
    (["--min-effect", "nan"], "min_effect"),
    (["--z-threshold", "inf"], "z_threshold"),
    (["--screen-factor=-inf"], "screen_factor"),
    (["--max-seconds", "NaN"], "max_seconds"),
    (["--memory-budget-gib", "Infinity"], "memory_budget_gib"),
    (["--series-thresholds", '{"cpu-bs1-fp32": {"images_per_s": {"min_effect": NaN}}}'],
     "series_thresholds.cpu-bs1-fp32.images_per_s.min_effect"),
    (["--output-tolerances", '{"bf16": {"mask_mismatch": Infinity}}'],
     "output_tolerances.bf16.mask_mismatch"),
])
def test_a_flag_that_is_not_finite_is_one_line_naming_the_parameter(capsys, sqlite_url, argv,
                                                                    where):
    assert main(["run", *argv, "--url", sqlite_url]) == 2
    err = _one_error_line(capsys)
    assert err.startswith(f"segbench: error: bad parameter {where}: ")
    assert "not a finite number" in err


def test_a_conf_file_with_nan_is_refused_naming_the_key(capsys, sqlite_url, tmp_path):
    conf = tmp_path / "night.json"
    conf.write_text('{"batch_sizes": [1], "ci_target": NaN}')
    assert main(["run", "--conf", f"@{conf}", "--url", sqlite_url]) == 2
    assert "bad parameter ci_target: nan is not a finite number" in _one_error_line(capsys)


def test_a_conf_file_that_is_not_utf8_names_the_file_and_why(capsys, tmp_path):
    conf = tmp_path / "night.json"
    conf.write_bytes(b'{"min_effect": 0.1, "note": "caf\xe9"}')
    with pytest.raises(SystemExit) as exit_code:
        main(["run", "--conf", f"@{conf}"])
    assert exit_code.value.code == 2
    err = capsys.readouterr().err
    assert f"cannot read {conf}: not UTF-8 text (byte 0xe9 at offset 32)" in err
    assert "invalid _conf_argument value" not in err


def test_a_conf_file_that_is_not_an_object_names_the_file(capsys, tmp_path):
    conf = tmp_path / "night.json"
    conf.write_text("[1, 2]")
    with pytest.raises(SystemExit):
        main(["run", "--conf", f"@{conf}"])
    assert f"expected a JSON object, got {conf}" in capsys.readouterr().err
