"""Diverged means diverged: a non-finite validation value, or a min-mode validation value
above 100x the task's trivial baseline, is recorded as diverged (tags, NaN kept as NaN,
never the largest float) and is never a sweep's best trial."""

import json
import math

import optuna
import pytest
from conftest import TINY
from mlflow.tracking import MlflowClient
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from rnnbench.contract.specs import TaskSpec
from rnnbench.training.divergence import DIVERGENCE_FACTOR, divergence

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

LARGEST_FLOAT = 1.7976931348623157e308
SMALL = [
    a
    for i, a in enumerate(TINY)
    if "embedding_dim" not in a
    and "embedding_dim" not in (TINY[i + 1] if i + 1 < len(TINY) else "")
]

MODELS = """
import torch
import rnnbench
from rnnbench.nn import FusedRecurrent

def wrap(context, hidden_size, change):
    model = FusedRecurrent(torch.nn.GRU, context, 4, hidden_size, 1, 0.0)
    real = model.forward
    def forward(inputs, lengths, state=None):
        out = real(inputs, lengths, state)
        return out._replace(pooled=change(out.pooled))
    model.forward = forward
    return model

def build_loud(context, hidden_size=4):  # finite, far off: with lr=0 it stays so
    return wrap(context, hidden_size, lambda pooled: pooled * 1e4)

def build_nan(context, hidden_size=4):
    return wrap(context, hidden_size, lambda pooled: pooled * float("nan"))

@rnnbench.hookimpl
def register_models(register):
    params = rnnbench.ParamSet((rnnbench.Param("hidden_size", int, 4),))
    register(rnnbench.ModelSpec(name="loud-model", builder=build_loud, params=params))
    register(rnnbench.ModelSpec(name="nan-model", builder=build_nan, params=params))
"""

SPEC_MIN = TaskSpec(
    name="t",
    factory=None,
    input_kind="features",
    output="pooled",
    monitor="val_loss",
    mode="min",
    main_metric="mse",
)
SPEC_MAX = TaskSpec(
    name="t",
    factory=None,
    input_kind="tokens",
    output="pooled",
    monitor="val_acc",
    mode="max",
    main_metric="acc",
)


@pytest.mark.parametrize(
    ("metrics", "baseline", "spec", "training", "reason"),
    [
        ({"val_loss": 0.1, "val_mse": 0.1}, 0.167, SPEC_MIN, False, None),
        ({"val_loss": 1.6, "val_mse": 1.6}, 0.167, SPEC_MIN, False, None),  # bad, not diverged
        (
            {"val_loss": 2.26e9, "val_mse": 2.26e9},
            0.167,
            SPEC_MIN,
            False,
            "val_mse 2.26e+09 is above 100x the trivial baseline 0.167",
        ),
        (
            {"val_loss": 17.0, "val_mse": 17.0},
            0.167,
            SPEC_MIN,
            False,
            "val_mse 17 is above 100x the trivial baseline 0.167",
        ),
        ({"val_loss": 1.2, "val_mse": 1.2}, 0.12, SPEC_MIN, False, None),  # predicts 0: untrained
        ({"val_loss": math.nan, "val_mse": 0.1}, 0.167, SPEC_MIN, False, "val_loss is nan"),
        ({"val_loss": math.inf}, 0.167, SPEC_MIN, False, "val_loss is inf"),
        ({}, 0.167, SPEC_MIN, False, "val_loss is None"),
        ({"val_loss": 0.1}, 0.167, SPEC_MIN, True, "the training loss became NaN or infinite"),
        ({"val_loss": 5.0}, None, SPEC_MIN, False, None),  # no baseline: no factor rule
        ({"val_acc": 0.01}, 0.5, SPEC_MAX, False, None),  # bounded metric: only non-finite
        ({"val_acc": math.nan}, 0.5, SPEC_MAX, False, "val_acc is nan"),
    ],
)
def test_divergence_rule(metrics, baseline, spec, training, reason):
    assert DIVERGENCE_FACTOR == 100
    assert divergence(metrics, baseline, spec, training) == reason


