"""Expected best of n trials (Dodge et al. 2019) and the sweep's cost by model."""

import itertools
import math
import statistics

import pytest

from rnnbench.tracking import MemoryTracker, cost, expected_best_report
from rnnbench.tracking.expected_best import Curve, curves_of_sweep, expected_best

SCORES = [0.2, 0.5, 0.9]  # three trials' validation scores


def test_expected_best_matches_a_hand_computation():
    # maximised, n=2: P(best = 0.2, 0.5, 0.9) = 1/9, 3/9, 5/9
    mean, std = expected_best(SCORES, 2, "max")
    assert mean == pytest.approx((0.2 * 1 + 0.5 * 3 + 0.9 * 5) / 9)  # 0.68889
    second = (0.04 * 1 + 0.25 * 3 + 0.81 * 5) / 9
    assert std == pytest.approx(math.sqrt(second - (6.2 / 9) ** 2))  # 0.25142
    # minimised, n=2: worst first 0.9, 0.5, 0.2 with the same weights
    mean, _ = expected_best(SCORES, 2, "min")
    assert mean == pytest.approx((0.9 * 1 + 0.5 * 3 + 0.2 * 5) / 9)  # 0.37778
    # n=1 is the mean and the population std of the scores
    mean, std = expected_best(SCORES, 1, "max")
    assert mean == pytest.approx(statistics.fmean(SCORES))
    assert std == pytest.approx(statistics.pstdev(SCORES))


@pytest.mark.parametrize("mode", ["max", "min"])
def test_expected_best_equals_the_mean_over_every_draw_with_replacement(mode):
    values = [0.3, 0.1, 0.3, 0.7]  # a tie included
    pick = max if mode == "max" else min
    for n in (1, 2, 3):
        bests = [pick(draw) for draw in itertools.product(values, repeat=n)]
        mean, std = expected_best(values, n, mode)
        assert mean == pytest.approx(statistics.fmean(bests))
        assert std == pytest.approx(statistics.pstdev(bests))
    # many draws: the best trial for certain
    assert expected_best(values, 200, mode)[0] == pytest.approx(pick(values))


def test_expected_best_needs_a_value():
    with pytest.raises(ValueError):
        expected_best([], 1)


def trial_run(
    tracker,
    model,
    trial,
    status,
    value,
    *,
    tag_status=None,
    task="adding",
    monitor="val_loss",
    mode="min",
    cpu=1.0,
    phase="search",
):
    run = tracker.start_run(
        f"{task}/{model} trial {trial}",
        {
            "rnnbench.sweep": "s",
            "rnnbench.phase": phase,
            "rnnbench.task": task,
            "rnnbench.model": model,
            "rnnbench.trial": str(trial),
            "rnnbench.mode": mode,
            "rnnbench.monitor": monitor,
            "rnnbench.main_metric": "mse",
        },
    )
    if value is not None:
        tracker.log_metrics(run, {monitor: value + 1.0}, step=1)  # an earlier epoch
        tracker.log_metrics(run, {monitor: value}, step=2)  # the last one counts
    if cpu is not None:
        tracker.log_metrics(run, {"cpu_seconds": cpu})
    if tag_status:
        tracker.set_tags(run, {"rnnbench.status": tag_status})
    tracker.end_run(run, status)
    return run


@pytest.fixture
def tracker():
    tracker = MemoryTracker()
    for trial, value in enumerate([0.4, 0.1, 0.3]):  # lstm: three complete trials
        trial_run(tracker, "lstm", trial, "FINISHED", value, cpu=2.0)
    trial_run(tracker, "lstm", 3, "FAILED", None, tag_status="failed", cpu=0.5)
    trial_run(tracker, "rnn", 0, "FINISHED", 0.2)
    trial_run(tracker, "rnn", 1, "KILLED", 0.9, tag_status="pruned")  # reached 0.9
    trial_run(tracker, "rnn", 2, "KILLED", 0.05, tag_status="killed", cpu=None)  # worker died
    trial_run(tracker, "rnn", 3, "FINISHED", math.nan)  # diverged to NaN
    trial_run(tracker, "rnn", 0, "FINISHED", 0.5, phase="final", cpu=4.0)
    return tracker


def test_curves_count_complete_and_pruned_trials_and_leave_out_the_rest(tracker):
    curves = {c.model: c for c in curves_of_sweep(tracker, "s")}
    assert sorted(curves["lstm"].values) == [0.1, 0.3, 0.4] and curves["lstm"].left_out == 1
    assert sorted(curves["rnn"].values) == [0.2, 0.9] and curves["rnn"].left_out == 2
    assert curves["rnn"].metric == "val_loss" and curves["rnn"].mode == "min"
    points = curves["lstm"].points()
    assert [p[0] for p in points] == [1, 2, 3]
    assert points[0][1] == pytest.approx(statistics.fmean([0.1, 0.3, 0.4]))
    # the band never leaves the observed scores
    assert all(0.1 <= low <= mean <= high <= 0.4 for _, mean, low, high in points)


