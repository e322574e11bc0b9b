"""A step budget (train.max_steps) that ends mid-epoch, or between two validations of
train.val_check_interval, validates after its last step: the scored best checkpoint
has seen every step, and no validation is logged twice at one step."""

import json

import pytest

# 256 examples in batches of 32: 8 steps an epoch
TINY_ADDING = [
    "--set",
    "task.seq_len=8",
    "--set",
    "task.train_size=256",
    "--set",
    "task.val_size=64",
    "--set",
    "task.test_size=64",
    "--set",
    "model.hidden_size=8",
    "--set",
    "train.batch_size=32",
    "--set",
    "train.progress=false",
    "--set",
    "train.max_epochs=10",
]


@pytest.mark.parametrize(
    ("max_steps", "interval", "in_fit"),
    [
        (12, 0, [8, 12]),  # epoch ends at 8; the budget ends mid-epoch 2
        (12, 5, [5, 10, 12]),  # every 5 steps across epochs; the budget ends at 12
        pytest.param(16, 0, [8, 16], marks=pytest.mark.slow),  # whole epochs: validated once
    ],
)
def test_a_step_budget_validates_at_its_last_step(cli, tmp_path, max_steps, interval, in_fit):
    from mlflow.tracking import MlflowClient

    results = tmp_path / "results"
    code, out, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "adding",
        *TINY_ADDING,
        "--set",
        f"train.max_steps={max_steps}",
        "--set",
        f"train.val_check_interval={interval}",
        "--results-dir",
        str(results),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["steps"] == max_steps
    # the progress lines: one per validation during fit, the last after max_steps steps
    assert [
        int(line.split(", step ")[1].split(":")[0])
        for line in err.splitlines()
        if ", step " in line and "val_loss" in line
    ] == in_fit

    history = MlflowClient(f"sqlite:///{results / 'mlflow.db'}").get_metric_history(
        result["mlflow_run_id"], "val_loss"
    )
    steps = [m.step for m in history]
    # Lightning logs a validation after N steps at step N - 1; the best checkpoint's
    # validation after fit (the run's latest val_loss) at step max_steps
    assert steps == [n - 1 for n in in_fit] + [max_steps]
    assert len(set(steps)) == len(steps)
    during_fit = [m.value for m in history[:-1]]
    assert history[-1].value == min(during_fit) == result["metrics"]["val_loss"]
