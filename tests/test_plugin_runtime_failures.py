"""A plugin that raises while a run uses it (a task factory, Task.prepare, its data
module, a model builder) is one line naming the plugin, its version and entry point, in
`run` and in `sweep`; a sweep pair that fails before training stops after its first
trial, is reported once, and the leaderboard says why it is missing. Optuna's own
per-trial traceback never reaches the terminal: it goes to a log file the line names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

FAILING_TASK = """
import torch
import rnnbench
from rnnbench.taskkit import Classification, SyntheticTask, size_options

WHERE = {where!r}

class Bits(SyntheticTask):
    input_kind, output = "tokens", "pooled"

    def __init__(self, options, batch_size, seed):
        if WHERE == "factory":
            raise ValueError("kaput in the factory")
        super().__init__(options, batch_size, seed)
        self.objective = Classification(2)

    def prepare(self):
        if WHERE == "prepare":
            raise KeyError("no such column")
        super().prepare()
        if WHERE == "datamodule":
            self.datamodule.val_dataloader = self.broken_loader

    def broken_loader(self):
        raise OSError("the loader cannot open its shard")

    def generate(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        bits = torch.randint(0, 2, (n, 4), generator=g)
        return {{"inputs": bits + 1, "lengths": torch.full((n,), 4), "target": bits[:, 0]}}

    def context(self):
        return rnnbench.ModelContext("tokens", "pooled", vocab_size=3, padding_idx=0)

@rnnbench.hookimpl
def register_tasks(register):
    register(rnnbench.TaskSpec(
        name="bits", factory=Bits, input_kind="tokens", output="pooled",
        options=rnnbench.ParamSet(size_options(4, "T", 64, 32, 32)), monitor="val_acc",
        mode="max", main_metric="acc", synthetic=True))
"""

LABEL = "task 'bits' (plugin bits-plugin 0.5, entry point 'bits')"
CASES = {
    "factory": f"{LABEL}: its factory raised ValueError: kaput in the factory",
    "prepare": f"{LABEL}: Task.prepare() raised KeyError: 'no such column'",
    "datamodule": f"{LABEL}: its data module (first validation batch) raised OSError: the "
    "loader cannot open its shard",
}


def _install(fake_plugin, where):
    fake_plugin(
        FAILING_TASK.format(where=where), dist="bits-plugin", version="0.5", entry_point="bits"
    )


@pytest.mark.parametrize("where", sorted(CASES))
def test_run_names_the_task_plugin_in_one_line(fake_plugin, cli, tmp_path, where):
    _install(fake_plugin, where)
    status, out, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "bits",
        "--set",
        "model.hidden_size=8",
        "--set",
        "train.progress=false",
        "--results-dir",
        str(tmp_path / "r"),
    )
    assert status == 2 and out == ""
    assert err.splitlines() == [f"rnnbench: error: {CASES[where]}"]
    assert not (tmp_path / "r").exists()  # nothing written


def test_a_plugins_own_refusal_passes_unchanged():
    from rnnbench.contract.errors import ConfigError, PluginError, plugin_call

    def refuse():
        raise ConfigError("task.seq_len: must be even")

    with pytest.raises(ConfigError, match=r"^task.seq_len: must be even$"):
        plugin_call("task 'x' (plugin p 1, entry point 'x')", "its factory", refuse)
    with pytest.raises(PluginError) as caught:
        plugin_call("LABEL", "its factory", lambda: 1 / 0)
    assert str(caught.value) == "LABEL: its factory raised ZeroDivisionError: division by zero"
    assert isinstance(caught.value.__cause__, ZeroDivisionError)  # kept for the log file


SWEEP = """\
name: tiny
models: [gru]
tasks: [adding, bits]
n_trials: 3
seeds: 1
pruner: none
train: {max_epochs: 1, progress: false}
task_options:
  adding: {seq_len: 6, train_size: 64, val_size: 32, test_size: 32}
model_params:
  gru: {hidden_size: 8, num_layers: 1, dropout: 0.0}
"""


@pytest.mark.slow
@pytest.mark.parametrize("where", ["factory", "datamodule"])
def test_sweep_stops_a_failing_pair_after_one_line_and_goes_on(fake_plugin, cli, tmp_path, where):
    _install(fake_plugin, where)
    config = tmp_path / "sweep.yaml"
    config.write_text(SWEEP)
    results = tmp_path / "results"
    status, out, err = cli(
        "sweep", "--config", str(config), "--results-dir", str(results), "--json"
    )
    assert status == 0, err
    assert "Traceback" not in err and "[W " not in err  # Optuna's block is gone
    failing = [line for line in err.splitlines() if "bits" in line and "fail" in line]
    assert len(failing) == 1, err  # one line for the pair, not one per trial
    assert CASES[where] in failing[0] and "the pair stops here" in failing[0]
    log = Path(re.search(r"\(traceback: ([^)]+)\)", failing[0]).group(1))
    assert log.is_file() and "Traceback" in log.read_text()
    assert ("ValueError" if where == "factory" else "OSError") in log.read_text()

    summary = json.loads(out.strip().splitlines()[-1])
    by_task = {p["task"]: p for p in summary["pairs"]}
    assert by_task["bits"]["trials"]["fail"] == 1  # stopped after the first failure
    assert by_task["bits"]["note"].startswith(
        "not on the leaderboard: trial 0 failed before training"
    )
    assert [r["task"] for r in summary["leaderboard"]] == ["adding"]  # the sweep went on
    board = (results / "sweeps" / "tiny" / "leaderboard.md").read_text()
    assert "Pairs missing from the leaderboard" in board and "gru on bits" in board
