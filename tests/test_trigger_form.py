"""Airflow's trigger form, as the UI receives it (the DAG's params after serialization):
the grid open first and the other groups folded, a human title on every field, no field
required, multi-selects for the grid's lists, and a quick check preset to paste.

The rules of Airflow 3.3's form that these tests stand in for (airflow/ui, FlexibleForm):
a field is required when its schema has a type that does not admit null; an array with
`examples` is a multi-select that holds what is picked as strings; a parameter without a
`section` is in the open default area and a named section is folded.
"""

import json
import re
from pathlib import Path

import pytest

from segtasks.plan import ParamError, validate
from segtasks.plan.case import USUAL_BATCH_SIZES, Case
from segtasks.plan.form import NOTE_LINE_CHARS, QUICK_CHECK, SCHEMAS
from segtasks.plan.params import BY_NAME, PARAMETERS
from segtasks.plan.sections import SECTIONS, section_of

ROOT = Path(__file__).resolve().parents[1]
MULTI_SELECTS = ("devices", "precisions", "channels_last", "compile", "runtimes", "batch_sizes")


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags["segbench_nightly"]


@pytest.fixture(scope="module")
def form(dag):
    """name -> {"value", "description", "schema"}: the params as the trigger form gets them
    (the API dumps the serialized DAG's params), in the form's order."""
    from airflow.serialization.serialized_objects import DagSerialization

    served = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    return {name: param.dump() for name, param in served.params.items()}


def _required(field) -> bool:
    """Airflow 3.3's rule (isParamRequired): a typed field is required unless null is one
    of its types."""
    kind = field["schema"].get("type")
    return bool(kind) and (not isinstance(kind, list) or "null" not in kind)


def test_every_parameter_is_a_field_with_a_human_title_and_a_description(form):
    assert set(form) == {p.name for p in PARAMETERS}
    for name, field in form.items():
        title = field["schema"]["title"]
        assert title and title != name, name  # e.g. "Memory formats (channels_last)"
        text = field["description"] or field["schema"].get("description_md")
        assert text and BY_NAME[name].description in text, name


def test_no_field_is_required_since_every_parameter_has_a_default(form):
    assert [name for name, field in form.items() if _required(field)] == []
    for name, field in form.items():
        # the form starts from the default, which the plan reads as the declared one
        assert validate({name: field["value"]}).conf[name] == BY_NAME[name].default, name


def test_the_grid_is_open_first_and_every_other_group_is_a_folded_section(form):
    sections = [field["schema"].get("section") for field in form.values()]
    grid = [name for name, field in form.items() if "section" not in field["schema"]]
    assert grid == list(MULTI_SELECTS) + ["environments", "cpu_threads"]
    assert {BY_NAME[name].owner for name in grid} == {Case}
    assert all(BY_NAME[name].axis for name in grid)
    # the default area first, then each section once, in the docs' order
    order = list(dict.fromkeys(sections))
    assert order == [None, *(s.heading for s in SECTIONS if not s.open_in_form)]
    assert len(order) == sum(1 for i, s in enumerate(sections) if i == 0
                             or s != sections[i - 1]), "a section's fields are not together"
    for name, field in form.items():
        section = section_of(BY_NAME[name])
        assert field["schema"].get("section") == (None if section.open_in_form
                                                  else section.heading), name


@pytest.mark.parametrize("name", MULTI_SELECTS)
def test_the_grids_lists_are_multi_selects_that_start_with_the_default_picked(form, name):
    schema, value = form[name]["schema"], form[name]["value"]
    # Airflow's FieldSelector: an array with examples is a multi-select of them, and what
    # it picks it holds as strings, so the default must be spelled as one of them
    assert "array" in schema["type"] and isinstance(schema["examples"], list)
    assert all(isinstance(v, str) for v in schema["examples"] + value), name
    assert set(value) <= set(schema["examples"]), name


