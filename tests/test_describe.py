"""`rnnbench describe`: every --set key of every model, task and of train, within 120 columns."""

import json

import pytest

from rnnbench.cli.describe_cmd import value_text
from rnnbench.contract.registry import get_registry
from rnnbench.training.config import TRAIN_PARAMS

COLUMNS = 120  # the promised maximum width of the text output

# A third-party plugin whose model and task share one name, with a long help text.
SHARED_NAME = """
import rnnbench
from rnnbench.nn import FusedRecurrent

LONG_HELP = " ".join(f"word{i}" for i in range(60))

def build(context, width=8):
    import torch
    return FusedRecurrent(torch.nn.GRU, context, 8, width, 1, 0.0)

@rnnbench.hookimpl
def register_models(register):
    register(rnnbench.ModelSpec(
        name="twin", builder=build, reference="Someone et al. 2031",
        params=rnnbench.ParamSet((rnnbench.Param(
            "width", int, 8, LONG_HELP, minimum=2, maximum=512,
            space=rnnbench.IntRange(8, 256, log=True, step=8)),)),
        description="a third-party model"))

@rnnbench.hookimpl
def register_tasks(register):
    register(rnnbench.TaskSpec(name="twin", factory=None, input_kind="features",
                               output="pooled", description="a third-party task"))
"""


def describe(cli, *args):
    code, out, err = cli("describe", *args)
    assert code == 0, err
    return out


def names():
    registry = get_registry()
    return [("model", n) for n in sorted(registry.models)] + [
        ("task", n) for n in sorted(registry.tasks)
    ]


@pytest.mark.parametrize(("kind", "name"), names())
def test_every_model_and_task_shows_each_key_with_its_help(cli, kind, name):
    registry = get_registry()
    spec = registry.model(name) if kind == "model" else registry.task(name)
    params = spec.params if kind == "model" else spec.options
    out = describe(cli, name)
    assert out.startswith(f"{kind} {name}: {spec.description}")
    src = registry.source_of(kind, name)
    assert f"plugin:    {src.distribution} {src.version} (entry point {src.entry_point!r})" in out
    if kind == "model":
        assert " ".join(spec.reference.split()) in " ".join(out.split())
    flat = " ".join(out.split())  # help text may be wrapped over several lines
    for param in params:
        assert f"{kind}.{param.name} " in out
        assert f"= {value_text(param.default)} " in out
        assert param.help in flat, f"{kind}.{param.name}: help not shown"
    assert f"--set keys ({len(tuple(params))}):" in out
    assert max(len(line) for line in out.splitlines()) <= COLUMNS


def test_train_lists_every_shared_key_with_type_default_range_and_space(cli):
    out = describe(cli, "train")
    lines = out.splitlines()
    for param in TRAIN_PARAMS:
        line = next(ln for ln in lines if ln.startswith(f"  train.{param.name} "))
        assert line.split()[1:4] == [param.type.__name__, "=", value_text(param.default)]
    lr = next(ln for ln in lines if ln.startswith("  train.lr "))
    assert "accepts >= 0; searched in [0.0003, 0.03], log scale" in lr
    optimizer = next(ln for ln in lines if ln.startswith("  train.optimizer "))
    assert "accepts one of adam, adamw, sgd, rmsprop, asgd; not searched" in optimizer
    assert max(len(line) for line in lines) <= COLUMNS


def test_json_gives_the_spec_values(cli):
    (entry,) = json.loads(describe(cli, "lstm", "--json"))["matches"]
    assert (entry["kind"], entry["name"], entry["distribution"]) == ("model", "lstm", "rnnbench")
    assert entry["reference"].startswith("Hochreiter & Schmidhuber 1997")
    params = {p["key"]: p for p in entry["params"]}
    assert list(params) == [f"model.{p.name}" for p in get_registry().model("lstm").params]
    assert params["model.hidden_size"]["space"] == {"kind": "choice", "values": [32, 64, 128, 256]}
    assert params["model.variant"]["choices"] == list(
        get_registry().model("lstm").params.get("variant").choices
    )
    assert {"vanilla", "peephole", "coupled", "nfg", "cifg"} <= set(
        params["model.variant"]["choices"]
    )
    assert params["model.bidirectional"]["space"] is None
    assert entry["causal"] is True and entry["causal_depends_on_params"] is True
    (train,) = json.loads(describe(cli, "train", "--json"))["matches"]
    lr = next(p for p in train["params"] if p["key"] == "train.lr")
    assert lr["space"] == {"kind": "float", "low": 3e-4, "high": 3e-2, "log": True}
    assert (lr["type"], lr["default"], lr["minimum"]) == ("float", 3e-3, 0.0)


def test_third_party_plugin_shows_its_distribution_and_both_specs_of_a_shared_name(
    fake_plugin, cli
):
    fake_plugin(SHARED_NAME, dist="rnnbench-twin", version="2.0.1", entry_point="twin")
    out = describe(cli, "twin")
    model, task = out.split("\ntask twin: ")
    assert model.startswith("model twin: a third-party model")
    assert "plugin:    rnnbench-twin 2.0.1 (entry point 'twin')" in model
    assert "reference: Someone et al. 2031" in model
    assert "accepts 2 to 512; searched in [8, 256], log scale, step 8" in model
    assert " ".join(f"word{i}" for i in range(60)) in " ".join(model.split())
    assert task.startswith("a third-party task") and "no --set task.* keys" in task
    assert max(len(line) for line in out.splitlines()) <= COLUMNS
    matches = json.loads(describe(cli, "twin", "--json"))["matches"]
    assert [(m["kind"], m["distribution"], m["version"]) for m in matches] == [
        ("model", "rnnbench-twin", "2.0.1"),
        ("task", "rnnbench-twin", "2.0.1"),
    ]
    assert matches[0]["params"][0]["space"] == {
        "kind": "int",
        "low": 8,
        "high": 256,
        "log": True,
        "step": 8,
    }


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("lstn", "(did you mean 'lstm'?)"),
        ("addng", "(did you mean 'adding'?)"),
        ("trian", "(did you mean 'train'?)"),
        ("zzzz", "(known: adding, addition, awd-lstm, birnn, bn-lstm,"),
    ],
)
def test_unknown_name_is_one_line_with_a_suggestion(cli, name, hint):
    code, out, err = cli("describe", name)
    assert code == 2 and out == ""
    assert err.strip() == err.strip().splitlines()[0]
    assert f"describe {name!r}: no model, task or 'train' of that name {hint}" in err
