"""Leaderboard rows, ranking, significance and formatting, on hand-made run records."""

import csv
import io
import json
import math

import pytest

from rnnbench.tracking import stats
from rnnbench.tracking.leaderboard import build_rows, verdicts
from rnnbench.tracking.leaderboard.text import render
from rnnbench.tracking.mlflow_tracker import RunRecord


def record(
    model,
    value,
    seed,
    task="adding",
    metric="mse",
    mode="min",
    baseline=0.1694,
    solved=None,
    diverged=False,
    trial="3",
    hidden="64",
    start=None,
):
    tags = {
        "rnnbench.task": task,
        "rnnbench.model": model,
        "rnnbench.main_metric": metric,
        "rnnbench.mode": mode,
        "rnnbench.best_trial": trial,
        "rnnbench.unit": "MSE",
        "rnnbench.baseline_name": "predict 1",
        "rnnbench.diverged": str(diverged),
    }
    if solved is not None:
        tags["rnnbench.solved"] = str(solved)
    metrics = {
        f"test_{metric}": value,
        "baseline": baseline,
        "params": 12_929.0,
        "steps": 2000.0,
        "wall_seconds": 21.5,
        "throughput": 5000.0,
    }
    params = {
        "model.hidden_size": hidden,
        "model.a_very_long_option_name": "x" * 200,
        "train.lr": "0.003",
    }
    return RunRecord(
        f"{model}-{seed}",
        f"{task}/{model} seed {seed}",
        "FINISHED",
        seed if start is None else start,
        tags,
        params,
        metrics,
    )


def adding_runs():
    runs = []
    for seed, (gru, lstm, rnn) in enumerate(
        [(0.0011, 0.0030, 0.1690), (0.0013, 0.0041, 0.1699), (0.0009, 0.0025, 0.1688)]
    ):
        runs += [
            record("gru", gru, seed, solved=True),
            record("lstm", lstm, seed, solved=True),
            record("rnn", rnn, seed, solved=False),
        ]
    return runs


def test_welch_and_one_sample_match_scipy_and_a_hand_computation():
    from scipy import stats as scipy_stats

    a, b = [0.10, 0.12, 0.11], [0.20, 0.25, 0.22]
    test = stats.welch(a, b)
    # by hand: means 0.11 and 0.67/3, variances 1e-4 and 1.9/3000; Welch's t
    hand = (0.11 - 0.67 / 3) / math.sqrt((1e-4 + 1.9 / 3000) / 3)
    assert test.statistic == pytest.approx(hand, rel=1e-9)
    reference = scipy_stats.ttest_ind(a, b, equal_var=False)
    assert test.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert test.df == pytest.approx(reference.df, rel=1e-9)
    one = stats.one_sample(a, 0.16)
    assert one.statistic == pytest.approx(-0.05 / (0.01 / math.sqrt(3)), rel=1e-9)
    assert one.p_value == pytest.approx(scipy_stats.ttest_1samp(a, 0.16).pvalue, rel=1e-9)


def test_tests_need_two_values_and_handle_zero_variance():
    assert stats.welch([1.0], [2.0, 3.0]) is None
    assert stats.one_sample([1.0], 0.5) is None
    assert stats.welch([1.0, 1.0], [2.0, 2.0]).p_value == 0.0
    assert stats.one_sample([1.0, 1.0], 1.0).p_value == 1.0
    assert stats.format_p(0.0004) == "p < 0.001" and stats.format_p(0.0123) == "p = 0.012"


def test_rows_are_ranked_flagged_and_compared():
    rows = build_rows(adding_runs())
    assert [r["model"] for r in rows] == ["gru", "lstm", "rnn"]
    assert [r["rank"] for r in rows] == [1, 2, 3] and [r["winner"] for r in rows] == [
        True,
        False,
        False,
    ]
    gru, _lstm, rnn = rows
    assert gru["solved"] == "3/3" and rnn["solved"] == "0/3"
    assert gru["vs_baseline"] == "better" and gru["p_vs_baseline"] < 0.001
    assert rnn["vs_baseline"] == "at"  # 0.1692 ± 0.0006 cannot be told from 0.1694
    expected = stats.welch([0.0011, 0.0013, 0.0009], [0.0030, 0.0041, 0.0025]).p_value
    assert gru["p_vs_runner_up"] == pytest.approx(expected)
    said = verdicts(rows)["adding"]
    assert said.startswith("gru leads; beats lstm (p = ") and "beats the baseline" in said


