"""Diagnostics, samplers and pruners as plugins: one file each, through the entry points."""

import json

import pytest
from conftest import TINY

DIAGNOSTIC_PLUGIN = '''
import json
import rnnbench
from lightning.pytorch.callbacks import Callback

class WeightNorm(Callback):
    """The total parameter norm after every training epoch."""

    def __init__(self, interval):
        self.norms = []

    def on_train_epoch_end(self, trainer, pl_module):
        self.norms.append(float(sum(p.detach().norm() ** 2 for p in pl_module.parameters()) ** 0.5))

    def write(self, folder):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "weight_norm.json"
        path.write_text(json.dumps(self.norms))
        return [path]

def only_gru(model_spec, hparams):
    return None if model_spec.name == "gru" else "weight-norm is tried on gru only"

@rnnbench.hookimpl
def register_diagnostics(register):
    register(rnnbench.DiagnosticSpec("weight-norm", WeightNorm, applies=only_gru))
'''

SAMPLER_PLUGIN = """
import optuna
import rnnbench

SEEDS = []

def qmc(seed):
    SEEDS.append(seed)
    return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)

@rnnbench.hookimpl
def register_samplers(register):
    register(rnnbench.SamplerSpec("qmc", qmc, "quasi-Monte Carlo (Sobol)"))
"""

SWEEP = """\
name: ext
tasks: [adding]
models: [gru]
n_trials: 2
seeds: 1
pruner: none
train: {max_epochs: 2, patience: 5}
task_options:
  adding: {seq_len: 6, train_size: 128, val_size: 64, test_size: 64}
model_params:
  gru: {hidden_size: 8, num_layers: 1, dropout: 0.0}
"""


@pytest.mark.slow
def test_a_plugin_diagnostic_runs_and_logs_its_files(cli, fake_plugin, tmp_path):
    from mlflow.tracking import MlflowClient

    fake_plugin(DIAGNOSTIC_PLUGIN, dist="weight-norm-plugin")
    results = tmp_path / "results"
    code, out, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "adding",
        *TINY,
        "--diagnostics",
        "weight-norm",
        "--json",
        "--results-dir",
        str(results),
    )
    assert code == 0, err
    run_id = json.loads(out.strip().splitlines()[-1])["mlflow_run_id"]
    norms = json.loads((results / "runs" / run_id / "diagnostics" / "weight_norm.json").read_text())
    assert len(norms) == 2 and all(n > 0 for n in norms)
    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    assert [a.path for a in client.list_artifacts(run_id, "diagnostics")] == [
        "diagnostics/weight_norm.json"
    ]
    # its own applicability rule, checked before anything is written
    code, _, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "adding",
        *TINY,
        "--diagnostics",
        "weight-norm",
        "--results-dir",
        str(tmp_path / "other"),
    )
    assert code == 2 and "weight-norm is tried on gru only" in err
    assert not (tmp_path / "other").exists()
    code, _, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "adding",
        "--diagnostics",
        "weight-norn",
        "--results-dir",
        str(tmp_path / "other"),
    )
    assert code == 2 and "unknown diagnostic 'weight-norn' (did you mean 'weight-norm'?)" in err


@pytest.mark.slow
def test_a_plugin_sampler_drives_a_sweep(cli, fake_plugin, tmp_path):
    import importlib

    module = importlib.import_module(fake_plugin(SAMPLER_PLUGIN, dist="qmc-plugin"))
    config = tmp_path / "sweep.yaml"
    config.write_text(SWEEP)
    code, _out, err = cli(
        "sweep",
        "--config",
        str(config),
        "--sampler",
        "qmc",
        "--results-dir",
        str(tmp_path / "results"),
        "--json",
    )
    assert code == 0, err
    assert module.SEEDS == [0, 0, 1]  # the study's, then one per trial seeded by its position
    code, _, err = cli(
        "sweep",
        "--config",
        str(config),
        "--sampler",
        "sobol",
        "--results-dir",
        str(tmp_path / "r2"),
    )
    assert code == 2 and "unknown sampler 'sobol'" in err and "qmc" in err


def test_list_shows_every_kind_with_its_plugin(cli):
    code, out, _ = cli("list")
    assert code == 0
    for header in ("models:", "tasks:", "diagnostics:", "samplers:", "pruners:"):
        assert header in out
    assert "gradient-flow" in out and "hyperband" in out
