"""No silent plugins: every way a plugin can fail to register is one line naming the
entry point and distribution (exit 0, the rest keeps working), and fatal (exit 2, one
line, nothing on stdout) under RNNBENCH_STRICT_PLUGINS=1."""

import pytest

GOOD_HOOK_BODY = """
import rnnbench
from rnnbench.nn import FusedRecurrent

def build(context, hidden_size=8):
    import torch
    return FusedRecurrent(torch.nn.GRU, context, 8, hidden_size, 1, 0.0)

SPEC = rnnbench.ModelSpec(name="indrnn", builder=build)
"""

# (case, plugin code, text the one line must contain)
CASES = [
    (
        "registers-nothing",
        "import rnnbench\n@rnnbench.hookimpl\ndef register_models(register):\n    pass\n",
        "registered no model or task: its hooks ran but never called register(spec)",
    ),
    (
        "no-register-argument",
        GOOD_HOOK_BODY + "@rnnbench.hookimpl\ndef register_models():\n    pass\n",
        "hook register_models() cannot receive the argument 'register'",
    ),
    (
        "register-with-default",
        GOOD_HOOK_BODY + "@rnnbench.hookimpl\ndef register_models(register=None):\n"
        "    register(SPEC)\n",
        "hook register_models(register) cannot receive the argument 'register'",
    ),
    (
        "wrong-argument-name",
        GOOD_HOOK_BODY + "@rnnbench.hookimpl\ndef register_models(add):\n    add(SPEC)\n",
        "hook register_models(add) declares argument(s) 'add' that rnnbench does not pass",
    ),
    (
        "not-marked",
        GOOD_HOOK_BODY + "def register_models(register):\n    register(SPEC)\n",
        "defines register_models() without @rnnbench.hookimpl",
    ),
    (
        "misspelled-hook",
        GOOD_HOOK_BODY + "@rnnbench.hookimpl\ndef register_model(register):\n    register(SPEC)\n",
        "implements an unknown hook 'register_model' (did you mean 'register_models'?)",
    ),
    (
        "no-hook-at-all",
        GOOD_HOOK_BODY,
        "implements no rnnbench hook (expected register_models or register_tasks",
    ),
    # pluggy's own validation (a wrapper that is no generator) is three lines of text
    (
        "pluggy-validation",
        GOOD_HOOK_BODY + "@rnnbench.hookimpl(wrapper=True)\ndef register_models(register):\n"
        "    register(SPEC)\n",
        "could not be registered: Plugin 'broken' for hook 'register_models' hookimpl "
        "definition: register_models(register)",
    ),
]


def _problem_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "silent-plugin" in line]


