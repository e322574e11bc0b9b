import pytest

from rnnbench.contract.errors import ConfigError
from rnnbench.contract.params import Choice, Param, ParamSet, suggest


def make():
    return ParamSet(
        (
            Param("hidden_size", int, 64, minimum=1),
            Param("lr", float, 1e-3, minimum=0.0),
            Param("mode", str, "a", choices=("a", "b")),
            Param("flag", bool, False),
            Param("width", int, 8, space=Choice((8, 16))),
        )
    )


def test_defaults_and_conversion():
    values = make().resolve({"hidden_size": "32", "lr": "0.1", "mode": "b", "flag": "yes"}, "model")
    assert values == {"hidden_size": 32, "lr": 0.1, "mode": "b", "flag": True, "width": 8}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("hidden_size", "abc", "--set model.hidden_size: expected int, got 'abc'"),
        ("hidden_size", "0", "--set model.hidden_size: must be >= 1, got 0"),
        ("hidden_size", "2.5", "expected int"),
        ("lr", "fast", "--set model.lr: expected float, got 'fast'"),
        ("mode", "c", "--set model.mode: 'c' is not one of a, b"),
        ("flag", "maybe", "--set model.flag: expected bool"),
        ("hiden_size", "3", "--set model.hiden_size: unknown option (did you mean 'hidden_size'?)"),
    ],
)
def test_errors_name_the_key_and_expected_type(name, value, message):
    with pytest.raises(ConfigError) as info:
        make().resolve({name: value}, "model")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_yaml_scalars_are_typed():
    values = make().resolve({"hidden_size": 16, "flag": True}, "model", source="sweep.yaml")
    assert values["hidden_size"] == 16 and values["flag"] is True
    with pytest.raises(ConfigError, match="sweep.yaml model.hidden_size: expected int"):
        make().resolve({"hidden_size": True}, "model", source="sweep.yaml")


def test_suggest_lists_known_names_when_nothing_is_close():
    assert suggest("zzz", ["lstm", "gru"]) == " (known: gru, lstm)"
    assert suggest("lstn", ["lstm", "gru"]) == " (did you mean 'lstm'?)"


def test_none_is_a_value_for_string_choices_and_null_only_when_nullable():
    params = ParamSet(
        (
            Param("clip", str, "norm", choices=("norm", "none")),
            Param("config", str, None, nullable=True),
        )
    )
    assert params.resolve({"clip": "none", "config": "none"}, "train") == {
        "clip": "none",
        "config": None,
    }