def test_only_the_newest_best_trial_counts_and_diverged_seeds_are_flagged():
    runs = adding_runs() + [record("gru", 0.5, 9, trial="1", start=-1)]  # older
    runs = [r for r in runs if r.tags["rnnbench.model"] != "lstm"]
    runs.append(record("lstm", float("nan"), 0, diverged=True))
    runs.append(record("lstm", 0.004, 1))
    rows = {r["model"]: r for r in build_rows(runs)}
    assert rows["gru"]["seeds"] == 3 and rows["gru"]["values"] == [0.0011, 0.0013, 0.0009]
    assert rows["lstm"]["diverged"] == 1 and rows["lstm"]["values"] == [0.004]
    assert rows["lstm"]["std"] is None  # one finite seed: no spread to show
    text = render(list(rows.values()), "table")
    assert "diverged 1/2" in text


def test_maximised_metrics_rank_highest_first():
    runs = [
        record(m, v, s, task="listops", metric="acc", mode="max", baseline=0.127)
        for s in range(2)
        for m, v in (("rnn", 0.20 + s / 100), ("rcnn", 0.35 + s / 100))
    ]
    rows = build_rows(runs)
    assert [r["model"] for r in rows] == ["rcnn", "rnn"] and rows[0]["winner"]
    assert "test_acc ↑" in render(rows, "table")


def test_terminal_table_fits_120_columns_and_says_how_to_read_it():
    text = render(build_rows(adding_runs()), "table", "default")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert lines[0] == "sweep 'default'"
    assert "adding: test_mse (MSE), lower is better; baseline 0.1694 = predict 1" in text
    assert "test_mse ↓" in text and "1 ★" in text and "⚠ at baseline" in text
    assert "0.0011 ± 0.0002" in text and "3/3" in text and "12,929" in text
    assert "hidden_size" not in text  # hyperparameters live in the files
    assert "→ gru leads" in text


def test_one_seed_shows_no_plus_minus():
    rows = build_rows([record("gru", 0.0011, 0), record("lstm", 0.003, 0)])
    text = render(rows, "table")
    assert "±" not in text.split("→")[0] and "0.0011 " in text
    assert "n/a" in verdicts(rows)["adding"]


def test_markdown_csv_and_json_carry_every_column():
    rows = build_rows(adding_runs())
    markdown = render(rows, "markdown", "default")
    assert markdown.startswith("# Leaderboard of sweep 'default'")
    assert "hidden_size=64" in markdown and "Welch" in markdown
    table = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert table[0]["model"] == "gru" and table[0]["rank"] == "1"
    assert json.loads(table[0]["values"]) == [0.0011, 0.0013, 0.0009]
    assert table[2]["vs_baseline"] == "at"
    board = json.loads(render(rows, "json"))
    assert board[0]["direction"] == "lower" and board[0]["unit"] == "MSE"


def test_chart_uses_a_log_axis_when_the_winner_is_near_zero(tmp_path):
    import matplotlib.image

    from rnnbench.tracking.figures import log_axis
    from rnnbench.tracking.leaderboard.files import write_outputs

    assert log_axis([0.0011, 0.003, 0.169, 0.1694]) and not log_axis([0.35, 0.2, 0.127])
    assert not log_axis([0.0, 0.2])  # a zero cannot go on a log axis

    files = write_outputs(build_rows(adding_runs()), tmp_path, "default")
    assert [f.name for f in files] == [
        "leaderboard.csv",
        "leaderboard.md",
        "leaderboard-adding.png",
    ]
    assert matplotlib.image.imread(files[2]).shape[1] > 400


def test_worse_needs_the_seeds_to_tell_it_from_the_baseline():
    runs = [record("rnn", v, s) for s, v in enumerate([0.30, 0.31, 0.29])]
    runs += [record("gru", v, s) for s, v in enumerate([0.1690, 0.1700, 0.1697])]
    rows = {r["model"]: r for r in build_rows(runs)}
    assert rows["rnn"]["vs_baseline"] == "worse" and rows["rnn"]["p_vs_baseline"] < 0.05
    assert rows["gru"]["vs_baseline"] == "at"  # 0.1696 above 0.1694, but within the noise


def test_a_budgeted_sweep_shows_the_budgeted_count_and_says_so():
    runs = []
    for seed in range(2):
        run = record("lstm", 0.001 + seed / 1000, seed)
        runs.append(
            RunRecord(
                run.run_id,
                run.name,
                run.status,
                run.start_time,
                run.tags,
                {**run.params, "train.param_budget": "12000", "train.budget_counts": "recurrent"},
                {**run.metrics, "budget_params": 12084.0},
            )
        )
    rows = build_rows(runs)
    assert rows[0]["budget_params"] == 12084 and rows[0]["params"] == 12929
    text = render(rows, "table")
    assert "widths sized to 12,000 parameters (recurrent, embeddings and head excluded)" in text
    assert "12,084" in text and "12,929" not in text