@pytest.mark.parametrize(("case", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_problem_is_one_line_and_the_rest_works(fake_plugin, cli, case, code, message):
    fake_plugin(code, dist="silent-plugin", version="0.3", entry_point="broken")
    status, out, err = cli("list")
    assert status == 0, err
    lines = _problem_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("rnnbench: warning: plugin entry point 'broken' (silent-plugin 0.3)")
    assert message in lines[0]
    assert "lstm" in out and "indrnn" not in out


@pytest.mark.parametrize(("case", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_problem_is_fatal_in_strict_mode(fake_plugin, cli, monkeypatch, case, code, message):
    fake_plugin(code, dist="silent-plugin", version="0.3", entry_point="broken")
    monkeypatch.setenv("RNNBENCH_STRICT_PLUGINS", "1")
    status, out, err = cli("list")
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("rnnbench: error: plugin entry point 'broken'")
    assert message in err


def test_unknown_model_of_a_plugin_that_failed_to_load_says_so(fake_plugin, cli, tmp_path):
    fake_plugin(
        "import not_a_module_anywhere\n",
        dist="rnnbench-indrnn",
        version="0.1",
        entry_point="indrnn",
    )
    status, _out, err = cli(
        "run", "--model", "indrnn", "--task", "adding", "--results-dir", str(tmp_path / "out")
    )
    assert status == 2
    error = err.splitlines()[-1]
    assert error == (
        "rnnbench: error: unknown model 'indrnn': its plugin entry point 'indrnn' "
        "(rnnbench-indrnn 0.1) failed to load and was skipped (ModuleNotFoundError: "
        "No module named 'not_a_module_anywhere')"
    )
    assert not (tmp_path / "out").exists()


def test_unknown_task_of_an_invalid_plugin_says_so(fake_plugin, cli, tmp_path):
    fake_plugin(
        "import rnnbench\n@rnnbench.hookimpl\ndef register_task(register):\n    pass\n",
        dist="rnnbench-parity",
        version="2.0",
        entry_point="parity",
    )
    status, _, err = cli(
        "run", "--model", "lstm", "--task", "parity", "--results-dir", str(tmp_path / "out")
    )
    assert status == 2
    error = err.splitlines()[-1]
    assert error.startswith(
        "rnnbench: error: unknown task 'parity': its plugin entry point "
        "'parity' (rnnbench-parity 2.0) failed to load and was skipped"
    )
    assert "did you mean 'register_tasks'" in error
    assert not (tmp_path / "out").exists()


def test_unrelated_failed_plugin_is_listed_beside_the_suggestion(fake_plugin, cli, tmp_path):
    fake_plugin(
        "raise RuntimeError('boom')\n", dist="other-plugin", version="1.0", entry_point="other"
    )
    status, _, err = cli(
        "run", "--model", "lstmm", "--task", "adding", "--results-dir", str(tmp_path / "out")
    )
    assert status == 2
    assert err.splitlines()[-1] == (
        "rnnbench: error: unknown model 'lstmm' (did you mean 'lstm'?); plugins that failed "
        "to load: entry point 'other' (other-plugin 1.0): RuntimeError: boom"
    )


def test_load_plugins_naming_no_entry_point_says_so(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNBENCH_LOAD_PLUGINS", "nonexistent")
    status, out, err = cli(
        "run", "--model", "lstm", "--task", "adding", "--results-dir", str(tmp_path / "out")
    )
    assert status == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(
        "rnnbench: error: RNNBENCH_LOAD_PLUGINS: no entry point named "
        "'nonexistent' in the 'rnnbench' group (available: "
    )
    assert "lstm" in err and "synthetic" in err and "unknown model" not in err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------- preflight: one batch first
WRONG_SHAPE = '''
import torch
import rnnbench

class Narrow(torch.nn.Module):
    """Declares output_size 128 but returns 64 features."""

    def __init__(self, context):
        super().__init__()
        self.proj = torch.nn.Linear(context.feature_size, 64)
        self.output_size = 128

    def forward(self, inputs, lengths, state=None):
        h = self.proj(inputs)  # (B, T, 64)
        return rnnbench.ModelOutput(sequence=h, pooled=h.mean(1)){extra}

@rnnbench.hookimpl
def register_models(register):
    register(rnnbench.ModelSpec(name="narrow", builder=Narrow,
                                inputs=frozenset({{"features"}})))
'''


def _run_narrow(cli, tmp_path, *extra):
    from conftest import TINY

    tiny = [a for a in TINY if a not in ("model.hidden_size=16", "model.embedding_dim=8")]
    tiny = [a for i, a in enumerate(tiny) if not (a == "--set" and tiny[i + 1].startswith("--"))]
    return cli(
        "run",
        "--model",
        "narrow",
        "--task",
        "adding",
        *tiny,
        "--set",
        "task.seq_len=10",
        *extra,
        "--results-dir",
        str(tmp_path / "r"),
    )


def test_wrong_output_shape_is_one_line_before_training(fake_plugin, cli, tmp_path):
    fake_plugin(
        WRONG_SHAPE.format(extra=""), dist="narrow-plugin", version="0.7", entry_point="narrow"
    )
    status, out, err = _run_narrow(cli, tmp_path)
    assert status == 2 and out == ""
    assert err.splitlines() == [
        "rnnbench: error: model 'narrow' (plugin narrow-plugin 0.7, entry point 'narrow') on task "
        "'adding': pooled "
        "output has shape (64, 64), expected (B, D) = (64, 128) with D = the model's "
        "output_size 128"
    ]
    assert not (tmp_path / "r").exists()  # no results folder, no MLflow database or run


def test_model_that_crashes_on_the_first_batch_is_one_line(fake_plugin, cli, tmp_path):
    code = WRONG_SHAPE.format(extra="").replace("self.proj(inputs)", "self.proj(inputs[..., :1])")
    fake_plugin(code, dist="narrow-plugin", version="0.7", entry_point="narrow")
    status, _, err = _run_narrow(cli, tmp_path)
    assert status == 2 and len(err.splitlines()) == 1
    assert err.startswith(
        "rnnbench: error: model 'narrow' (plugin narrow-plugin 0.7, "
        "entry point 'narrow') on task 'adding': the model fails on the first batch (inputs (64, 10, 2)): "
        "RuntimeError: "
    )
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_first_batch_check_leaves_rng_and_mode_untouched():
    import torch

    from rnnbench.contract.registry import get_registry
    from rnnbench.training.config import build_run_config
    from rnnbench.training.preflight import check_first_batch
    from rnnbench.training.runner import prepare

    registry = get_registry()
    config = build_run_config(
        registry,
        "lstm",
        "adding",
        {
            "task": {"seq_len": "6", "train_size": "32", "val_size": "16", "test_size": "16"},
            "model": {"hidden_size": "8", "dropout": "0.5"},
        },
    )
    system = prepare(config, registry).system
    system.train()
    before = torch.get_rng_state()
    check_first_batch(system, config, registry)
    assert torch.equal(torch.get_rng_state(), before) and system.training


def test_declared_step_states_without_the_method_fail_before_training(fake_plugin, cli, tmp_path):
    code = WRONG_SHAPE.format(extra="").replace("self.output_size = 128", "self.output_size = 64")
    code = code.replace(
        'inputs=frozenset({"features"})', 'inputs=frozenset({"features"}), hidden_states=True'
    )
    fake_plugin(code, dist="narrow-plugin", version="0.7", entry_point="narrow")
    status, _, err = _run_narrow(cli, tmp_path, "--diagnostics", "gradient-flow")
    assert status == 2
    assert err.splitlines() == [
        "rnnbench: error: model 'narrow' (plugin narrow-plugin 0.7, entry point 'narrow') on "
        "task 'adding': --diagnostics gradient-flow calls forward_unrolled(inputs, lengths), which the model "
        "lacks although its spec declares hidden_states"
    ]
    assert not (tmp_path / "r").exists()