def run_json(cli, tmp_path, model, *extra):
    results = tmp_path / "results"
    code, out, err = cli(
        "run",
        "--model",
        model,
        "--task",
        "adding",
        *SMALL,
        "--results-dir",
        str(results),
        "--json",
        *extra,
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    return result, client, client.get_run(result["mlflow_run_id"])


def all_values(client, run):
    return [
        m.value for key in run.data.metrics for m in client.get_metric_history(run.info.run_id, key)
    ]


def test_a_finite_but_exploded_run_is_recorded_as_diverged(cli, tmp_path, fake_plugin):
    fake_plugin(MODELS)
    result, _client, run = run_json(cli, tmp_path, "loud-model", "--set", "train.lr=0")
    assert result["diverged"] and result["solved"] is None
    assert "above 100x the trivial baseline" in result["diverged_reason"]
    tags = run.data.tags
    assert tags["rnnbench.diverged"] == "True" and tags["rnnbench.status"] == "diverged"
    assert tags["rnnbench.diverged_reason"] == result["diverged_reason"]
    assert run.info.status == "FINISHED"  # it trained to the end; the tags say diverged
    # the honest, finite value is kept
    assert run.data.metrics["val_mse"] > 100 * run.data.metrics["baseline"]
    assert math.isfinite(run.data.metrics["val_loss"])


def test_a_nan_run_keeps_nan_in_mlflow_never_the_largest_float(cli, tmp_path, fake_plugin):
    fake_plugin(MODELS)
    result, client, run = run_json(cli, tmp_path, "nan-model")
    assert result["diverged"]
    assert result["diverged_reason"] == "the training loss became NaN or infinite"
    assert run.data.tags["rnnbench.diverged"] == "True"
    assert math.isnan(run.data.metrics["val_loss"])  # present, as NaN
    assert math.isnan(run.data.metrics["test_mse"])
    assert LARGEST_FLOAT not in [abs(v) for v in all_values(client, run)]


def test_tracker_writes_nan_and_inf_as_nan(tmp_path):
    from rnnbench.tracking.mlflow_tracker import MlflowTracker

    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "e")
    run_id = tracker.start_run("r", {})
    tracker.log_metrics(
        run_id, {"val_loss": math.nan, "test_mse": math.inf, "test_mae": -math.inf, "ok": 0.5}
    )
    metrics = tracker.client.get_run(run_id).data.metrics
    assert math.isnan(metrics["val_loss"]) and math.isnan(metrics["test_mse"])
    assert math.isnan(metrics["test_mae"]) and metrics["ok"] == 0.5
    # per-step records (the Lightning logger's) skip NaN, and inf with it (as NaN)
    records = MlflowTracker.metric_records(
        {"loss": math.inf, "skipped": math.nan, "x": 1.0}, step=3
    )
    assert [(r.key, r.value) for r in records] == [("x", 1.0)]
    kept = MlflowTracker.metric_records({"loss": math.inf}, step=3, keep_nan=True)
    assert [r.key for r in kept] == ["loss"] and math.isnan(kept[0].value)


def test_a_diverged_complete_trial_from_an_older_study_is_never_the_best():
    from rnnbench.sweep.studies import best_trial as _best_trial

    study = optuna.create_study(direction="minimize")
    dist = {"x": FloatDistribution(0, 1)}
    for value, baseline in ((0.3, 0.167), (2.26e9, 0.167), (0.2, None)):
        study.add_trial(
            create_trial(
                value=value,
                params={"x": 0.5},
                distributions=dist,
                user_attrs={"baseline": baseline},
            )
        )
    study.add_trial(create_trial(state=TrialState.PRUNED, params={"x": 0.1}, distributions=dist))
    assert _best_trial(study).value == 0.2
    only_diverged = optuna.create_study(direction="minimize")
    only_diverged.add_trial(
        create_trial(
            value=50.0, params={"x": 0.5}, distributions=dist, user_attrs={"baseline": 0.1}
        )
    )
    assert _best_trial(only_diverged) is None


def test_a_sweep_prunes_diverged_trials_and_never_picks_them(cli, tmp_path, fake_plugin):
    fake_plugin(MODELS)
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "name: div\nmodels: [loud-model, gru]\ntasks: [adding]\nn_trials: 2\nseeds: 1\n"
        "pruner: none\nsearch_train: []\ntrain: {max_epochs: 1, lr: 0.0}\n"
        "task_options:\n  adding: {seq_len: 6, train_size: 64, val_size: 32, test_size: 32}\n"
        "model_params:\n  gru: {hidden_size: 4, num_layers: 1, dropout: 0.0}\n"
    )
    results = tmp_path / "results"
    code, out, err = cli("sweep", "--config", str(config), "--results-dir", str(results), "--json")
    assert code == 0, err
    pairs = {p["model"]: p for p in json.loads(out.strip().splitlines()[-1])["pairs"]}
    loud = pairs["loud-model"]
    assert loud["trials"] == {"complete": 0, "pruned": 2, "fail": 0}
    assert loud["best_trial"] is None and "above 100x the trivial baseline" in loud["note"]
    assert pairs["gru"]["best_trial"] is not None  # lr=0 but an untrained GRU is not 100x off
    study = optuna.load_study(
        study_name="div:adding:loud-model", storage=f"sqlite:///{results / 'optuna.db'}"
    )
    assert all(t.user_attrs["reason"].startswith("diverged: val_mse") for t in study.trials)
