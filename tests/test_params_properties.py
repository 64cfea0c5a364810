"""Properties over the whole parameter space, with confs generated from the declarations'
own schemas (edge values included, and NaN, infinity, null and wrong types where they do
not belong):

- a conf that respects every schema and the rules between parameters is accepted; it plans
  its cases, its stored parameters are strict JSON and open a run on SQLite and
  PostgreSQL, and the judge's thresholds built from it call a planted 50% drop in images/s
  a regression (wherever its minimum effect is at most 50%);
- a conf with one bad value is refused with a ParamError that names that key.
"""

import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from segtasks.judge.decide import decide, effect_gate
from segtasks.judge.metrics import BY_NAME as METRICS
from segtasks.judge.thresholds import night_thresholds
from segtasks.plan import ParamError, validate
from segtasks.plan.grid import AXES
from segtasks.plan.params import BY_NAME, DEFAULTS, PARAMETERS

IMAGES_PER_S = METRICS["images_per_s"]
LIST_MAX = 3  # keeps a grid of lists of lists small enough to plan and judge quickly
PROPERTIES = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow])


def _kinds(schema: Mapping[str, Any]) -> list[str]:
    kind = schema["type"]
    return kind if isinstance(kind, list) else [kind]


def _bounds(schema: Mapping[str, Any]) -> tuple[float, float, bool, bool]:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    return low, high, "exclusiveMinimum" in schema, "exclusiveMaximum" in schema


def _integers(schema: Mapping[str, Any]) -> list[st.SearchStrategy[Any]]:
    """The whole numbers within the bounds (none, for a number in [0.001, 0.5])."""
    low, high, open_low, open_high = _bounds(schema)
    first = math.ceil(low) + (open_low and math.ceil(low) == low)
    last = math.floor(high) - (open_high and math.floor(high) == high)
    return [st.integers(first, last)] if first <= last else []


def _floats(schema: Mapping[str, Any]) -> st.SearchStrategy[float]:
    low, high, open_low, open_high = _bounds(schema)
    return st.floats(low, high, exclude_min=open_low, exclude_max=open_high,
                     allow_nan=False, allow_infinity=False)


def valid(schema: Mapping[str, Any], case_keys: list[str]) -> st.SearchStrategy[Any]:
    """Values the schema accepts (integers where a number is asked, too: JSON has both)."""
    kinds = _kinds(schema)
    null = [st.none()] if "null" in kinds else []
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "boolean" in kinds:
        return st.booleans()
    if "integer" in kinds:
        return st.one_of(*null, *_integers(schema))
    if "number" in kinds:
        return st.one_of(*null, _floats(schema), *_integers(schema))
    if "array" in kinds:
        return st.lists(valid(schema["items"], case_keys), min_size=schema.get("minItems", 0),
                        max_size=LIST_MAX, unique=True)
    if "string" in kinds:
        # what names a lock without the results database at hand: "current", a sha256
        # (control's two words besides)
        return st.sampled_from(["current", "a" * 64, "b" * 64, *(
            ["baseline", "none"] if schema is BY_NAME["control"].schema else [])])
    if "properties" in schema:
        return st.fixed_dictionaries({}, optional={
            key: valid(sub, case_keys) for key, sub in schema["properties"].items()}).filter(
            lambda d: len(d) >= schema.get("minProperties", 0))
    # keyed by case: only keys of tonight's grid (the only ones validate accepts)
    return st.dictionaries(st.sampled_from(case_keys or ["none"]),
                           valid(schema["additionalProperties"], case_keys),
                           max_size=2 if case_keys else 0)


NOT_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


