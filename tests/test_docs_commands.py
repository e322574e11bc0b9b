"""Every command shown on the docs pages and in the README is executed.

tests/test_docs.py parses each `rnnbench …` line with the real parser; this test runs
them. Each command of a fenced bash/console/sh block of docs/**/*.md and README.md runs
once (duplicates once), in-process, exactly as written, with only these changes:

- the working folder is a scratch copy of a checkout: the sweep and remedies files of
  results/reference/ copied beside it, and `../shared/data/` (sst2, tinyshakespeare,
  sst-trees), `THUCNews/data/`, `pairs.tsv` and the page's `my-sweep.yaml` written as tiny
  files in the documented layouts (no download, nothing from the real data folder);
- SMOKE flags are appended to every training command (`run`, `sweep`, `horizon`): one
  epoch of a few dozen examples, width 8 (or a parameter budget of 2,000), one seed, at
  most one search trial, and `--no-track` on a single `run` (the sweeps exercise
  MLflow); argparse keeps the last value of a repeated flag and `--set` the last value
  of a key, so the appended values win;
  the remedies files are copied with their sizes shrunk the same way;
- `RUN_ID` (and `1f0c…`) is the id of the page's own earlier run: the word-level
  language model for `export-embeddings`, the character-level one for `generate`;
- a `for NAME in A B C; do … done` loop runs its body once per value, and a `*` in an
  argument is expanded as the shell would.

Commands that need what a test cannot have (a server on the reader's host, GPUs, the
network, a shell session) are listed in SKIPPED with the reason; a SKIPPED entry that no
page shows any more fails the test, so the list cannot go stale. Every command must
exit 0.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import io
import json
import random
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(?:bash|console|sh|shell)\n(.*?)^```", re.S | re.M)
LOOP = re.compile(r"^for (\w+) in ([^;]+); do$")

# A substring of the command line -> why it is not executed here.
SKIPPED = {
    "rnnbench ui": "starts the UI's web servers and serves until Ctrl-C "
    "(tests/test_ui_views.py and tests/test_ui_browser.py drive it)",
    "--accelerator gpu": "needs GPUs (tests/test_ddp.py runs DDP on CPU processes)",
    "postgresql://db-host": "needs the reader's PostgreSQL host "
    "(tests/test_sweep.py runs sweeps on the local PostgreSQL server)",
    "http://mlflow-host:5000": "needs the reader's MLflow tracking server",
    "python3 -m venv": "the set-up one-liner: creates a venv and installs torch from the "
    "network; its last step, `rnnbench sweep`, runs here on its own",
    "pip install": "installs from the network",
    "python -m pytest": "the test suite itself",
    "mlflow ui": "a server (MLflow's UI) that runs until stopped",
    "mlflow server": "a server (MLflow's tracking server) that runs until stopped",
    "createdb": "creates databases on the reader's PostgreSQL server",
    "source .venv/bin/activate": "a line of a Slurm script: shell state, not a command",
    "rm -rf results/runs": "deletes the reader's run folders: shell, not rnnbench",
}

# One epoch of a few dozen examples (one or a few optimiser steps), one seed, at most one
# search trial, one worker.
STEPS = {"train.max_epochs": "1", "train.progress": "false"}
SIZES = {
    "task.train_size": "48",
    "task.val_size": "16",
    "task.test_size": "16",
    "task.max_train_samples": "40",
    "model.hidden_size": "8",
    "model.embedding_dim": "8",
    "model.context_size": "8",
    "train.diagnostics_interval": "1",
}
SMOKE = {
    "sweep": ["--seeds", "1", "--workers", "1"],
    "horizon": ["--lengths", "5", "--seeds", "1", "--budget-steps", "3"],
}


def command_lines() -> list[tuple[Path, str]]:
    """(page, command) for every command of the pages' and the README's shell blocks:
    continuation lines joined, comments dropped, loops unrolled, `&&` chains kept whole."""
    pages = sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"]
    found = []
    for page in pages:
        for block in FENCE.findall(page.read_text(encoding="utf-8")):
            loop: tuple[str, list[str]] | None = None
            body: list[str] = []
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" # ")[0].strip()
                if not line or line.startswith("#"):
                    continue
                head = LOOP.match(line)
                if head:
                    loop, body = (head.group(1), head.group(2).split()), []
                elif loop and line == "done":
                    name, values = loop
                    for value in values:
                        found += [(page, b.replace(f"${name}", value)) for b in body]
                    loop = None
                elif loop:
                    body.append(line)
                else:
                    found.append((page, re.sub(r"\s+", " ", line)))
    return found


def skip_reason(line: str) -> str | None:
    return next((why for key, why in SKIPPED.items() if key in line), None)


# ------------------------------------------------------------------ the scratch checkout
WORDS = "good bad fine awful great dull film movie plot actors story the a very not".split()


def _sentences(rng: random.Random, n: int) -> list[tuple[str, int]]:
    rows = []
    for _ in range(n):
        words = rng.choices(WORDS, k=rng.randint(3, 9))
        rows.append((" ".join(words), int(("good" in words) or ("great" in words))))
    return rows


def _tree(rng: random.Random, words: list[str]) -> str:
    """A labelled binary PTB-bracket tree over `words` (labels 0..4)."""
    if len(words) == 1:
        return f"({rng.randint(0, 4)} {words[0]})"
    cut = rng.randint(1, len(words) - 1)
    return f"({rng.randint(0, 4)} {_tree(rng, words[:cut])} {_tree(rng, words[cut:])})"


def write_fixture_data(repo: Path) -> None:
    """Tiny files in the layouts the pages name, relative to the scratch checkout."""
    rng = random.Random(0)
    data = repo.parent / "shared" / "data"
    (data / "sst2").mkdir(parents=True)
    for split, n in (("train", 400), ("dev", 40), ("test", 40)):
        rows = "".join(f"{s}\t{y}\n" for s, y in _sentences(rng, n))
        (data / "sst2" / f"{split}.tsv").write_text("sentence\tlabel\n" + rows)
    (data / "tinyshakespeare").mkdir()
    speech = "ROMEO:\nBut soft, what light through yonder window breaks?\n\n"
    speech += "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n"
    (data / "tinyshakespeare" / "input.txt").write_text(speech * 150)
    (data / "sst-trees").mkdir()
    for split, n in (("train", 60), ("dev", 20), ("test", 20)):
        trees = [_tree(rng, s.split()) for s, _ in _sentences(rng, n)]
        (data / "sst-trees" / f"{split}.txt").write_text("\n".join(trees) + "\n")
    thuc = repo / "THUCNews" / "data"
    thuc.mkdir(parents=True)
    topics = ["股市大涨基金净值", "球队赢得比赛冠军", "楼盘房价继续上涨"]
    (thuc / "class.txt").write_text("stocks\nsports\nrealty\n")
    for split, n in (("train", 90), ("dev", 15), ("test", 15)):
        lines = [f"{topics[i % 3]}{rng.choice('今日本周昨天')}\t{i % 3}" for i in range(n)]
        (thuc / f"{split}.txt").write_text("\n".join(lines) + "\n")
    pairs = [" ".join(rng.choices(WORDS, k=3)) for _ in range(120)]
    (repo / "pairs.tsv").write_text("".join(f"{p}\t{p[::-1]}\n" for p in pairs))


def copy_reference_files(repo: Path) -> None:
    """results/reference/**/*.yaml into the scratch checkout; the remedies files (a `runs:`
    table, run by benchmarks/remedies.py) shrunk to one length, one seed, three steps."""
    source = ROOT / "results" / "reference"
    for path in source.rglob("*.yaml"):
        target = repo / "results" / "reference" / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and "runs" in data:
            data.update(seeds=1, budget_steps=3)
            if "lengths" in data:
                data["lengths"] = [5]
            options = data.get("task_options", {})
            small = {"train_size": 48, "val_size": 16, "test_size": 16}
            options.update({key: value for key, value in small.items() if key in options})
            for run in data["runs"].values():
                run["params"] = {**run.get("params", {}), "hidden_size": 8}
            target.write_text(yaml.safe_dump(data))
        else:
            shutil.copyfile(path, target)


def my_sweep_file(repo: Path) -> None:
    """The sweep file docs/benchmarking/running.md shows is the `my-sweep.yaml` it runs."""
    text = (DOCS / "benchmarking" / "running.md").read_text()
    block = re.search(r"^```yaml\n(name: my-sweep.*?)^```", text, re.S | re.M)
    assert block, "docs/benchmarking/running.md no longer shows the my-sweep.yaml file"
    (repo / "my-sweep.yaml").write_text(block.group(1))


# ------------------------------------------------------------------ running one command
def load_script(path: Path, monkeypatch):
    """A script of the checkout as `python PATH` loads it: its folder first on sys.path."""
    monkeypatch.syspath_prepend(str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _flag(argv: list[str], *names: str) -> str | None:
    values = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in names]
    return values[-1] if values else None


def participants(argv: list[str]) -> tuple[list[str], list[str], dict]:
    """(models, tasks, sweep file) of a run, sweep or horizon command, as it will run them:
    flags first, then the --config file, then the embedded default benchmark."""
    command = argv[0]
    config: dict = {}
    if command == "sweep":
        path = _flag(argv, "--config")
        default = ROOT / "rnnbench" / "sweep" / "defaults" / "default-sweep.yaml"
        config = yaml.safe_load(Path(path).read_text() if path else default.read_text())
    models = _flag(argv, "--model", "--models") or ",".join(config.get("models", []))
    tasks = _flag(argv, "--task", "--tasks") or ",".join(config.get("tasks", []))
    if command == "horizon" and not models:
        models = "rnn,lstm,gru"
    return models.split(","), tasks.split(","), config


def smoke_argv(argv: list[str]) -> list[str]:
    """The command's own arguments, then the SMOKE ones for a training command: sizes only
    where a model or task of the command has that key (a --set no one has is an error)."""
    from rnnbench.contract.registry import get_registry
    from rnnbench.training.config import TRAIN_PARAMS

    command = argv[0]
    if command not in ("run", "sweep", "horizon"):
        return argv
    registry = get_registry()
    models, tasks, config = participants(argv)
    known = {f"train.{p.name}" for p in TRAIN_PARAMS}
    known |= {f"model.{p.name}" for m in models for p in registry.model(m).params}
    known |= {f"task.{p.name}" for t in tasks for p in registry.task(t).options}
    extra = list(SMOKE.get(command, []))
    if command == "sweep":  # one search trial where the sweep searches, none where it does not
        searches = _flag(argv, "--n-trials") != "0" and config.get("n_trials", 1) != 0
        extra += ["--n-trials", "1" if searches else "0"]
    settings = dict(STEPS, **SIZES)
    if command == "horizon":
        del settings["train.max_epochs"]  # horizon's own --budget-steps (SMOKE) sets it
    if "--param-budget" in argv or config.get("param_budget"):
        for key in ("model.hidden_size", "model.embedding_dim"):
            del settings[key]  # the parameter budget sets the width: a small budget instead
        extra += ["--param-budget", "2000"]
    if command == "run" and "--no-track" not in argv:
        extra.append("--no-track")  # MLflow is exercised by the sweeps; a run's files suffice
    if command == "run" and "--max-epochs" in argv:
        extra += ["--max-epochs", "1"]  # the flag wins over --set train.max_epochs
    if "train.max_steps=" in " ".join(argv):
        settings["train.max_steps"] = "2"
    for key, value in settings.items():
        if key in known:
            extra += ["--set", f"{key}={value}"]
    return argv + extra


def run_ids(repo: Path) -> dict[str, str]:
    """The run ids of the scratch checkout's language-model runs that kept a checkpoint
    (a sweep's search trials keep none), by tokenisation level."""
    ids = {}
    for result in sorted((repo / "results" / "runs").glob("*/result.json")):
        data = json.loads(result.read_text())
        kept = (result.parent / "checkpoints").is_dir()
        if data.get("task") == "language-modelling" and data.get("mlflow_run_id") and kept:
            ids[data["hparams"].get("task.level", "char")] = data["mlflow_run_id"]
    return ids


def execute(line: str, repo: Path, monkeypatch) -> tuple[int, str]:
    """Run one command line in-process; (exit code, the tail of what it printed)."""
    from rnnbench.cli import main as rnnbench
    from rnnbench.contract.registry import reset_registry

    reset_registry()
    ids = run_ids(repo)
    words = shlex.split(line)
    if "RUN_ID" in words or "1f0c…" in words:
        level = "word" if words[1] == "export-embeddings" else "char"
        if level not in ids:
            return 1, f"no {level}-level language-model run ran before it"
        words = [ids[level] if w in ("RUN_ID", "1f0c…") else w for w in words]
    expanded = []
    for word in words:
        name, eq, pattern = word.rpartition("=") if "*" in word else ("", "", word)
        matches = sorted(glob.glob(pattern)) if "*" in pattern else [pattern]
        if not matches:
            return 1, f"{pattern} matches nothing"
        expanded += [f"{name}{eq}{m}" for m in matches]
    words = expanded
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            if words[0] == "rnnbench":
                code = rnnbench(smoke_argv(words[1:]))
            elif words[:3] == ["python", "-m", "rnnbench.training.diagnostics"]:
                from rnnbench.training.diagnostics import main as draw

                code = draw(words[3:])
            elif words[:2] == ["python", "benchmarks/remedies.py"]:
                config = yaml.safe_load((repo / words[2]).read_text())
                only = ["--only", next(iter(config["runs"]))]
                code = load_script(ROOT / words[1], monkeypatch).main(words[2:] + only)
            elif words[0] == "python" and words[1].endswith(".py"):
                extra = {"benchmarks/tree_throughput.py": ["--sentences", "8", "--repeats", "1"]}
                monkeypatch.setattr(sys, "argv", [words[1], *words[2:], *extra.get(words[1], [])])
                code = load_script(ROOT / words[1], monkeypatch).main() or 0
            else:
                raise AssertionError(f"not a command this test knows how to run: {line}")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # a traceback is a failure of this command, not the test's
            code, out = 1, io.StringIO(f"{out.getvalue()}{type(exc).__name__}: {exc}")
    return code or 0, out.getvalue()[-2000:]


def phase(line: str) -> int:
    """Producers first: training runs (0), then what reads their results (1), then what
    reads those files (2: a run with the exported embeddings)."""
    if "sst2-lm.vec" in line and "export-embeddings" not in line:
        return 2
    reads = ("leaderboard", "generate", "export-embeddings", "diagnostics ", "lesson_figures")
    return 1 if any(word in line for word in reads) else 0


# ------------------------------------------------------------------ the tests
def test_every_skipped_command_is_still_on_a_page_and_every_other_one_is_known():
    lines = [line for _, line in command_lines()]
    assert len(lines) >= 60
    for key in SKIPPED:
        assert any(key in line for line in lines), f"SKIPPED entry {key!r} is on no page"
    for line in lines:
        if skip_reason(line) is None:
            assert line.split()[0] in ("rnnbench", "python"), f"unknown command: {line}"


@pytest.mark.slow
def test_every_command_on_the_pages_runs(tmp_path, monkeypatch):
    repo = tmp_path / "rnnbench"
    repo.mkdir()
    write_fixture_data(repo)
    copy_reference_files(repo)
    my_sweep_file(repo)
    monkeypatch.chdir(repo)
    todo: dict[str, Path] = {}
    for page, line in command_lines():
        if skip_reason(line) is None:
            todo.setdefault(line, page)
    failures, timings = [], []
    for line in sorted(todo, key=phase):  # stable: page order within a phase
        start = time.perf_counter()
        code, printed = execute(line, repo, monkeypatch)
        timings.append((time.perf_counter() - start, line))
        if code != 0:
            failures.append(f"{todo[line].relative_to(ROOT)}: {line}\n  exit {code}: {printed}")
    slowest = "\n".join(f"{s:6.1f} s  {line[:90]}" for s, line in sorted(timings)[-12:])
    print(f"{len(todo)} commands in {sum(s for s, _ in timings):.0f} s; slowest:\n{slowest}")
    assert len(todo) >= 40
    assert not failures, "\n\n".join(failures)
