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
    (
        RUN + ["--set", "train.lr=-Infinity"],
        "--set train.lr: expected a finite number, got '-Infinity'",
    ),
    (
        RUN + ["--set", "train.weight_decay=inf"],
        "--set train.weight_decay: expected a finite number, got 'inf'",
    ),
    (
        RUN + ["--set", "train.momentum=NaN"],
        "--set train.momentum: expected a finite number, got 'NaN'",
    ),
    (RUN + ["--clip-value", "nan"], "--set train.clip_value: expected a finite number, got 'nan'"),
    (
        RUN + ["--set", "model.dropout=nan"],
        "--set model.dropout: expected a finite number, got 'nan'",
    ),
    (
        RUN + ["--set", "model.forget_bias=inf"],
        "--set model.forget_bias: expected a finite number, got 'inf'",
    ),
    (
        [
            "run",
            "--model",
            "lstm",
            "--task",
            "language-modelling",
            "--set",
            "task.dataset=x.txt",
            "--set",
            "task.valid_fraction=nan",
        ],
        "--set task.valid_fraction: expected a finite number, got 'nan'",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "expected a finite number, got nan",
        SWEEP_YAML + "train: {lr: .nan}\n",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "expected a finite number, got inf",
        SWEEP_YAML + "model_params:\n  lstm: {dropout: {low: 0.0, high: .inf}}\n",
    ),
    # devices this machine does not have, checked before the run
    (
        RUN + ["--accelerator", "gpu", "--devices", "{gpus}"],
        "train.devices: {gpus} GPUs requested, {found} found",
    ),
    (
        [
            "sweep",
            "--config",
            "{yaml}",
            "--results-dir",
            "{results}",
            "--accelerator",
            "gpu",
            "--devices",
            "{gpus}",
        ],
        "train.devices: {gpus} GPUs requested, {found} found",
        SWEEP_YAML,
    ),
    # an unreachable tracking server, found before any store is created
    (
        RUN + ["--tracking-uri", "http://127.0.0.1:1"],
        "--tracking-uri http://127.0.0.1:1: not usable (ConnectionRefusedError",
    ),
    (
        [
            "sweep",
            "--config",
            "{yaml}",
            "--results-dir",
            "{results}",
            "--tracking-uri",
            "http://127.0.0.1:1",
        ],
        "--tracking-uri http://127.0.0.1:1: not usable (ConnectionRefusedError",
        SWEEP_YAML,
    ),
    # nothing to resume: no mlflow.db created to find that out
    (
        RUN + ["--resume"],
        "--resume: no unfinished run of this exact configuration left a checkpoint under",
    ),
    # storages the locks cannot serve
    (
        [
            "sweep",
            "--config",
            "{yaml}",
            "--results-dir",
            "{results}",
            "--storage",
            "mssql+pyodbc://sa@127.0.0.1/db",
        ],
        "unsupported storage scheme 'mssql' (supported: sqlite, postgresql, mysql, mariadb",
        SWEEP_YAML,
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--storage", "sqlite://"],
        "--storage sqlite://: an SQLite storage needs a file",
        SWEEP_YAML,
    ),
]


def ids(case) -> str:
    return " ".join(
        a
        for a in case[0]
        if not a.startswith(
            ("{", "task.train", "task.val", "task.test", "model.hidden", "model.emb", "train.prog")
        )
    )[:60]


@pytest.mark.parametrize("case", CASES, ids=[ids(c) for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, tmp_path, monkeypatch, case):
    args, expected, *yaml = case
    monkeypatch.chdir(tmp_path)  # a default ./results or ./mlruns would land here
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "sweep.yaml").write_text(yaml[0] if yaml else SWEEP_YAML)
    fill = {
        "yaml": str(inputs / "sweep.yaml"),
        "results": str(tmp_path / "results"),
        "gpus": str(gpus_wanted()),
        "found": str(_found()),
    }
    args = [a.format(**fill) for a in args]
    if args[0] == "run":
        args += ["--results-dir", str(tmp_path / "results")]
    code, _out, err = cli(*args)
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

    exc = ConnectionError(
        "HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded "
        "with url: /api/2.0/mlflow/experiments/get-by-name (Caused by "
        "NewConnectionError('Failed to establish a new connection'))\nmore"
    )
    reason = short_reason(exc, limit=80)
    assert len(reason) <= 80 and reason.endswith("...")
    assert reason == "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries..."
    assert short_reason(ValueError("short")) == "ValueError: short"


