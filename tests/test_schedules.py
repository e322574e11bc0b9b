"""Learning-rate schedules and NT-ASGD (rnnbench.training.schedules): each curve against
a hand computation, the switch of the non-monotone trigger, and the options on a run."""

import json
import math

import pytest
import torch

from rnnbench.contract.errors import ConfigError
from rnnbench.contract.registry import get_registry
from rnnbench.training.config import TRAIN_PARAMS, build_run_config
from rnnbench.training.schedules import NonMonotoneTrigger, scheduler_configs


def train(**overrides):
    return {**TRAIN_PARAMS.resolve({}, "train", "test"), "lr": 1.0, **overrides}


def curve(
    settings: dict,
    epochs: int,
    steps_per_epoch: int,
    total_steps: int = 0,
    val: list[float] | None = None,
) -> list[float]:
    """The lr of every optimiser step, stepping the configs as Lightning does: "step"
    schedulers after each optimiser step, "epoch" ones (with the monitored value) after
    each epoch."""
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=settings["lr"])
    configs = scheduler_configs(optimizer, settings, total_steps, "val_loss")
    lrs = []
    for epoch in range(epochs):
        for _ in range(steps_per_epoch):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            for c in configs:
                if c["interval"] == "step":
                    c["scheduler"].step()
        for c in configs:
            if c["interval"] == "epoch":
                if "monitor" in c:
                    c["scheduler"].step(val[epoch])
                else:
                    c["scheduler"].step()
    return lrs


def test_none_is_constant_and_has_no_scheduler():
    assert curve(train(), 2, 3) == [1.0] * 6
    weight = torch.nn.Parameter(torch.zeros(1))
    assert scheduler_configs(torch.optim.SGD([weight], lr=1.0), train(), 0, "val_loss") == []


def test_plateau_divides_by_four_at_every_validation_that_does_not_improve():
    # the PyTorch word-language-model example: factor 0.25, patience 0
    lrs = curve(train(lr_schedule="plateau"), 5, 1, val=[5.0, 4.0, 4.5, 3.0, 3.0])
    # epoch 2 (4.5 > 4.0) cuts once; epoch 4 (3.0 is not better than 3.0) cuts again
    assert lrs == [1.0, 1.0, 1.0, 0.25, 0.25]
    lrs = curve(
        train(lr_schedule="plateau", lr_factor=0.5, lr_patience=1),
        5,
        1,
        val=[5.0, 6.0, 6.0, 6.0, 6.0],
    )
    # patience 1: the second bad validation in a row cuts, then the count restarts
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5]


def test_step_multiplies_by_gamma_every_step_size_epochs():
    lrs = curve(train(lr_schedule="step", lr_step_size=2, lr_gamma=0.5), 5, 2)
    assert lrs == pytest.approx([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25])


def test_cosine_reaches_lr_min_over_the_step_budget():
    lrs = curve(train(lr_schedule="cosine", lr_min=0.1), 1, 9, total_steps=8)
    hand = [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / 8)) for s in range(9)]
    assert lrs == pytest.approx(hand)
    assert lrs[0] == pytest.approx(1.0) and lrs[8] == pytest.approx(0.1)


def test_warmup_is_linear_then_hands_over_to_the_schedule():
    lrs = curve(train(warmup_steps=4), 1, 6)
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])
    # with cosine, the decay spans the steps after the warm-up
    lrs = curve(train(lr_schedule="cosine", warmup_steps=2), 1, 7, total_steps=6)
    hand = [0.5, 1.0] + [0.5 * (1 + math.cos(math.pi * s / 4)) for s in range(5)]
    assert lrs == pytest.approx(hand)
    # with step decay, the factors multiply
    lrs = curve(train(lr_schedule="step", lr_step_size=1, lr_gamma=0.5, warmup_steps=3), 2, 3)
    assert lrs == pytest.approx([1 / 3, 2 / 3, 1.0, 0.5, 0.5, 0.5])


def test_nonmonotone_trigger_switches_when_worse_than_the_best_before_the_last_n():
    trigger = NonMonotoneTrigger(2)
    # history [3, 2, 2.5] -> the fourth value 2.1 is compared with min([3]) = 3: no switch
    assert [trigger.update(v) for v in (3.0, 2.0, 2.5, 2.1)] == [False] * 4
    # fifth: min of all but the last two = min(3, 2) = 2; 2.05 > 2: switch
    assert trigger.update(2.05) is True
    never = NonMonotoneTrigger(2)
    assert not any(never.update(v) for v in (5.0, 4.0, 3.0, 2.0, 1.0))


def test_asgd_with_a_schedule_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="train.lr_schedule=step: optimizer asgd"):
        build_run_config(
            get_registry(),
            "lstm",
            "adding",
            {"train": {"optimizer": "asgd", "lr_schedule": "step"}},
        )


def test_describe_train_lists_the_schedule_options(cli):
    code, out, _ = cli("describe", "train")
    assert code == 0
    for name in (
        "lr_schedule",
        "lr_factor",
        "lr_patience",
        "lr_step_size",
        "lr_gamma",
        "lr_min",
        "warmup_steps",
        "asgd_nonmono",
    ):
        assert name in out
    assert "asgd" in out


def metric_history(results, run_id: str, name: str) -> list[tuple[int, float]]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, name))


