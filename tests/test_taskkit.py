"""The public task kit and check_task_spec: the built-in tasks pass it, broken tasks
fail it, and the README's task example is a working plugin."""

import ast
import json
import re
import sys
from pathlib import Path

import pytest
import torch

import rnnbench
from rnnbench import _api
from rnnbench.contract.registry import get_registry
from rnnbench.taskkit import (
    IGNORE_INDEX,
    VAL_SEED,
    Classification,
    Regression,
    StepClassification,
    StreamWindows,
    SyntheticTask,
    seeded_splits,
    size_options,
)
from rnnbench.testing import ContractError, check_task_spec

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"train_size": 32, "val_size": 16, "test_size": 16}
PUBLIC_MODULES = set(_api.PUBLIC_MODULES)


def builtin_cases(tmp_path):
    """Tiny options and bad options for each built-in task; the data tasks read small
    files written here."""
    reviews = tmp_path / "reviews.csv"
    reviews.write_text(
        "text,label\n"
        + "".join(
            f"{'good fine' if i % 3 else 'bad awful'} movie {i % 5},{int(i % 3 > 0)}\n"
            for i in range(40)
        ),
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"line {i} of a tiny corpus for windows\n" for i in range(30)))
    missing = str(tmp_path / "missing.csv")
    (tmp_path / "pairs.tsv").write_text(
        "".join(f"w{i % 7} w{i % 5}\tv{i % 5} v{i % 7}\n" for i in range(30))
    )
    bank = tmp_path / "bank"
    bank.mkdir()
    for split in ("train", "dev", "test"):  # labelled PTB-bracket trees, labels 0..4
        (bank / f"{split}.txt").write_text(
            "".join(
                f"({i % 5} ({i % 5} w{i % 7}) ({(i + 1) % 5} ({i % 2} x) ({i % 3} y{i % 4})))\n"
                for i in range(20)
            )
        )
    return {
        "sst": ({"dataset": str(bank)}, [{"dataset": missing}, {"dataset": ""}]),
        "treebank": (
            {"dataset": str(bank), "supervision": "phrases"},
            [{"dataset": missing}, {"dataset": ""}, {"train_file": missing}],
        ),
        "adding": ({"seq_len": 6, **SIZES}, [{"seq_len": 1}, {"train_size": 0}]),
        "copy": ({"seq_len": 4, **SIZES}, [{"seq_len": 0}]),
        "listops": ({"seq_len": 30, **SIZES}, [{"seq_len": 4}, {"max_args": 1}]),
        "waveform": ({"seq_len": 12, **SIZES}, [{"seq_len": 6}, {"components": 3}]),
        "text-classification": (
            {"dataset": str(reviews), "cache": False},
            [{"dataset": missing}, {"dataset": ""}],
        ),
        "language-modelling": (
            {"dataset": str(corpus), "bptt": 8, "cache": False},
            [{"dataset": missing}, {"dataset": ""}],
        ),
        "parallel-text": (
            {"dataset": str(corpus).replace("corpus.txt", "pairs.tsv")},
            [{"dataset": missing}, {"dataset": ""}],
        ),
        **{
            name: (
                {"seq_len": 4, **SIZES},
                [{"seq_len": 0}, {"beam": 0}, {"seq_len": 3, "min_len": 5}],
            )
            for name in ("reverse", "sort", "addition")
        },
    }


def builtin_tasks():
    return sorted(
        name
        for name, (_, source) in get_registry().tasks.items()
        if source.distribution == "rnnbench"
    )