def test_table_at_one_half_and_all_trials_marks_who_leads(tracker):
    curves = curves_of_sweep(tracker, "s")
    text = expected_best_report.markdown(curves)
    assert "## adding: expected best val_loss ↓ of n trials" in text
    assert "| model | trials | left out | n=1 | n=3 |" in text  # N=3, N/2 rounds to 1
    # rnn n=1: mean of 0.2, 0.9 = 0.55; lstm n=1: 0.2667 ★; lstm n=3: hand value
    lstm_n3 = (0.4 * 1 + 0.3 * 7 + 0.1 * 19) / 27
    assert f"| lstm | 3 | 1 | 0.2667 ± 0.1247 ★ | {lstm_n3:.4f} ± " in text
    assert "| rnn | 2 | 2 | 0.5500 ± 0.3500 | — |" in text
    assert "lstm leads at every budget shown" in text and "Dodge et al. 2019" in text
    assert expected_best_report.terminal(curves).startswith("adding: expected best val_loss")


def test_the_verdict_says_when_the_ranking_changes_with_the_budget():
    steady = Curve("t", "steady", "val_acc", "max", [0.6, 0.6, 0.6, 0.6])
    lucky = Curve("t", "lucky", "val_acc", "max", [0.1, 0.1, 0.1, 0.9])
    assert expected_best_report.budgets([steady, lucky]) == [1, 2, 4]
    assert expected_best_report.verdict([steady, lucky]) == (
        "the ranking changes with the search budget: steady leads at n=1, lucky at n=4"
    )


def test_no_search_trials_is_one_line_not_a_failure(tmp_path):
    assert curves_of_sweep(MemoryTracker(), "s") == []
    assert expected_best_report.markdown([]) == expected_best_report.NO_CURVES + ".\n"
    assert expected_best_report.plot([], tmp_path) == []
    failed = [Curve("copy", "rnn", "val_loss", "min", [], left_out=2)]
    line = "copy: no expected-best curve: none of its 2 trials reached a finite validation score"
    assert expected_best_report.terminal(failed).startswith(line)
    assert expected_best_report.markdown(failed).startswith(line)
    assert expected_best_report.plot(failed, tmp_path) == []
    with_data = [*failed, Curve("copy", "gru", "val_loss", "min", [0.5, 0.25])]
    assert "| rnn | 0 | 2 | — | — |" in expected_best_report.markdown(with_data)
    assert expected_best_report.plot(with_data, tmp_path) == [tmp_path / "expected-best-copy.png"]


def test_curve_chart_is_written(tracker, tmp_path):
    import matplotlib.image

    paths = expected_best_report.plot(curves_of_sweep(tracker, "s"), tmp_path)
    assert paths == [tmp_path / "expected-best-adding.png"]
    assert matplotlib.image.imread(paths[0]).shape[1] > 300


def test_cost_sums_measured_cpu_time_by_model_and_phase(tracker):
    rows = {c.model: c for c in cost.costs_of_sweep(tracker, "s")}
    assert rows["lstm"].runs == 4 and rows["lstm"].search_cpu == pytest.approx(6.5)
    assert rows["rnn"].runs == 5 and rows["rnn"].unmeasured == 1
    assert rows["rnn"].search_cpu == pytest.approx(3.0) and rows["rnn"].final_cpu == 4.0
    text = cost.markdown(list(rows.values()))
    assert "| lstm | 4 | 6.5 s | 0.0 s | 6.5 s |  |" in text
    assert "| all | 9 | 9.5 s | 4.0 s | 13.5 s | 1 |" in text
    assert "measured process CPU time" in text
    assert "GPU" not in text.split("\n\n")[1]  # no CUDA run: no GPU column
    gpu = cost.markdown([cost.ModelCost("lstm", runs=1, final_cpu=3.0, gpu=700.0)])
    assert "| model | runs | search CPU | final CPU | total CPU | GPU | unmeasured |" in gpu
    assert "| lstm | 1 | 0.0 s | 3.0 s | 3.0 s | 11.7 min |  |" in gpu


def test_cost_chart_is_one_point_per_row(tmp_path):
    rows = [
        {
            "task": "adding",
            "model": m,
            "mean": v,
            "std": 0.01,
            "train_seconds": s,
            "baseline": 0.17,
            "metric": "test_mse",
            "mode": "min",
        }
        for m, v, s in (("lstm", 0.001, 30.0), ("rnn", 0.17, 2.0))
    ]
    paths = cost.plot(rows, tmp_path)
    assert paths == [tmp_path / "cost-adding.png"] and paths[0].stat().st_size > 1000


