"""The `model` run parameter: a spec checked at plan time, an identity in the case key
(only when it is not the mission's model), and the measuring code that follows it."""

from __future__ import annotations

import pytest

from segtasks.domain.model_spec import DEFAULT, ModelSpec, ModelSpecError, is_default
from segtasks.plan.case import CASE_KEY_PATTERN, Case
from segtasks.plan.validate import ParamError, validate

SMALL = {"architecture": "Unet", "encoder": "resnet18", "in_channels": 3, "classes": 2,
         "input_size": [64, 64]}
FACTORY = {"factory": "model_factories:tiny", "in_channels": 3, "classes": 2,
           "input_size": [32, 32]}
CPU_BS1 = {"devices": ["cpu"], "batch_sizes": [1]}


def test_the_default_model_keeps_every_case_key_as_it_was():
    default = validate(CPU_BS1).cases[0]
    explicit = validate({**CPU_BS1, "model": DEFAULT.to_dict()}).cases[0]
    assert default.model is None and default.key == "cpu-bs1-fp32"
    assert explicit.key == "cpu-bs1-fp32"  # the same model written out: the same series
    assert default.model_spec == DEFAULT


def test_another_model_is_a_series_of_its_own():
    case = validate({**CPU_BS1, "model": SMALL}).cases[0]
    spec = ModelSpec.from_dict(SMALL)
    assert case.key == f"cpu-bs1-fp32-m{spec.identity()}"
    import re
    assert re.match(CASE_KEY_PATTERN, case.key)
    # the case travels to its measuring process as JSON and comes back the same
    assert Case.from_dict(case.to_dict()) == case
    assert case.to_dict()["model"] == SMALL


def test_identity_is_stable_and_tells_models_and_weights_apart():
    spec = ModelSpec.from_dict(SMALL)
    assert spec.identity() == ModelSpec.from_dict(dict(SMALL)).identity()
    assert len(spec.identity()) == 12
    others = {ModelSpec.from_dict({**SMALL, **change}).identity() for change in (
        {"classes": 3}, {"encoder": "resnet34"}, {"input_size": [128, 128]},
        {"in_channels": 1})}
    assert spec.identity() not in others and len(others) == 4
    # where the weights lie is not what they are; their sha256 is
    assert ModelSpec.from_dict({**SMALL, "weights": "elsewhere.pt"}).identity() == \
        spec.identity()
    assert spec.identity("a" * 64) != spec.identity("b" * 64) != spec.identity()
    pinned = ModelSpec.from_dict({**SMALL, "weights_sha256": "a" * 64})
    assert pinned.identity() == spec.identity("a" * 64)
    assert not is_default(pinned) and is_default(None)


def test_description_names_the_model_like_the_mission_string():
    assert DEFAULT.describe() == ("UnetPlusPlus(resnet34, depth=4, decoder=(256,128,64,32), "
                                  "in=1, classes=1) at 256x256")
    assert ModelSpec.from_dict(FACTORY).describe() == \
        "model_factories:tiny(in=3, classes=2) at 32x32"


@pytest.mark.parametrize(("spec", "says"), [
    ({**SMALL, "architecture": "Unett"}, "unknown architecture 'Unett'; smp has"),
    ({**SMALL, "encoder": "resnet1800"}, "unknown encoder 'resnet1800'"),
    ({**SMALL, "encoder_depth": 4}, "decoder_channels has 5 entries, encoder_depth is 4"),
    ({**SMALL, "encoder_depth": 3, "decoder_channels": [64, 32]}, "has 2 entries"),
    ({**SMALL, "input_size": [60, 64]}, "input_size [60, 64] is not divisible by 32"),
    ({**SMALL, "architecture": "FPN", "decoder_channels": [1, 2, 3, 4, 5]},
     "FPN takes no decoder_channels"),
    ({**FACTORY, "factory": "no_such_package.models:build"},
     "module no_such_package.models cannot be found"),
    ({**FACTORY, "factory": "model_factories.tiny"}, "is not package.module:function"),
    ({**FACTORY, "encoder": "resnet18"}, "encoder belong to an smp architecture"),
    ({**SMALL, "factory": "model_factories:tiny"}, "not both nor neither"),
    ({key: v for key, v in SMALL.items() if key != "classes"}, "classes is required"),
    ({**SMALL, "input_size": [64]}, "bad parameter model.input_size"),
    ({**SMALL, "weights_sha256": "xyz"}, "bad parameter model.weights_sha256"),
    ({**SMALL, "colour": True}, "'colour' was unexpected"),
])
def test_a_bad_spec_is_refused_at_plan_on_one_line_naming_model(spec, says):
    with pytest.raises(ParamError) as err:
        validate({**CPU_BS1, "model": spec})
    message = str(err.value)
    assert message.startswith("bad parameter model") and says in message, message
    assert len(message.splitlines()) == 1


def test_a_spec_given_another_way_is_checked_the_same():
    with pytest.raises(ModelSpecError, match="encoder is required"):
        ModelSpec.from_dict({"architecture": "Unet", "in_channels": 1, "classes": 1,
                             "input_size": [64, 64]})


def test_a_good_factory_is_accepted():
    case = validate({**CPU_BS1, "model": FACTORY}).cases[0]
    assert case.model == ModelSpec.from_dict(FACTORY)


def test_a_stored_nights_conf_is_read_without_the_installed_code(tmp_path, monkeypatch):
    """The pages read a night's conf with installed=False: a factory whose package this
    process lacks (a web server, not the night's worker), or that fails to import, still
    plans its cases and thresholds; the plan itself refuses both in one line."""
    broken = tmp_path / "broken_models"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise RuntimeError('needs a GPU to import')\n")
    (broken / "nets.py").write_text("def build(): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for factory, says in (("elsewhere_only.models:build", "cannot be found"),
                          ("broken_models.nets:build", "needs a GPU to import")):
        conf = {**CPU_BS1, "model": {**FACTORY, "factory": factory}}
        with pytest.raises(ParamError, match=says):
            validate(conf)
        (case,) = validate(conf, installed=False).cases
        assert case.model.factory == factory
