"""Bad inputs: one line on stderr, exit code 2, and nothing written (no results folder,
no database, no lock folder, no MLflow run). One row per input."""

import pytest
from conftest import TINY

RUN = ["run", "--model", "lstm", "--task", "adding", *TINY]
SWEEP_YAML = "name: bad\nmodels: [lstm]\ntasks: [adding]\nn_trials: 1\nseeds: 1\n"


def gpus_wanted() -> int:
    """More GPUs than this machine has (3 on a machine without any, as in issue 15)."""
    import torch

    return max(3, torch.cuda.device_count() + 1)


def _found() -> int:
    import torch

    return torch.cuda.device_count()


CASES = [
    # non-finite numbers, for every kind of float option
    (RUN + ["--set", "train.lr=nan"], "--set train.lr: expected a finite number, got 'nan'"),
    (RUN + ["--set", "train.lr=inf"], "--set train.lr: expected a finite number, got 'inf'"),
    (RUN + ["--set", "train.lr=-Infinity"],
     "--set train.lr: expected a finite number, got '-Infinity'"),
    (RUN + ["--set", "train.weight_decay=inf"],
     "--set train.weight_decay: expected a finite number, got 'inf'"),
    (RUN + ["--set", "train.momentum=NaN"],
     "--set train.momentum: expected a finite number, got 'NaN'"),
    (RUN + ["--clip-value", "nan"], "--set train.clip_value: expected a finite number, got 'nan'"),
    (RUN + ["--set", "model.dropout=nan"],
     "--set model.dropout: expected a finite number, got 'nan'"),
    (RUN + ["--set", "model.forget_bias=inf"],
     "--set model.forget_bias: expected a finite number, got 'inf'"),
    (["run", "--model", "lstm", "--task", "language-modelling", "--set", "task.dataset=x.txt",
      "--set", "task.valid_fraction=nan"],
     "--set task.valid_fraction: expected a finite number, got 'nan'"),
    (["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
     "expected a finite number, got nan", SWEEP_YAML + "train: {lr: .nan}\n"),
    (["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
     "expected a finite number, got inf",
     SWEEP_YAML + "model_params:\n  lstm: {dropout: {low: 0.0, high: .inf}}\n"),
    # devices this machine does not have, checked before the run
    (RUN + ["--accelerator", "gpu", "--devices", "{gpus}"],
     "train.devices: {gpus} GPUs requested, {found} found"),
    (["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--accelerator", "gpu",
      "--devices", "{gpus}"], "train.devices: {gpus} GPUs requested, {found} found", SWEEP_YAML),
    # an unreachable tracking server, found before any store is created
    (RUN + ["--tracking-uri", "http://127.0.0.1:1"],
     "--tracking-uri http://127.0.0.1:1: not usable (ConnectionRefusedError"),
    (["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--tracking-uri",
      "http://127.0.0.1:1"],
     "--tracking-uri http://127.0.0.1:1: not usable (ConnectionRefusedError", SWEEP_YAML),
    # nothing to resume: no mlflow.db created to find that out
    (RUN + ["--resume"], "--resume: no unfinished run of this exact configuration left a "
                         "checkpoint under"),
    # storages the locks cannot serve
    (["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--storage",
      "mssql+pyodbc://sa@127.0.0.1/db"],
     "unsupported storage scheme 'mssql' (supported: sqlite, postgresql, mysql, mariadb",
     SWEEP_YAML),
    (["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--storage", "sqlite://"],
     "--storage sqlite://: an SQLite storage needs a file", SWEEP_YAML),
]


def ids(case) -> str:
    return " ".join(a for a in case[0] if not a.startswith(("{", "task.train", "task.val",
                                                            "task.test", "model.hidden",
                                                            "model.emb", "train.prog")))[:60]


@pytest.mark.parametrize("case", CASES, ids=[ids(c) for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, tmp_path, monkeypatch, case):
    args, expected, *yaml = case
    monkeypatch.chdir(tmp_path)  # a default ./results or ./mlruns would land here
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "sweep.yaml").write_text(yaml[0] if yaml else SWEEP_YAML)
    fill = {"yaml": str(inputs / "sweep.yaml"), "results": str(tmp_path / "results"),
            "gpus": str(gpus_wanted()), "found": str(_found())}
    args = [a.format(**fill) for a in args]
    if args[0] == "run":
        args += ["--results-dir", str(tmp_path / "results")]
    code, out, err = cli(*args)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert expected.format(**fill) in lines[0], lines[0]
    assert len(lines[0]) < 200, lines[0]
    assert not lines[0].endswith("...")  # said in full, not cut
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]  # nothing written
    assert sorted(p.name for p in inputs.iterdir()) == ["sweep.yaml"]


def test_a_long_reason_is_cut_at_a_word_boundary():
    from rnnbench.tracking.mlflow_tracker import short_reason

    exc = ConnectionError("HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded "
                          "with url: /api/2.0/mlflow/experiments/get-by-name (Caused by "
                          "NewConnectionError('Failed to establish a new connection'))\nmore")
    reason = short_reason(exc, limit=80)
    assert len(reason) <= 80 and reason.endswith("...")
    assert reason == "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries..."
    assert short_reason(ValueError("short")) == "ValueError: short"


def test_a_non_finite_sweep_timeout_is_refused(cli, tmp_path):
    code, _, err = cli("sweep", "--timeout", "nan", "--results-dir", str(tmp_path / "r"))
    assert code == 2 and err.strip() == (
        "rnnbench: error: --timeout: timeout expects a finite number, got nan")
    assert not (tmp_path / "r").exists()