def test_batch_sizes_offer_the_usual_sizes_and_memory_formats_are_labelled(form):
    assert form["batch_sizes"]["schema"]["examples"] == [str(n) for n in USUAL_BATCH_SIZES]
    assert form["batch_sizes"]["value"] == ["1", "2", "4", "8", "16"]
    channels = form["channels_last"]["schema"]
    assert channels["examples"] == ["false", "true"]
    assert channels["values_display"] == {"false": "contiguous (NCHW)",
                                          "true": "channels_last (NHWC)"}


def test_what_the_form_sends_airflow_accepts_and_the_plan_reads_as_declared(dag):
    import copy

    from airflow.sdk.exceptions import ParamValidationError

    picked = {"batch_sizes": ["1", "64"], "channels_last": ["false", "true"]}
    params = copy.deepcopy(dag.params)
    params.update(picked)  # no ParamValidationError
    night = validate(picked)
    assert night.conf["batch_sizes"] == [1, 64]
    assert night.conf["channels_last"] == [False, True]
    assert {case.key for case in night.cases} >= {"cpu-bs64-fp32-cl", "cuda-bs1-fp32"}
    # any size the declaration allows goes in the run conf as a number
    params.update({"batch_sizes": [3, 1024]})
    assert validate({"batch_sizes": [3, 1024]}).conf["batch_sizes"] == [3, 1024]
    # a string that is no size the form offers is refused by both
    with pytest.raises(ParamValidationError, match="Invalid input for param batch_sizes:"):
        copy.deepcopy(dag.params).update({"batch_sizes": ["3"]})
    with pytest.raises(ParamError, match=r"^bad parameter batch_sizes\.0: '3' is not of"):
        validate({"batch_sizes": ["3"]})
    with pytest.raises(ParamError, match=r"^bad parameter channels_last\.0: 'on' is not of"):
        validate({"channels_last": ["on"]})


@pytest.mark.parametrize("p", PARAMETERS, ids=[p.name for p in PARAMETERS])
def test_an_emptied_field_is_refused_by_the_plan_in_one_line_naming_it(p):
    kinds = p.schema["type"] if isinstance(p.schema["type"], list) else [p.schema["type"]]
    if "null" in kinds:  # null is a value here: "no budget", "sized from the noise"
        assert validate({p.name: None}).conf[p.name] is None
        return
    with pytest.raises(ParamError) as err:
        validate({p.name: None})
    message = str(err.value)
    assert message.startswith(f"bad parameter {p.name}: null is not a value here"), message
    assert f"the default is {json.dumps(p.default)}" in message
    assert len(message.splitlines()) == 1


def _quick_check_in_the_docs() -> dict:
    text = (ROOT / "docs" / "running.md").read_text(encoding="utf-8")
    part = text.split("### A quick check", 1)[1]
    block = re.search(r"```json\n(.*?)```", part, re.DOTALL)
    assert block is not None, "docs/running.md: no JSON block under 'A quick check'"
    return json.loads(block.group(1))


def test_the_quick_check_is_one_small_cpu_case_shown_in_the_form_and_the_docs(dag, form):
    import copy

    night = validate(QUICK_CHECK)
    assert [case.key for case in night.cases] == ["cpu-bs1-fp32"]
    assert night.conf["n_images"] < BY_NAME["n_images"].default
    assert night.judging.confirm_repeats == 0 and night.pairing.control == "none"
    assert not night.options.fail_on_regression
    copy.deepcopy(dag.params).update(QUICK_CHECK)  # Airflow takes it as pasted
    assert _quick_check_in_the_docs() == QUICK_CHECK
    first = next(iter(form.values()))
    block = re.search(r"```json\n(.*?)```", first["schema"]["description_md"], re.DOTALL)
    assert block is not None and json.loads(block.group(1)) == QUICK_CHECK
    # the form does not wrap a code block: a long line would squeeze the field's title
    assert max(len(line) for line in block.group(1).splitlines()) <= NOTE_LINE_CHARS
    assert SCHEMAS[next(iter(form))]["description_md"] == first["schema"]["description_md"]
