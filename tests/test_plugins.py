"""Plugin discovery through entry points: third-party, broken, duplicate, misspelled."""

import inspect
import json

import pytest

from rnnbench.contract import hookspecs
from rnnbench.contract.errors import PluginError
from rnnbench.contract.registry import get_registry

THIRD_PARTY = """
import rnnbench
from rnnbench.nn import FusedRecurrent

def build(context, hidden_size=8):
    import torch
    return FusedRecurrent(torch.nn.GRU, context, 8, hidden_size, 1, 0.0)

@rnnbench.hookimpl
def register_models(register):
    register(rnnbench.ModelSpec(
        name="tiny-gru", builder=build,
        params=rnnbench.ParamSet((rnnbench.Param("hidden_size", int, 8, minimum=1),)),
        description="a third-party model"))
"""


def test_every_hook_is_documented_with_its_arguments():
    hooks = [
        f for name, f in vars(hookspecs).items() if callable(f) and hasattr(f, "rnnbench_spec")
    ]
    assert {f.__name__ for f in hooks} >= {"register_models", "register_tasks"}
    for hook in hooks:
        doc = inspect.getdoc(hook)
        assert doc, f"hook {hook.__name__} has no docstring"
        for arg in inspect.signature(hook).parameters:
            assert f"{arg}:" in doc, f"hook {hook.__name__} does not document {arg!r}"


def test_builtins_come_from_the_rnnbench_distribution(cli):
    code, out, _ = cli("list", "--json")
    assert code == 0
    listing = json.loads(out.strip().splitlines()[-1])
    lstm = next(m for m in listing["models"] if m["name"] == "lstm")
    assert lstm["distribution"] == "rnnbench"
    assert {t["name"] for t in listing["tasks"]} >= {"adding", "copy", "listops"}


def test_third_party_plugin_is_discovered_with_its_distribution(fake_plugin, cli):
    fake_plugin(THIRD_PARTY, dist="rnnbench-tiny", version="0.4.2", entry_point="tiny")
    code, out, err = cli("list", "--json")
    assert code == 0, err
    listing = json.loads(out.strip().splitlines()[-1])
    tiny = next(m for m in listing["models"] if m["name"] == "tiny-gru")
    assert (tiny["distribution"], tiny["version"], tiny["entry_point"]) == (
        "rnnbench-tiny",
        "0.4.2",
        "tiny",
    )
    assert any(m["name"] == "lstm" for m in listing["models"])


def test_third_party_model_passes_the_contract_check(fake_plugin):
    from rnnbench.testing import check_model_spec

    fake_plugin(THIRD_PARTY)
    check_model_spec(get_registry().model("tiny-gru"))


def test_broken_plugin_is_reported_in_one_line_and_the_rest_works(fake_plugin, cli):
    fake_plugin(
        "import not_a_module_anywhere\n", dist="broken-plugin", version="9.9", entry_point="broken"
    )
    code, out, err = cli("list")
    assert code == 0
    lines = [line for line in err.splitlines() if "broken" in line]
    assert len(lines) == 1
    assert "'broken'" in lines[0] and "broken-plugin 9.9" in lines[0]
    assert "ModuleNotFoundError" in lines[0] and "not_a_module_anywhere" in lines[0]
    assert "lstm" in out


def test_strict_mode_makes_a_broken_plugin_fatal(fake_plugin, cli, monkeypatch):
    fake_plugin("raise RuntimeError('boom')\n", dist="broken-plugin", entry_point="broken")
    monkeypatch.setenv("RNNBENCH_STRICT_PLUGINS", "1")
    code, out, err = cli("list")
    assert code != 0
    assert "broken-plugin" in err and "RuntimeError: boom" in err
    assert out == ""


def test_duplicate_name_is_refused_naming_both_sources(fake_plugin, cli):
    fake_plugin(
        THIRD_PARTY.replace('"tiny-gru"', '"lstm"'),
        dist="dupe-plugin",
        version="2.0",
        entry_point="dupe",
    )
    code, out, err = cli("list", "--json")
    assert code == 0
    assert "duplicate model name 'lstm'" in err
    assert "dupe-plugin 2.0" in err and "rnnbench" in err
    listing = json.loads(out.strip().splitlines()[-1])
    lstm = next(m for m in listing["models"] if m["name"] == "lstm")
    assert lstm["distribution"] == "rnnbench"  # the first registration stands


def test_misspelled_hook_fails_loudly(fake_plugin, monkeypatch):
    fake_plugin(
        "import rnnbench\n@rnnbench.hookimpl\ndef register_model(register):\n    pass\n",
        dist="typo-plugin",
        entry_point="typo",
    )
    registry = get_registry(refresh=True)
    assert any("typo-plugin" in p and "register_model" in p for p in registry.problems)
    monkeypatch.setenv("RNNBENCH_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="register_model"):
        get_registry(refresh=True)


def test_load_plugins_switch_selects_entry_points(monkeypatch):
    monkeypatch.setenv("RNNBENCH_LOAD_PLUGINS", "synthetic")
    registry = get_registry(refresh=True)
    assert "adding" in registry.tasks and not registry.models


def test_hook_with_a_wrong_signature_is_reported(fake_plugin):
    fake_plugin(
        "import rnnbench\n@rnnbench.hookimpl\ndef register_models(add):\n    pass\n",
        dist="signature-plugin",
        entry_point="sig",
    )
    registry = get_registry(refresh=True)
    assert any("signature-plugin" in p and "register_models" in p for p in registry.problems)
    assert "lstm" in registry.models


@pytest.mark.slow
def test_the_readme_plugin_example_passes_the_contract():
    import re
    import types
    from pathlib import Path

    from rnnbench.testing import check_model_spec

    readme = (Path(__file__).resolve().parents[1] / "docs/plugins/index.md").read_text()
    code = re.search(r"```python\n# my_package/my_model.py\n(.*?)```", readme, re.S).group(1)
    module = types.ModuleType("readme_example")
    exec(compile(code, "docs/plugins/index.md", "exec"), module.__dict__)
    check_model_spec(module.SPEC)