def run_lm(cli, tmp_path, *sets: str) -> dict:
    data = tmp_path / "lm.txt"
    data.write_text("to be or not to be that is the question\n" * 60)
    args = [
        "run",
        "--model",
        "lstm",
        "--task",
        "language-modelling",
        "--json",
        "--results-dir",
        str(tmp_path / "results"),
        "--set",
        f"task.dataset={data}",
        "--set",
        "task.bptt=8",
        "--set",
        "model.hidden_size=16",
        "--set",
        "model.embedding_dim=8",
        "--set",
        "train.batch_size=8",
        "--set",
        "train.progress=false",
        "--set",
        "train.patience=20",
    ]
    for s in sets:
        args += ["--set", s]
    code, out, err = cli(*args)
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_run_logs_its_learning_rate_every_logging_step(cli, tmp_path):
    result = run_lm(
        cli,
        tmp_path,
        "train.lr_schedule=step",
        "train.lr_gamma=0.5",
        "train.max_epochs=3",
        "train.lr=0.01",
        "train.optimizer=sgd",
    )
    lrs = metric_history(tmp_path / "results", result["mlflow_run_id"], "lr")
    steps_per_epoch = result["steps"] // 3
    assert len(lrs) >= 3
    for step, lr in lrs:  # the step's epoch decides its lr
        assert lr == pytest.approx(0.01 * 0.5 ** (step // steps_per_epoch))


@pytest.mark.slow
def test_plateau_in_a_run_cuts_the_lr_after_each_validation_that_does_not_improve(cli, tmp_path):
    # SGD at lr 5 on a tiny corpus: some validations do not improve
    result = run_lm(
        cli,
        tmp_path,
        "train.lr_schedule=plateau",
        "train.lr_factor=0.5",
        "train.max_epochs=6",
        "train.lr=5",
        "train.optimizer=sgd",
        "train.momentum=0",
        "train.patience=10",
    )
    results = tmp_path / "results"
    val = [v for _, v in metric_history(results, result["mlflow_run_id"], "val_loss")]
    lrs = metric_history(results, result["mlflow_run_id"], "lr")
    steps_per_epoch = result["steps"] // 6
    expected, best, cuts = [], float("inf"), 0
    for value in val:  # lr of each epoch, by hand: 5 * 0.5 ** (cuts so far)
        expected.append(5 * 0.5**cuts)
        if value < best:
            best = value
        else:
            cuts += 1
    assert cuts >= 1, f"no validation without improvement: {val}"
    for step, lr in lrs:
        assert lr == pytest.approx(expected[step // steps_per_epoch])


@pytest.mark.slow
def test_nt_asgd_switches_and_validates_the_averaged_weights(cli, tmp_path, monkeypatch):
    from rnnbench.training import schedules, system

    fired = iter([False, True])  # the trigger fires at the second validation
    monkeypatch.setattr(
        schedules.NonMonotoneTrigger, "update", lambda self, value: next(fired, False)
    )
    seen = []  # per validation while fitting: (optimizer, averages swapped into the weights)
    original = system.BenchmarkSystem.on_validation_epoch_start

    def on_validation_epoch_start(self):
        fitting = self.trainer.state.fn == "fit"
        optimizer = self.trainer.optimizers[0] if fitting else None
        before = (
            [(p.detach().clone(), ax.clone()) for p, ax in schedules.averaged_weights(optimizer)]
            if fitting
            else []
        )
        original(self)
        if fitting:
            after = schedules.averaged_weights(optimizer)
            swapped = bool(before) and all(
                torch.equal(p, old_ax) and torch.equal(ax, old_p)
                for (p, ax), (old_p, old_ax) in zip(after, before, strict=True)
            )
            differ = any(not torch.equal(p, ax) for p, ax in before)
            seen.append((type(optimizer).__name__, swapped and differ))

    monkeypatch.setattr(
        system.BenchmarkSystem, "on_validation_epoch_start", on_validation_epoch_start
    )
    result = run_lm(cli, tmp_path, "train.optimizer=asgd", "train.lr=1", "train.max_epochs=4")
    switch = metric_history(tmp_path / "results", result["mlflow_run_id"], "asgd_switch_epoch")
    assert [value for _, value in switch] == [1.0]
    # SGD for two epochs, then ASGD, validated with its averages (not the iterates)
    assert seen == [("SGD", False), ("SGD", False), ("ASGD", True), ("ASGD", True)]


def test_schedule_options_can_be_searched():
    import optuna

    from rnnbench.sweep.config import build_sweep_config
    from rnnbench.sweep.space import sample_config

    registry = get_registry()
    config = build_sweep_config(
        registry,
        None,
        {
            "models": ["lstm"],
            "tasks": ["adding"],
            "n_trials": 2,
            "search_train": ["lr_schedule", "warmup_steps", "lr_factor", "lr_patience"],
        },
    )
    chosen = {
        "train.lr_schedule": "cosine",
        "train.warmup_steps": 100,
        "train.lr_factor": 0.5,
        "train.lr_patience": 2,
    }
    trial = optuna.trial.FixedTrial(
        {
            **chosen,
            "model.embedding_dim": 32,
            "model.hidden_size": 32,
            "model.num_layers": 1,
            "model.dropout": 0.0,
            "model.forget_bias": 1.0,
            "model.variant": "vanilla",
            "model.init": "default",
            "model.init_scale": 1.0,
        }
    )
    run = sample_config(trial, config, registry, "adding", "lstm")
    assert {
        f"train.{k}": run.train[k]
        for k in ("lr_schedule", "warmup_steps", "lr_factor", "lr_patience")
    } == chosen