def test_a_non_finite_sweep_timeout_is_refused(cli, tmp_path):
    code, _, err = cli("sweep", "--timeout", "nan", "--results-dir", str(tmp_path / "r"))
    assert code == 2 and err.strip() == (
        "rnnbench: error: --timeout: timeout expects a finite number, got nan"
    )
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ issue 29's table
# (argv, expected text of the one line, optional sweep-file text). Every row: exit 2,
# one stderr line, no traceback, the working folder unchanged (nothing written).
LM = ["run", "--model", "lstm", "--task", "text-classification"]
ISSUE_29 = [
    # argparse: one line with a --help hint, not a usage dump
    (["run", "--model"], "argument --model: expected one argument (see `rnnbench run --help`)"),
    (["bogus-command"], "invalid choice: 'bogus-command'"),
    ([], "the following arguments are required: COMMAND (see `rnnbench --help`)"),
    (["sweep", "--n-trials", "x"], "argument --n-trials: invalid int value: 'x'"),
    (
        ["run", "--model", "lstm", "--task", "adding", "--clip-algorithm", "foo"],
        "argument --clip-algorithm: invalid choice: 'foo'",
    ),
    (["leaderboard", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
    (["horizon", "--budget-steps", "many"], "argument --budget-steps: invalid int value"),
    (["describe"], "the following arguments are required"),
    (["run", "--task", "adding"], "the following arguments are required: --model"),
    (
        ["run", "--model", "lstm", "--task", "adding", "--seed", "1.5"],
        "argument --seed: invalid int value: '1.5'",
    ),
    # seeds bounded as describe says
    (RUN + ["--seed", str(2**32)], "--set train.seed: must be <= 4294967295, got 4294967296"),
    (RUN + ["--seed", "-1"], "--set train.seed: must be >= 0, got -1"),
    # devices, strategy, CPU count: checked for the CPU too, before anything starts
    (RUN + ["--strategy", "warp-drive"], "train.strategy: unknown strategy 'warp-drive'"),
    (RUN + ["--devices", "0"], "train.devices: expected a count >= 1, -1 (all) or 'auto', got 0"),
    (RUN + ["--devices", "-5"], "train.devices: expected a count >= 1, -1 (all) or 'auto', got -5"),
    (
        RUN + ["--accelerator", "cpu", "--devices", "4096"],
        "train.devices: 4096 CPU processes requested, this machine has",
    ),
    (
        RUN + ["--accelerator", "cpu", "--devices", "0,1"],
        "train.devices: device ids (0,1) select GPUs",
    ),
    (RUN + ["--devices", "two"], "train.devices: expected a count, 'auto' or a list like 0,1"),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--strategy", "warp"],
        "train.strategy: unknown strategy 'warp'",
        SWEEP_YAML,
    ),
    (
        [
            "sweep",
            "--config",
            "{yaml}",
            "--results-dir",
            "{results}",
            "--accelerator",
            "cpu",
            "--devices",
            "4096",
        ],
        "4096 CPU processes requested",
        SWEEP_YAML,
    ),
    # tracking and storage URIs: one line, and no folder made for them
    (RUN + ["--tracking-uri", "foo://bar"], "--tracking-uri foo://bar: unsupported scheme 'foo'"),
    (RUN + ["--tracking-uri", "file:///tmp/mlruns"], "MLflow 3 refuses the file store"),
    (RUN + ["--tracking-uri", "/tmp/mlruns"], "MLflow 3 refuses the file store"),
    (RUN + ["--tracking-uri", "sqlite:///{missing}/mlflow.db"], "does not exist (create it first)"),
    (RUN + ["--tracking-uri", "sqlite://"], "an SQLite tracking store needs a file"),
    (
        [
            "sweep",
            "--config",
            "{yaml}",
            "--results-dir",
            "{results}",
            "--tracking-uri",
            "foo://bar",
        ],
        "--tracking-uri foo://bar: unsupported scheme",
        SWEEP_YAML,
    ),
    (
        [
            "sweep",
            "--config",
            "{yaml}",
            "--results-dir",
            "{results}",
            "--storage",
            "sqlite:///{missing}/optuna.db",
        ],
        "does not exist (create it first)",
        SWEEP_YAML,
    ),
    (
        ["horizon", "--tracking-uri", "foo://bar", "--results-dir", "{results}"],
        "--tracking-uri foo://bar: unsupported scheme",
    ),
    # experiment names
    (RUN + ["--experiment", ""], "--experiment: the MLflow experiment name is empty"),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--experiment", " "],
        "--experiment: experiment is empty",
        SWEEP_YAML,
    ),
    (
        ["horizon", "--experiment", "", "--results-dir", "{results}"],
        "--experiment: the MLflow experiment name is empty",
    ),
    # sizes the machine cannot hold: refused from shapes, before allocating
    (RUN + ["--set", "model.hidden_size=1000000000"], "tensors too large to address"),
    (RUN + ["--set", "model.hidden_size=" + "1" + "0" * 30], "tensors too large to address"),
    (RUN + ["--set", "model.hidden_size=100000"], "parameters: needs at least"),
    (RUN + ["--set", "task.seq_len=1000000000"], "needs at least"),
    (RUN + ["--set", "task.train_size=1000000000000"], "needs at least"),
    # horizon refuses before writing
    (
        ["horizon", "--budget-steps", "0", "--results-dir", "{results}"],
        "--budget-steps: must be >= 1, got 0",
    ),
    (["horizon", "--seeds", "0", "--results-dir", "{results}"], "--seeds: must be >= 1, got 0"),
    (
        ["horizon", "--set", "task.seq_len=7", "--results-dir", "{results}"],
        "--set task.seq_len: horizon sets it itself; use --lengths",
    ),
    (
        ["horizon", "--set", "train.max_steps=7", "--results-dir", "{results}"],
        "--set train.max_steps: horizon sets it itself; use --budget-steps",
    ),
    (
        ["horizon", "--set", "train.seed=3", "--results-dir", "{results}"],
        "--set train.seed: horizon sets it itself; use --seeds",
    ),
    (
        ["horizon", "--strategy", "warp", "--results-dir", "{results}"],
        "train.strategy: unknown strategy 'warp'",
    ),
    # sweep files: empty, empty lists, duplicate keys, unsafe names
    (["sweep", "--config", "{yaml}", "--results-dir", "{results}"], "the sweep file is empty", ""),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "the sweep file is empty",
        "# only a comment\n",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "line 1: models is empty; list names, or write `models: all`",
        "models: []\ntasks: [adding]\n",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "line 2: tasks is empty",
        "models: [lstm]\ntasks: []\n",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "line 3: duplicate key 'models' (first at line 2)",
        "name: d\nmodels: [lstm]\nmodels: [gru]\ntasks: [adding]\n",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "line 8: duplicate key 'train.lr' (first at line 7)",
        SWEEP_YAML + "train:\n  lr: 0.1\n  lr: 0.2\n",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--study-name", "../../esc"],
        "--study-name: sweep name '../../esc' is not a safe name",
        SWEEP_YAML,
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--study-name", ""],
        "--study-name: name is empty",
        SWEEP_YAML,
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--study-name", "a/b"],
        "is not a safe name",
        SWEEP_YAML,
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "line 1: sweep name 'x/y' is not a safe name",
        SWEEP_YAML.replace("name: bad", "name: x/y"),
    ),
    (
        ["sweep", "--config", "{yaml}"],
        "line 1: results_dir is empty",
        "results_dir: ''\n" + SWEEP_YAML,
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", ""],
        "argument --results-dir: empty folder",
        SWEEP_YAML,
    ),
    (RUN[:5] + ["--results-dir", ""], "argument --results-dir: empty folder name"),
    # a sweep makes every check `rnnbench run` makes, for every pair, before writing
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--diagnostics", "grad"],
        "--diagnostics: train.diagnostics: unknown diagnostic 'grad' (known: gradient-flow)",
        SWEEP_YAML,
    ),
    (
        [
            "sweep",
            "--config",
            "{yaml}",
            "--results-dir",
            "{results}",
            "--set",
            "train.diagnostics=grad",
        ],
        "--set train.diagnostics: train.diagnostics: unknown diagnostic 'grad'",
        SWEEP_YAML,
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "line 7: train.diagnostics: unknown diagnostic 'grad'",
        SWEEP_YAML + "train:\n  diagnostics: grad\n",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "lstm on copy: train.embeddings: no such file missing.vec",
        SWEEP_YAML.replace("[adding]", "[copy]") + "train: {embeddings: missing.vec}\n",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "lstm on adding: train.embeddings: task 'adding' has",
        SWEEP_YAML + "train: {embeddings: missing.vec}\n",
    ),
    (["leaderboard", "--results-dir", ""], "argument --results-dir: empty folder name"),
    # flags blamed as flags, not as the file (nor as the default benchmark)
    (
        ["sweep", "--models", "lstm,transformer", "--results-dir", "{results}"],
        "--models: unknown model 'transformer'",
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--tasks", "nope"],
        "--tasks: unknown task 'nope'",
        SWEEP_YAML,
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--sampler", "nope"],
        "--sampler: unknown sampler 'nope'",
        SWEEP_YAML,
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}", "--pruner", "nope"],
        "--pruner: unknown pruner 'nope'",
        SWEEP_YAML,
    ),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "line 2: unknown model 'transformer'",
        SWEEP_YAML.replace("[lstm]", "[lstm, transformer]"),
    ),
    # export suffix vs the format written
    (
        ["export-embeddings", "--run", "abc", "out.npy"],
        "out.npy: export-embeddings writes word2vec text",
    ),
    (["export-embeddings", "--run", "abc", "out.npy.gz"], "export-embeddings writes word2vec text"),
    # a sweep file that is not one
    (["sweep", "--config", "{missing}/nope.yaml"], "file does not exist"),
    (
        ["sweep", "--config", "{yaml}", "--results-dir", "{results}"],
        "expected a mapping",
        "- a\n- b\n",
    ),
    (["sweep", "--config", "{yaml}", "--results-dir", "{results}"], "invalid YAML", "a: [\n"),
]