@pytest.mark.parametrize("name", builtin_tasks())
def test_every_builtin_task_passes_check_task_spec(name, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    cases = builtin_cases(tmp_path)
    assert name in cases, f"new built-in task {name!r}: add tiny options to builtin_cases"
    options, bad = cases[name]
    check_task_spec(get_registry().task(name), options, bad_options=bad, batch_size=4)


def test_builtin_tasks_import_only_public_rnnbench_modules():
    imported = {}
    for path in sorted((ROOT / "tasks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module]
                if isinstance(node, ast.ImportFrom) and node.module
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name.split(".")[0] == "rnnbench":
                    imported.setdefault(name, set()).add(path.name)
    assert "rnnbench.taskkit" in imported
    private = {name: files for name, files in imported.items() if name not in PUBLIC_MODULES}
    assert private == {}


def test_importing_the_kit_loads_neither_lightning_nor_datasets():
    import subprocess

    code = (
        "import sys, rnnbench.taskkit as kit; kit.SyntheticTask; "
        "print(sorted(m for m in ('lightning', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    assert rnnbench.taskkit.TensorBatches.__module__ == "rnnbench.data.modules"


# ----------------------------------------------------------------- kit pieces
def counting(n, seed):
    g = torch.Generator().manual_seed(seed)
    return {
        "inputs": torch.randint(1, 5, (n, 3), generator=g),
        "lengths": torch.full((n,), 3),
        "target": torch.randint(0, 2, (n,), generator=g),
    }


def test_seeded_splits_fix_validation_and_test():
    a = seeded_splits(counting, (4, 3, 2), seed=0)
    b = seeded_splits(counting, (4, 3, 2), seed=7)
    assert [len(s) for s in a] == [4, 3, 2]
    assert not torch.equal(a[0].tensors["inputs"], b[0].tensors["inputs"])
    for i in (1, 2):
        assert torch.equal(a[i].tensors["inputs"], b[i].tensors["inputs"])
    assert torch.equal(a[1].tensors["inputs"], counting(3, VAL_SEED)["inputs"])


def test_objective_baselines_match_hand_computed_values():
    train, test = torch.tensor([1, 1, 0, 1]), torch.tensor([0, 0, 1])
    assert Classification(2).baseline(train, test) == pytest.approx(1 / 3)  # majority 1
    assert Regression().baseline(
        torch.tensor([1.0, 3.0]), torch.tensor([2.0, 4.0])
    ) == pytest.approx((0 + 4) / 2)  # training mean 2
    steps = StepClassification(3)
    train = torch.tensor([[0, 0, IGNORE_INDEX], [1, 0, IGNORE_INDEX]])  # counts 3, 1, 0
    test = torch.tensor([[0, 2]])
    p = torch.tensor([4.0, 2.0, 1.0]) / 7  # add-one smoothed
    assert steps.baseline(train, test) == pytest.approx(-(p[0].log() + p[2].log()).item() / 2)


def test_step_accuracy_skips_ignored_steps():
    steps = StepClassification(2)
    logits = torch.tensor([[[2.0, 0.0], [0.0, 2.0], [0.0, 2.0]]])  # predicts 0, 1, 1
    target = torch.tensor([[0, 0, IGNORE_INDEX]])
    metrics = steps.metrics()
    steps.update_metrics(metrics, logits, target)
    assert float(metrics["acc"].compute()) == pytest.approx(0.5)
    assert float(steps.loss(logits, target)) == pytest.approx(
        float(torch.nn.functional.cross_entropy(logits[0, :2], target[0, :2]))
    )


def test_stream_windows_continue_each_other():
    windows = StreamWindows(torch.arange(20), streams=2, bptt=4)  # streams 0..9, 10..19
    assert len(windows) == 3
    first, second, last = windows[0], windows[1], windows[2]
    assert first["inputs"].tolist() == [[0, 1, 2, 3], [10, 11, 12, 13]]
    assert first["target"].tolist() == [[1, 2, 3, 4], [11, 12, 13, 14]]
    assert second["inputs"][:, 0].tolist() == [4, 14]
    assert last["lengths"].tolist() == [1, 1]  # 9 inputs per stream: 4 + 4 + 1
    assert windows.shard(2, 1)[0]["inputs"].tolist() == [[10, 11, 12, 13]]


# ------------------------------------------------------- check_task_spec fails
class Bits(SyntheticTask):
    """A minimal correct task that the broken variants below change in one way each."""

    def __init__(self, options, batch_size, seed):
        super().__init__(options, batch_size, seed)
        self.objective = Classification(2)

    def generate(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        T = self.options["seq_len"]
        inputs = torch.randint(1, 3, (n, T), generator=g)
        return {"inputs": inputs, "lengths": torch.full((n,), T), "target": inputs[:, 0] - 1}

    def context(self):
        return rnnbench.ModelContext("tokens", "pooled", vocab_size=3, padding_idx=0)


class ZeroLengths(Bits):
    def generate(self, n, seed):
        return {**super().generate(n, seed), "lengths": torch.zeros(n, dtype=torch.long)}


class IdsOutOfVocabulary(Bits):
    def context(self):
        return rnnbench.ModelContext("tokens", "pooled", vocab_size=2, padding_idx=0)


class SeedDependentTest(Bits):
    def _build(self):
        o = self.options
        sizes = (o["train_size"], o["val_size"], o["test_size"])
        self.splits = tuple(
            rnnbench.taskkit.TensorBatches(**self.generate(n, self.seed + i))
            for i, n in enumerate(sizes)
        )
        return self.splits


class Nondeterministic(Bits):
    def generate(self, n, seed):
        return super().generate(n, int(torch.randint(0, 10**6, ())))


class NoBaseline(Bits):
    def baseline(self):
        return None


class WrongHead(Bits):
    def head(self, in_features):
        return torch.nn.Linear(in_features + 1, 2)


class AcceptsAnything(Bits):
    pass


def bits_spec(factory, **changes):
    fields = dict(
        name="bits",
        factory=factory,
        input_kind="tokens",
        output="pooled",
        options=rnnbench.ParamSet(size_options(5, "T", 16, 8, 8)),
        monitor="val_acc",
        mode="max",
        main_metric="acc",
    )
    return rnnbench.TaskSpec(**{**fields, **changes})


def test_a_correct_task_passes():
    check_task_spec(bits_spec(Bits), bad_options=[{"seq_len": 0}])


@pytest.mark.parametrize(
    ("spec", "bad", "message"),
    [
        (bits_spec(ZeroLengths), [], "lengths 0..0 outside 1..T=5"),
        (bits_spec(IdsOutOfVocabulary), [], "token ids 1..2 outside [0, vocab_size=2)"),
        (bits_spec(Bits, output="sequence"), [], "the spec declares tokens -> sequence"),
        (bits_spec(SeedDependentTest), [], "the validation batches change with the run seed"),
        (bits_spec(Nondeterministic), [], "two builds with seed 0 give different train batches"),
        (bits_spec(NoBaseline), [], "baseline() returned None"),
        (bits_spec(WrongHead), [], "head and loss fail on features (8, 5)"),
        (bits_spec(Bits, monitor="val_accuracy"), [], "monitor 'accuracy' is never logged"),
        (bits_spec(Bits, main_metric="mse"), [], "main_metric 'mse' is never logged"),
        (bits_spec(AcceptsAnything), [{"seq_len": 3}], "options {'seq_len': 3} were accepted"),
    ],
    ids=[
        "lengths",
        "vocabulary",
        "output-kind",
        "seeded-test",
        "nondeterministic",
        "baseline",
        "head",
        "monitor",
        "main-metric",
        "bad-options",
    ],
)
def test_a_broken_task_fails_with_the_broken_promise(spec, bad, message):
    with pytest.raises(ContractError, match=re.escape(message)):
        check_task_spec(spec, bad_options=bad)


def test_a_rejection_that_writes_files_fails():
    class WritesBeforeChecking(Bits):
        def __init__(self, options, batch_size, seed):
            Path("scratch.txt").write_text("half-written")
            raise rnnbench.ConfigError("task.seq_len: too short")

    with pytest.raises(ContractError, match=r"wrote \['scratch.txt'\]"):
        check_task_spec(_rejecting(WritesBeforeChecking), bad_options=[{"seq_len": 2}])


def _rejecting(factory):
    """A spec whose good options build Bits and whose seq_len=2 goes to `factory`."""

    def build(options, batch_size, seed):
        cls = factory if options["seq_len"] == 2 else Bits
        return cls(options, batch_size, seed)

    return bits_spec(build)


# --------------------------------------------------------- the plugin tutorial's example
def readme_block(first_line: str) -> str:
    readme = "\n".join(p.read_text() for p in sorted((ROOT / "docs" / "plugins").glob("*.md")))
    match = re.search(r"```python\n" + re.escape(first_line) + r"\n(.*?)```", readme, re.S)
    assert match, f"docs/plugins/ has no python block starting with {first_line!r}"
    return f"{first_line}\n{match.group(1)}"


def test_readme_task_example_is_short_and_uses_public_imports_only():
    code = readme_block("# my_package/my_task.py")
    assert len(code.splitlines()) <= 60  # the bar for a task from the README
    modules = {
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(ast.parse(code))
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in getattr(n, "names", [])
    }
    assert {m for m in modules if m.startswith("rnnbench")} <= PUBLIC_MODULES


@pytest.mark.slow
def test_readme_examples_install_pass_their_contracts_and_train(fake_plugin, cli, tmp_path):
    from conftest import TINY

    model = fake_plugin(
        readme_block("# my_package/my_model.py"), dist="my-model", entry_point="my_model"
    )
    task = fake_plugin(
        readme_block("# my_package/my_task.py"), dist="my-task", entry_point="my_task"
    )
    registry = get_registry(refresh=True)
    assert registry.problems == []
    namespace = {"my_model": __import__(model), "my_task": __import__(task)}
    exec(
        compile(
            readme_block("from rnnbench.testing import check_model_spec, check_task_spec"),
            "docs/plugins/testing.md",
            "exec",
        ),
        namespace,
    )
    namespace["test_contracts"]()  # the README's own contract test

    code, out, err = cli(
        "run",
        "--model",
        "rnn",
        "--task",
        "parity",
        *TINY,
        "--set",
        "task.seq_len=8",
        "--results-dir",
        str(tmp_path / "r"),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert {"val_acc", "test_acc", "test_f1"} <= set(result["metrics"])
    assert 0.3 < result["baseline"] < 0.7  # the training majority scored on balanced test data
    at = TINY.index("model.embedding_dim=8")
    mine = TINY[: at - 1] + TINY[at + 1 :]  # my-rnn has no embedding_dim option
    code, out, err = cli(
        "run",
        "--model",
        "my-rnn",
        "--task",
        "parity",
        *mine,
        "--set",
        "task.seq_len=8",
        "--set",
        "task.min_len=3",
        "--diagnostics",
        "gradient-flow",
        "--set",
        "train.diagnostics_interval=1",
        "--results-dir",
        str(tmp_path / "r"),
        "--json",
    )
    assert code == 0, err
    run_id = json.loads(out.strip().splitlines()[-1])["mlflow_run_id"]
    flow = json.loads(
        (tmp_path / "r" / "runs" / run_id / "diagnostics" / "gradient_flow.json").read_text()
    )
    assert flow and all(len(r["norms"]) == 8 for r in flow)  # one norm per step h_1..h_8
    assert flow[0]["norms"][-1] > 0
