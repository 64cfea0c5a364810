"""Each run parameter is declared once: its default, its bounds and its help reach Airflow's
form, the CLI and docs/parameters.md from that one declaration."""

import argparse
import copy
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from segtasks.cli import build_parser, main
from segtasks.plan import validate
from segtasks.plan.cli_flags import add_parameter_flags, conf_from_args, default_text
from segtasks.plan.declare import declared, number_schemas, parameter
from segtasks.plan.docs import render
from segtasks.plan.params import PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "parameters.md"


@pytest.fixture(scope="module")
def dag_params():
    """The run parameters as the DAG builds them (its `Param`s), parsed once."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags["segbench_nightly"].params


def _run_help() -> str:
    parser = argparse.ArgumentParser(prog="segbench run")
    add_parameter_flags(parser)
    return " ".join(parser.format_help().split())


def _docs_defaults() -> dict[str, str]:
    """Parameter name -> its default as the docs' table shows it."""
    rows = re.findall(r"^\| `(\w+)` \|[^|]*\|[^|]*\| `([^`]*)` \|", render(), re.MULTILINE)
    return dict(rows)


def test_the_form_the_cli_and_the_docs_agree_on_every_default(dag_params):
    form = dag_params.dump()
    cli_conf = validate(conf_from_args(build_parser().parse_args(["run"]))).conf
    docs, run_help = _docs_defaults(), _run_help()
    assert set(form) == set(cli_conf) == set(docs) == {p.name for p in PARAMETERS}
    # the form spells a multi-select's numbers and booleans as strings (segtasks.plan.form):
    # what counts is the value the plan task reads from it
    from_form = validate(form).conf
    for p in PARAMETERS:
        assert from_form[p.name] == cli_conf[p.name] == p.default, p.name
        assert docs[p.name] == default_text(p.default), p.name
        # the flag's help says the same default
        assert f"(default: {default_text(p.default)})" in run_help, p.name


def test_a_non_axis_default_is_the_fields_and_an_axis_declares_its_list():
    for p in PARAMETERS:
        if p.axis:
            assert isinstance(p.default, list), p.name
        else:  # tuples as the conf (JSON) holds them
            assert p.default == json.loads(json.dumps(p.field_default)), p.name


def test_a_default_written_twice_or_missing_is_refused_where_it_is_declared():
    number = {"type": "number", "minimum": 0, "maximum": 1}

    @dataclass
    class Twice:
        x: float = field(default=0.5, metadata=parameter(
            title="x", description="x", default=0.5, schema=number))

    @dataclass
    class AxisWithout:
        x: float = field(default=0.5, metadata=parameter(
            title="x", description="x", axis=True,
            schema={"type": "array", "items": number}))

    with pytest.raises(TypeError, match="Twice.x: its default is the field's"):
        declared(Twice)
    with pytest.raises(TypeError, match="AxisWithout.x: an axis declares its default list"):
        declared(AxisWithout)


def test_every_number_of_every_schema_is_bounded_on_both_sides_so_infinity_is_refused():
    bounded = 0
    for p in PARAMETERS:
        for where, schema in number_schemas(p.schema):
            assert {"minimum", "exclusiveMinimum"} & set(schema), p.name + where
            assert {"maximum", "exclusiveMaximum"} & set(schema), p.name + where
            assert all(math.isfinite(schema[k]) for k in schema if "imum" in k)
            bounded += 1
    assert bounded >= sum(p.value_type in ("integer", "number") for p in PARAMETERS)

    @dataclass
    class Unbounded:
        x: float = field(default=1.0, metadata=parameter(
            title="x", description="x", schema={"type": "number", "minimum": 0}))

    with pytest.raises(TypeError, match="Unbounded.x: a number needs a lower and an upper"):
        declared(Unbounded)


@pytest.mark.parametrize("infinity", [math.inf, -math.inf])
def test_the_trigger_form_refuses_an_infinite_number_naming_the_parameter(dag_params,
                                                                          infinity):
    from airflow.sdk.exceptions import ParamValidationError

    numbers = [p for p in PARAMETERS if p.value_type in ("integer", "number")]
    assert len(numbers) > 20
    for p in numbers:
        value = [infinity] if p.schema["type"] == "array" else infinity
        params = copy.deepcopy(dag_params)
        with pytest.raises(ParamValidationError, match=f"Invalid input for param {p.name}:"):
            params.update({p.name: value})


def test_the_run_flags_show_what_kind_of_value_they_take():
    text = _run_help()
    assert "PARAM__" not in text
    for flag, metavar in (("--n-images", "N"), ("--batch-sizes", "N,..."),
                          ("--max-seconds", "SECONDS"), ("--confirm-budget-s", "SECONDS"),
                          ("--min-effect", "FRACTION"), ("--ci-target", "FRACTION"),
                          ("--max-steal", "FRACTION"), ("--z-threshold", "Z"),
                          ("--memory-budget-gib", "GIB"), ("--latency-target-ms", "MS"),
                          ("--cpu-affinity", "CORE,..."), ("--devices", "cpu,cuda"),
                          ("--series-thresholds", "JSON"), ("--conf", "JSON|@FILE")):
        assert f"[{flag} {metavar}]" in text, flag


def test_docs_parameters_md_is_what_the_declarations_render():
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/parameters.md is stale: run `segbench docs` and commit the file")


def test_segbench_docs_writes_the_page_or_prints_it(tmp_path, capsys):
    target = tmp_path / "parameters.md"
    assert main(["docs", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render()
    assert capsys.readouterr().out == f"wrote {target}\n"
    assert main(["docs", "--output", "-"]) == 0
    assert capsys.readouterr().out == render()


def test_the_docs_list_every_parameter_with_its_flag_bounds_and_group():
    text = render()
    for p in PARAMETERS:
        assert f"| `{p.name}` | `{p.flags[0]}" in text, p.name
    assert "| `min_effect` | `--min-effect FRACTION` | number in (0, 1) | `0.05` |" in text
    assert "| `batch_sizes` | `--batch-sizes N,...` | list of integer in [1, 1024] " \
           "(no repeats, at least one) |" in text
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings == ["The grid", "How each case is measured", "Judging", "The night",
                        "Recommendation", "Paired verdict"]