@pytest.mark.parametrize("case", ISSUE_29, ids=[" ".join(c[0])[:60] or "(none)" for c in ISSUE_29])
def test_issue_29_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, monkeypatch, case):
    check_refused(capsys, tmp_path, monkeypatch, case)


def check_refused(capsys, tmp_path, monkeypatch, case) -> str:
    """main(argv) in-process; argparse's errors exit (SystemExit), the rest return."""
    from rnnbench.cli import main

    args, expected, *yaml = case
    monkeypatch.chdir(tmp_path)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "sweep.yaml").write_text(yaml[0] if yaml else SWEEP_YAML)
    fill = {
        "yaml": str(inputs / "sweep.yaml"),
        "results": str(tmp_path / "results"),
        "missing": str(tmp_path / "missing"),
    }
    args = [a.format(**fill) for a in args]
    if args[:1] == ["run"] and "--results-dir" not in args:
        args += ["--results-dir", str(tmp_path / "results")]
    before = snapshot(tmp_path)
    try:
        code = main(args)
    except SystemExit as exc:  # argparse (our one-line error) exits
        code = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("rnnbench: error: "), lines[0]
    assert expected.format(**fill) in lines[0], lines[0]
    assert snapshot(tmp_path) == before  # nothing written, anywhere under the folder
    return lines[0]


