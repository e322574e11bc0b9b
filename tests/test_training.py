"""Every built-in model trains a short run on every compatible built-in task, and its loss
falls. Both lists come from the registry, so a new built-in plugin is covered by itself."""

import json

import pytest

from rnnbench import compatibility
from rnnbench.contract.registry import get_registry

# Tiny configurations of the built-in tasks ({tc} and {lm} are small files the test writes,
# pt.tsv beside them).
# A synthetic task missing here gets SYNTHETIC_TINY; a data task missing here fails the test.
TASK_OPTIONS = {
    "adding": ["task.seq_len=8", "task.train_size=256", "task.val_size=64", "task.test_size=64"],
    "copy": ["task.seq_len=4", "task.train_size=256", "task.val_size=64", "task.test_size=64"],
    "listops": [
        "task.seq_len=20",
        "task.depth=2",
        "task.train_size=256",
        "task.val_size=64",
        "task.test_size=64",
    ],
    "text-classification": ["task.dataset={tc}"],
    "language-modelling": ["task.dataset={lm}", "task.bptt=8"],
    "parallel-text": ["task.dataset={tc.parent}/pt.tsv"],
    "sst": ["task.dataset={tb}"],
    "treebank": ["task.dataset={tb}"],
}
SYNTHETIC_TINY = {"seq_len": 8, "train_size": 256, "val_size": 64, "test_size": 64}
MODEL_OPTIONS = {
    "hidden_size": 16,
    "embedding_dim": 8,
    "context_size": 8,
    "memory_size": 8,
    "dropout_input": 0.1,
    "weight_drop": 0.1,
}  # awd-lstm's, milder for 4 epochs


def builtin(table) -> list[str]:
    """Names that rnnbench's own distribution registers (through its entry points)."""
    return sorted(name for name, (_, src) in table.items() if src.distribution == "rnnbench")


def pairs():
    registry = get_registry()
    return [
        (model, task)
        for model in builtin(registry.models)
        for task in builtin(registry.tasks)
        if compatibility(registry.model(model), registry.task(task)) is None
    ]


def pairs_first_fast() -> list:
    """`pairs()` with every pair but each model's first in the slow tier: the fast tier
    still builds every built-in model once."""
    seen: set[str] = set()
    cases = []
    for model, task in pairs():
        first = model not in seen
        seen.add(model)
        cases.append(pytest.param(model, task, marks=() if first else pytest.mark.slow))
    return cases


def task_options(task: str) -> list[str]:
    """The task's tiny --set task.* values; a task that has none fails the calling test."""
    if task in TASK_OPTIONS:
        return TASK_OPTIONS[task]
    spec = get_registry().task(task)
    if not spec.synthetic:
        pytest.fail(
            f"built-in task {task!r} reads data: give it a tiny configuration on small "
            "local files in TASK_OPTIONS (tests/test_training.py)"
        )
    return [f"task.{k}={v}" for k, v in SYNTHETIC_TINY.items() if k in spec.options]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    words = ["good", "great", "fine", "bad", "awful", "poor", "the", "movie", "was", "plot"]
    lines = ["sentence\tlabel"]
    for i in range(240):
        positive = i % 2
        pick = words[:3] if positive else words[3:6]
        lines.append(f"the movie was {pick[i % 3]} {words[6 + i % 4]}\t{positive}")
    (root / "tc.tsv").write_text("\n".join(lines) + "\n")
    (root / "lm.txt").write_text("to be or not to be that is the question\n" * 80)
    (root / "pt.tsv").write_text(
        "".join(
            f"{words[i % 10]} {words[i % 7]}\t{words[i % 7]} {words[i % 10]}\n" for i in range(200)
        )
    )
    (root / "tb").mkdir()  # a treebank: the root's label is its sentiment word's
    for split in ("train", "dev", "test"):
        (root / "tb" / f"{split}.txt").write_text(
            "".join(
                f"({k} ({k} {words[k if k < 2 else k - 1]}) (2 (2 {words[6 + i % 4]}) (2 movie)))\n"
                for i in range(120)
                for k in [(0, 1, 3, 4)[i % 4]]
            )
        )
    return {
        "tc": root / "tc.tsv",
        "lm": root / "lm.txt",
        "tb": root / "tb",
        "results": root / "results",
    }