def invalid(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values the parameter must refuse: not finite, null where null is no value, the wrong
    type, out of bounds, or a bad value nested inside."""
    kinds = _kinds(schema)
    wrong_types = [v for v, kind in (("text", "string"), (True, "boolean"), (None, "null"),
                                     ([], "array"), ({}, "object")) if kind not in kinds]
    options = [NOT_FINITE, st.sampled_from(wrong_types)]
    if "enum" in schema:
        options.append(st.just("not-" + str(schema["enum"][0])))
    elif "string" in kinds:  # a lock no database was given to find
        options.append(st.just("no-such-lock"))
    if {"integer", "number"} & set(kinds):
        low, high, open_low, open_high = _bounds(schema)
        options.append(st.sampled_from([low if open_low else low - 1,
                                        high if open_high else high + 1]))
    if "array" in kinds:
        options.append(st.lists(invalid(schema["items"]), min_size=1, max_size=1))
    if "properties" in schema:
        options.append(st.sampled_from(sorted(schema["properties"])).flatmap(
            lambda key: invalid(schema["properties"][key]).map(lambda v: {key: v})))
        if schema.get("additionalProperties") is False:
            options.append(st.just({"no_such_key": 1}))
    elif isinstance(schema.get("additionalProperties"), Mapping):
        options.append(invalid(schema["additionalProperties"]).map(
            lambda v: {"cpu-bs1-fp32": v}))
    return st.one_of(*options)


# A model spec the schema accepts may still name no model (an architecture smp lacks):
# good confs take theirs from these (segtasks.domain.model_spec; tests/test_model_spec.py)
GOOD_MODELS = [
    None,
    {"architecture": "UnetPlusPlus", "encoder": "resnet34", "encoder_depth": 4,
     "decoder_channels": [256, 128, 64, 32], "in_channels": 1, "classes": 1,
     "input_size": [256, 256]},
    {"architecture": "Unet", "encoder": "resnet18", "in_channels": 3, "classes": 2,
     "input_size": [64, 64], "weights": "weights/unet18.pt", "weights_sha256": "c" * 64},
]


@st.composite
def good_confs(draw: st.DrawFn) -> dict[str, Any]:
    """A conf with any subset of parameters, each valid, consistent with one another."""
    conf: dict[str, Any] = {}
    for p in PARAMETERS:
        if p.name == "model":
            if draw(st.booleans()):
                conf["model"] = draw(st.sampled_from(GOOD_MODELS))
        elif p.name != "series_thresholds" and draw(st.booleans()):
            conf[p.name] = draw(valid(p.schema, []))
    full = {**DEFAULTS, **conf}
    # the rules between parameters: keep the pairs in order where the user gave one
    for low, high in (("min_seconds", "max_seconds"), ("min_history", "baseline_runs")):
        if low in conf or high in conf:
            conf[low], conf[high] = sorted((full[low], full[high]))
    # PyTorch's own axes (precision, memory format, compile) beyond their default need the
    # torch runtime in the night
    torch_only = [a for a in AXES if a.runtimes and
                  any(v != a.field_default for v in conf.get(a.name, []))]
    if torch_only and "torch" not in full["runtimes"]:
        conf["runtimes"] = [*full["runtimes"], "torch"]
    if draw(st.booleans()):
        keys = [case.key for case in validate(conf).cases]  # locks resolved, as planned
        conf["series_thresholds"] = draw(valid(BY_NAME["series_thresholds"].schema, keys))
    return conf


def _is(verdict: Any, name: str) -> bool:
    return getattr(verdict, "value", verdict) == name


@pytest.fixture
def engine(db_url):
    from segtasks import store

    return store.connect(db_url)


@PROPERTIES
@given(conf=good_confs())
def test_an_accepted_conf_plans_stores_as_json_and_judges_a_planted_drop(engine, conf):
    from segtasks.store import repository

    night = validate(conf)
    assert night.cases, "a night has at least one case"
    stored = json.loads(json.dumps(night.conf, allow_nan=False))  # strict JSON, no NaN
    for case in night.cases:
        json.dumps(case.to_dict(), allow_nan=False)
    run_pk = repository.open_run(engine, dag_id="properties", run_id=uuid.uuid4().hex,
                                 trigger="manual", params=night.conf, code_version=None)
    with engine.connect() as connection:
        params = connection.execute(text("SELECT params FROM runs WHERE id = :id"),
                                    {"id": run_pk}).scalar_one()
    assert (json.loads(params) if isinstance(params, str) else params) == stored

    thresholds = night_thresholds(night.judging)
    judging = night.judging
    nights = [100.0 + 0.3 * (i % 3) for i in range(judging.baseline_runs)]
    for case in night.cases:
        threshold = thresholds.of(case.key, IMAGES_PER_S.name)
        decision = decide(IMAGES_PER_S, threshold, 50.0, nights,
                          min_history=judging.min_history, screen_factor=judging.screen_factor)
        assert decision.effect == pytest.approx(50.0 / decision.baseline - 1)
        assert decision.z is not None and math.isfinite(decision.z)
        # a drop of 50% is large for every minimum effect up to 50%; above that the user
        # asked for larger changes only, and the judge's own gate tells which
        large = threshold.min_effect <= 0.5 or -decision.effect >= effect_gate(
            decision.noise, threshold)
        expected = "regression" if large else "unchanged"
        assert _is(decision.verdict, expected), (case.key, threshold, decision)


@PROPERTIES
@given(data=st.data())
def test_a_conf_with_one_bad_value_is_refused_naming_that_key(data):
    conf = data.draw(good_confs())
    bad = data.draw(st.sampled_from(PARAMETERS))
    conf[bad.name] = data.draw(invalid(bad.schema), label=f"bad {bad.name}")
    with pytest.raises(ParamError) as err:
        validate(conf)
    message = str(err.value)
    assert message.startswith(f"bad parameter {bad.name}"), message
    assert len(message.splitlines()) == 1


@PROPERTIES
@given(conf=good_confs(), name=st.text(min_size=1, max_size=12).filter(
    lambda n: n not in BY_NAME))
def test_an_unknown_key_is_refused_by_name(conf, name):
    with pytest.raises(ParamError) as err:
        validate({**conf, name: 1})
    assert str(err.value).startswith(f"unknown parameter {name}; known parameters: ")