def snapshot(folder) -> list[tuple[str, int]]:
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size if p.is_file() else -1)
        for p in folder.rglob("*")
    )


# ---------------------------------------------- probes derived from the Param declarations
# Every typed option gets rows without anyone writing them: out of range (below its
# minimum, above its maximum), a value of the wrong type, a non-finite float, a value
# outside its choices. A new Param is probed the day it is declared.
PROBED = [
    ("train", None, None),
    ("model", "lstm", None),
    ("model", "gru", None),
    ("task", None, "adding"),
    ("task", None, "copy"),
    ("task", None, "text-classification"),
    ("task", None, "language-modelling"),
]


def probe_values(param) -> list[tuple[str, str]]:
    """(value, expected text) pairs that `param` must refuse."""
    out = []
    if param.choices is not None:
        out.append(("no-such-choice", "is not one of"))
    if param.type in (int, float):
        out.append(("abc", f"expected {param.type.__name__}"))
        if param.minimum is not None:
            low = param.minimum - 1
            out.append((str(int(low) if param.type is int else low), "must be >="))
        if param.maximum is not None:
            high = param.maximum + 1
            out.append((str(int(high) if param.type is int else high), "must be <="))
    if param.type is int:
        out.append(("2.5", "expected int"))
    if param.type is float:
        out += [("nan", "expected a finite number"), ("-inf", "expected a finite number")]
    if param.type is bool:
        out.append(("maybe", "expected bool"))
    return out


def param_probes() -> list[tuple]:
    from rnnbench.contract.registry import get_registry, reset_registry
    from rnnbench.training.config import TRAIN_PARAMS

    registry = get_registry()
    rows = []
    for group, model, task in PROBED:
        params = (
            TRAIN_PARAMS
            if group == "train"
            else (registry.model(model).params if group == "model" else registry.task(task).options)
        )
        argv = ["run", "--model", model or "lstm", "--task", task or "adding"]
        for param in params:
            if param.nullable:
                continue
            for value, expected in probe_values(param):
                rows.append(
                    (
                        argv + ["--set", f"{group}.{param.name}={value}"],
                        f"--set {group}.{param.name}: ",
                        expected,
                    )
                )
    reset_registry()
    return rows


PROBES = param_probes()


@pytest.mark.parametrize("case", PROBES, ids=[" ".join(c[0][1:5:2] + c[0][-1:]) for c in PROBES])
def test_every_typed_option_refuses_bad_values(capsys, tmp_path, monkeypatch, case):
    argv, where, expected = case
    line = check_refused(capsys, tmp_path, monkeypatch, (argv, where))
    assert expected in line, line


def test_the_probes_cover_every_kind_of_option():
    kinds = {c[2] for c in PROBES}
    assert {
        "must be >=",
        "must be <=",
        "expected int",
        "expected float",
        "expected a finite number",
        "is not one of",
        "expected bool",
    } <= kinds
    assert len(PROBES) >= 100