@pytest.mark.slow
def test_a_tiny_sweep_writes_the_curves_and_its_cost(cli, tmp_path):
    import optuna
    from mlflow.tracking import MlflowClient
    from test_sweep import TINY_SWEEP, mlflow_runs

    config = tmp_path / "sweep.yaml"
    config.write_text(
        TINY_SWEEP.replace("n_trials: 2", "n_trials: 3").replace("  broken: {}\n", "")
    )
    results = tmp_path / "results"
    code, out, err = cli(
        "sweep", "--config", str(config), "--models", "lstm,gru", "--results-dir", str(results)
    )
    assert code == 0, err
    assert "adding: expected best val_loss ↓ of n trials" in out
    assert "cost by model (measured process CPU time)" in out
    folder = results / "sweeps" / "tiny"
    for name in ("expected-best-adding.png", "cost-adding.png"):
        assert (folder / name).stat().st_size > 1000
    board = (folder / "leaderboard.md").read_text()
    assert board.index("## adding: test_mse") < board.index("## adding: expected best val_loss")
    assert "| model | trials | left out | n=1 | n=3 |" in board and "## Cost by model" in board

    runs = mlflow_runs(results)
    parent = next(r for r in runs if r.data.tags.get("rnnbench.role") == "sweep")
    artifacts = {
        a.path
        for a in MlflowClient(f"sqlite:///{results / 'mlflow.db'}").list_artifacts(
            parent.info.run_id
        )
    }
    assert {"expected-best-adding.png", "cost-adding.png"} <= artifacts
    assert "expected best val_loss ↓ of n trials" in parent.data.tags["mlflow.note.content"]
    assert all(r.data.metrics["cpu_seconds"] > 0 for r in runs if r is not parent)

    # the tracked runs' last val_loss is each trial's Optuna value, so n=1 is their mean
    storage = f"sqlite:///{results / 'optuna.db'}"
    study = optuna.load_study(study_name="tiny:adding:lstm", storage=storage)
    values = [t.value for t in study.trials]
    row = next(line for line in board.splitlines() if line.startswith("| lstm | 3 |"))
    mean, std = expected_best(values, 1, "min")
    assert f"{mean:.4f} ± {std:.4f}" in row


@pytest.mark.parametrize("kind", ["failed", "pruned"])
def test_a_stopped_run_logs_its_cpu_time_and_its_last_validation(kind, tmp_path):
    from lightning.pytorch.callbacks import Callback

    from rnnbench.contract.registry import get_registry
    from rnnbench.training.config import build_run_config
    from rnnbench.training.runner import execute, prepare

    class TrialPruned(Exception):  # recognised by name, as Optuna's is
        pass

    class Stop(Callback):
        def on_validation_end(self, trainer, pl_module):
            if not trainer.sanity_checking:
                raise TrialPruned() if kind == "pruned" else RuntimeError("boom")

    registry, tracker = get_registry(), MemoryTracker()
    sets = {
        "task": {"seq_len": 5, "train_size": 32, "val_size": 16, "test_size": 16},
        "model": {"hidden_size": 4},
        "train": {"max_epochs": 3, "progress": False},
    }
    config = build_run_config(registry, "gru", "adding", sets, results_dir=tmp_path)
    with pytest.raises((TrialPruned, RuntimeError)):
        execute(
            prepare(config, registry),
            registry,
            tracker,
            callbacks=[Stop()],
            extra_tags={
                "rnnbench.phase": "search",
                "rnnbench.sweep": "s",
                "rnnbench.monitor": "val_loss",
                "rnnbench.trial": "0",
            },
        )
    [run] = tracker.find_runs()
    assert run.status == ("KILLED" if kind == "pruned" else "FAILED")
    assert run.metrics["cpu_seconds"] > 0 and run.metrics["wall_seconds"] > 0
    [curve] = curves_of_sweep(tracker, "s")
    assert (curve.values == [run.metrics["val_loss"]]) is (kind == "pruned")


def test_a_run_on_cuda_logs_wall_time_times_devices_as_gpu_time(tmp_path, monkeypatch):
    # No GPU here: the real run trains on the CPU and is then reported as a 2-device CUDA run.
    from rnnbench.contract.registry import get_registry
    from rnnbench.training import runner
    from rnnbench.training.config import build_run_config

    real = runner._train_and_evaluate

    def on_cuda(*args, **kwargs):
        result = real(*args, **kwargs)
        result.device_type, result.world_size = "cuda", 2
        return result

    monkeypatch.setattr(runner, "_train_and_evaluate", on_cuda)
    registry, tracker = get_registry(), MemoryTracker()
    sets = {
        "task": {"seq_len": 5, "train_size": 32, "val_size": 16, "test_size": 16},
        "model": {"hidden_size": 4},
        "train": {"max_epochs": 1, "progress": False},
    }
    config = build_run_config(registry, "gru", "adding", sets, results_dir=tmp_path)
    result = runner.execute(runner.prepare(config, registry), registry, tracker)
    [run] = tracker.find_runs()
    assert run.metrics["gpu_seconds"] == pytest.approx(2 * run.metrics["wall_seconds"])
    assert result.gpu_seconds == run.metrics["gpu_seconds"] > 0