def test_every_builtin_model_and_task_is_covered():
    registry = get_registry()
    found = pairs()
    assert {m for m, _ in found} == set(builtin(registry.models)) >= {"rnn", "lstm", "memnet"}
    assert {t for _, t in found} == set(builtin(registry.tasks)) >= set(TASK_OPTIONS)
    assert ("lstm", "language-modelling") in found and ("birnn", "language-modelling") not in found
    assert ("textrnn", "adding") not in found and ("memnet", "adding") not in found


@pytest.mark.slow
@pytest.mark.parametrize(("model", "task"), pairs())
def test_loss_goes_down(cli, data, model, task):
    spec = get_registry().model(model)
    sets = [f"model.{k}={v}" for k, v in MODEL_OPTIONS.items() if k in spec.params]
    sets += [o.format(tc=data["tc"], lm=data["lm"], tb=data["tb"]) for o in task_options(task)]
    sets += ["train.lr=0.01", "train.batch_size=32", "train.progress=false", "train.patience=10"]
    args = [
        "run",
        "--model",
        model,
        "--task",
        task,
        "--max-epochs",
        "4",
        "--results-dir",
        str(data["results"]),
        "--json",
    ]
    for s in sets:
        args += ["--set", s]
    code, out, err = cli(*args)
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{data['results'] / 'mlflow.db'}")
    history = [
        m.value
        for m in sorted(
            client.get_metric_history(result["mlflow_run_id"], "train_loss"), key=lambda m: m.step
        )
    ]
    assert len(history) == 4
    assert history[-1] < history[0], f"{model} on {task}: train loss {history}"
    assert not result["diverged"]


def test_a_task_without_a_tiny_configuration_fails_or_gets_the_synthetic_one(monkeypatch):
    monkeypatch.delitem(TASK_OPTIONS, "adding")
    assert task_options("adding") == [
        "task.seq_len=8",
        "task.train_size=256",
        "task.val_size=64",
        "task.test_size=64",
    ]
    monkeypatch.delitem(TASK_OPTIONS, "language-modelling")
    with pytest.raises(pytest.fail.Exception, match="'language-modelling' reads data"):
        task_options("language-modelling")


@pytest.mark.parametrize("flush", [True, False])
def test_flush_denormal_sets_how_the_cpu_treats_denormal_floats(flush):
    import torch

    from rnnbench.training.config import build_run_config
    from rnnbench.training.runner import prepare

    sets = {
        "task": {"seq_len": 5, "train_size": 8, "val_size": 8, "test_size": 8},
        "model": {"hidden_size": 4},
        "train": {"flush_denormal": flush},
    }
    try:
        prepare(build_run_config(get_registry(), "rnn", "adding", sets), get_registry())
        denormal = torch.tensor([1e-39]) * torch.tensor([1.0])
        assert (denormal.item() == 0.0) is flush
    finally:
        torch.set_flush_denormal(False)  # torch's default, for the tests that follow


def test_a_validated_run_config_is_immutable_and_round_trips():
    """build_run_config's RunConfig cannot be changed (fields nor mappings); what the run
    derives (here the width of a parameter budget) is a new config; pickling and the DDP
    payload (to_dict, JSON) rebuild an equal config."""
    import dataclasses
    import pickle

    from rnnbench.training.config import RunConfig, build_run_config
    from rnnbench.training.runner import prepare

    sets = {
        "task": {"seq_len": 5, "train_size": 8, "val_size": 8, "test_size": 8},
        "train": {"param_budget": 500},
    }
    config = build_run_config(get_registry(), "rnn", "adding", sets)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.results_dir = "elsewhere"  # type: ignore[misc]
    for mapping in (config.model_params, config.task_options, config.train):
        with pytest.raises(TypeError):
            mapping["x"] = 1  # type: ignore[index]
    sets["task"]["seq_len"] = 99  # the caller's dicts are copied, not shared
    assert config.task_options["seq_len"] == 5
    prepared = prepare(config, get_registry())
    width = prepared.budget.width
    assert width != 128 and config.model_params["hidden_size"] == 128  # the default, kept
    assert prepared.config.model_params["hidden_size"] == width
    assert prepared.config.train == config.train
    rebuilt = RunConfig(**json.loads(json.dumps(prepared.config.to_dict())))
    assert rebuilt == prepared.config
    assert pickle.loads(pickle.dumps(prepared.config)) == prepared.config
