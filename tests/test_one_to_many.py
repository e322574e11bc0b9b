"""The 1-vs-N waveform task: data from the seed, the two feeds, the baseline, training."""

import json
import math

import pytest
import torch

from rnnbench.contract.errors import ConfigError
from rnnbench.contract.registry import get_registry
from rnnbench.taskkit import StepRegression
from rnnbench.testing import check_task_spec

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

SIZES = {"train_size": 32, "val_size": 16, "test_size": 16}


def make(seed=0, **options):
    spec = get_registry().task("waveform")
    task = spec.factory(spec.options.resolve({**SIZES, **options}, "task"), batch_size=8, seed=seed)
    task.prepare()
    return task


def split(task, name):
    return task.splits[("train", "validation", "test").index(name)].tensors


def test_contract_and_bad_options():
    check_task_spec(
        get_registry().task("waveform"),
        {"seq_len": 12, **SIZES},
        bad_options=[
            {"seq_len": 6, "max_freq": 3.0},
            {"components": 3},
            {"feed": "last"},
            {"max_freq": 0.5},
            {"train_size": 0},
        ],
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"seq_len": 6, "max_freq": 3.0},
            "task.max_freq: 3 cycles in task.seq_len=6 samples "
            "reaches the Nyquist limit of 3 (seq_len / 2)",
        ),
        ({"components": 3}, "task.components"),
        ({"feed": "last"}, "task.feed"),
    ],
)
def test_bad_options_are_one_line_errors(options, message):
    with pytest.raises(ConfigError) as error:
        make(**{k: str(v) for k, v in options.items()})
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_data_follows_from_the_seed_and_evaluation_sets_are_fixed():
    a, b, c = make(seed=0), make(seed=0), make(seed=1)
    for name in ("train", "validation", "test"):
        assert torch.equal(split(a, name)["target"], split(b, name)["target"])
    assert not torch.equal(split(a, "train")["target"], split(c, "train")["target"])
    assert torch.equal(split(a, "test")["inputs"], split(c, "test")["inputs"])


@pytest.mark.parametrize("components", [1, 2])
def test_the_target_is_the_sum_of_sines_the_vector_describes(components):
    T = 20
    task = make(seq_len=T, components=components, max_freq=4.0, feed="every")
    data = split(task, "train")
    x, y = data["inputs"], data["target"]  # (N, T, 4K), (N, T)
    assert x.shape == (32, T, 4 * components) and y.shape == (32, T)
    assert torch.equal(x, x[:, :1].expand_as(x))  # the same vector at every step
    v = x[:, 0].reshape(32, components, 4)  # (N, K, [a, f/max, sin, cos])
    a, f, phase = v[..., 0:1], v[..., 1:2] * 4.0, torch.atan2(v[..., 2:3], v[..., 3:4])
    t = torch.arange(T)
    expected = (a * torch.sin(2 * math.pi * f * t / T + phase)).sum(1)  # (N, T)
    assert torch.allclose(y, expected, atol=1e-5)
    assert ((a >= 0.5) & (a <= 1.5)).all() and ((f >= 1.0) & (f <= 4.0)).all()


def test_feed_first_gives_the_vector_once_then_zeros():
    every = split(make(feed="every"), "train")["inputs"]
    first = split(make(feed="first"), "train")["inputs"]
    assert torch.equal(first[:, 0], every[:, 0])
    assert not first[:, 1:].any()
    assert torch.equal(
        split(make(feed="first"), "train")["target"], split(make(feed="every"), "train")["target"]
    )  # the same waveforms


def test_baseline_is_the_training_mean_waveform():
    """By hand: each step's training mean, scored on the test steps; with uniform phases
    it is close to K * E[a^2] / 2 = K * (1/12 + 1) / 2 = 0.5417 K."""
    task = make(seq_len=10)
    train, test = split(task, "train")["target"], split(task, "test")["target"]
    by_hand = (
        sum(float(((test[:, t] - train[:, t].mean()) ** 2).sum()) for t in range(10)) / test.numel()
    )
    assert task.baseline() == pytest.approx(by_hand, rel=1e-6)
    for k in (1, 2):
        big = make(seq_len=10, components=k, train_size=4000, test_size=4000)
        assert big.baseline() == pytest.approx(k * 13 / 24, rel=0.05)


def test_step_regression_head_and_metric_shapes():
    objective = StepRegression()
    head = objective.head(5)
    with torch.no_grad():
        prediction = head(torch.randn(3, 7, 5))
    assert prediction.shape == (3, 7)
    target = torch.zeros(3, 7)
    metrics = objective.metrics()
    objective.update_metrics(metrics, prediction, target)
    assert float(metrics["mse"].compute()) == pytest.approx(float((prediction**2).mean()), rel=1e-5)


def test_a_short_run_learns_below_the_baseline(cli, tmp_path):
    code, out, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "waveform",
        "--set",
        "task.seq_len=12",
        "--set",
        "task.feed=every",
        "--set",
        "task.train_size=1024",
        "--set",
        "task.val_size=64",
        "--set",
        "task.test_size=64",
        "--set",
        "model.hidden_size=32",
        "--set",
        "train.lr=0.02",
        "--set",
        "train.batch_size=32",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "6",
        "--results-dir",
        str(tmp_path),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    history = [
        m.value
        for m in sorted(
            client.get_metric_history(result["mlflow_run_id"], "train_loss"), key=lambda m: m.step
        )
    ]
    assert len(history) == 6 and history[-1] < 0.5 * history[0], history
    assert result["metrics"]["test_mse"] < 0.5 * result["baseline"]
