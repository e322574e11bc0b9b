"""The public API holds still: each public module's `__all__` is its one list of names,
the committed snapshot (names and signatures) matches, the reference page is derived
from it, and every name that moved since 0.1 still works with a DeprecationWarning
naming its new path, shown end to end by a plugin written the 0.1 way."""

from __future__ import annotations

import importlib
import json
import warnings

import pytest

from rnnbench import _api, _api_snapshot

REGENERATE = "python -m rnnbench._api_snapshot --write"


def test_snapshot_matches_the_public_api():
    committed = json.loads(_api_snapshot.SNAPSHOT.read_text())
    now = _api_snapshot.snapshot()
    changed = sorted(
        f"{module}.{name}"
        for module in now.keys() | committed.keys()
        for name in now.get(module, {}).keys() | committed.get(module, {}).keys()
        if now.get(module, {}).get(name) != committed.get(module, {}).get(name)
    )
    assert not changed, (
        f"the public API changed: {changed}. If deliberate, record it in "
        f"CHANGELOG.md and run `{REGENERATE}`"
    )


def test_reference_page_is_derived_from_the_snapshot():
    assert _api_snapshot.REFERENCE.read_text() == _api_snapshot.reference(), (
        f"docs/guide/api.md is stale: run `{REGENERATE}`"
    )


@pytest.mark.parametrize("module_name", _api.PUBLIC_MODULES)
def test_all_is_the_one_list(module_name):
    module = importlib.import_module(module_name)
    names = module.__all__
    assert len(names) == len(set(names)), "duplicates in __all__"
    for name in names:  # every listed name resolves (lazy ones from their home module)
        assert getattr(module, name) is not None or name in ("__version__",)
    if "__dir__" in vars(module):  # lazily loaded modules: dir() is __all__
        assert sorted(module.__dir__()) == sorted(names)
    assert "_" not in {n[:1] for n in names if n != "__version__"}


def test_taskkit_resolves_a_lazy_name_without_loading_its_neighbours(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, rnnbench.taskkit as kit; kit.EOS, kit.Vocabulary, kit.check_file; "
        "print('lightning' in sys.modules, 'datasets' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_an_unknown_name_is_an_attribute_error():
    import rnnbench.taskkit
    import rnnbench.testing

    with pytest.raises(AttributeError, match=r"rnnbench\.taskkit' has no attribute 'Nope'"):
        rnnbench.taskkit.Nope  # noqa: B018
    with pytest.raises(AttributeError):
        rnnbench.testing.Nope  # noqa: B018


MOVED = [
    (old, name, new, new_name)
    for old, (new, names) in _api.MOVED.items()
    for name, new_name in names.items()
]


@pytest.mark.parametrize(
    ("old", "name", "new", "new_name"), MOVED, ids=[f"{m[0]}.{m[1]}" for m in MOVED]
)
def test_moved_name_warns_with_its_new_path(old, name, new, new_name):
    module = importlib.import_module(old)
    with pytest.warns(
        DeprecationWarning,
        match=rf"{old}\.{name} is deprecated .* use "
        rf"{new}\.{new_name}\b",
    ):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), new_name)


def test_from_import_of_a_moved_name_warns_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from rnnbench.data import TensorBatches  # noqa: F401
    assert [str(w.message).split(" is ")[0] for w in caught] == ["rnnbench.data.TensorBatches"]


def test_a_removed_module_still_refuses_unknown_names():
    import rnnbench.objectives

    with pytest.raises(AttributeError, match=r"'rnnbench\.objectives' has no attribute 'x'"):
        rnnbench.objectives.x  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("rnnbench.no_such_module")


# A model and a task exactly as a plugin author wrote them against rnnbench 0.1.
OLD_PLUGIN = '''
import torch
import rnnbench
from rnnbench.nn import InputEncoder, run_rnn
from rnnbench.data import InMemoryDataModule, TensorBatches
from rnnbench.objectives import Classification, ObjectiveTask


class OldGRU(torch.nn.Module):
    def __init__(self, context, hidden_size):
        super().__init__()
        self.encoder = InputEncoder(context, embedding_dim=8)
        self.rnn = torch.nn.GRU(self.encoder.output_size, hidden_size, batch_first=True)
        self.output_size = hidden_size

    def forward(self, inputs, lengths, state=None):
        out, h = run_rnn(self.rnn, self.encoder(inputs), lengths, state)
        return rnnbench.ModelOutput(sequence=out, pooled=h[-1], state=h)


def build(context, hidden_size=16):
    return OldGRU(context, hidden_size)


class FirstBit(ObjectiveTask, rnnbench.Task):
    """Is the first bit one? Tokens 1 = bit 0, 2 = bit 1."""

    def __init__(self, options, batch_size, seed):
        self.options = dict(options)
        self.seed = seed
        self.objective = Classification(2)
        self._dm = InMemoryDataModule(self._build, batch_size=batch_size)

    def _split(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        bits = torch.randint(0, 2, (n, 6), generator=g)
        return TensorBatches(inputs=bits + 1, lengths=torch.full((n,), 6),
                             target=bits[:, 0])

    def _build(self):
        return (self._split(128, self.seed + 1), self._split(32, 1), self._split(32, 2))

    @property
    def datamodule(self):
        return self._dm

    def prepare(self):
        self._dm.setup()

    def context(self):
        return rnnbench.ModelContext("tokens", "pooled", vocab_size=3, padding_idx=0)

    def describe(self):
        return dict(self.options)


@rnnbench.hookimpl
def register_models(register):
    register(rnnbench.ModelSpec(name="old-gru", builder=build, params=rnnbench.ParamSet((
        rnnbench.Param("hidden_size", int, 16, minimum=1),))))


@rnnbench.hookimpl
def register_tasks(register):
    register(rnnbench.TaskSpec(name="first-bit", factory=FirstBit, input_kind="tokens",
                               output="pooled", monitor="val_acc", mode="max",
                               main_metric="acc"))
'''


@pytest.mark.slow
def test_a_plugin_written_against_0_1_runs_unchanged(fake_plugin, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fake_plugin(OLD_PLUGIN, dist="old-style-plugin", version="0.1.0", entry_point="old")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, out, err = cli(
            "run",
            "--model",
            "old-gru",
            "--task",
            "first-bit",
            "--max-epochs",
            "1",
            "--set",
            "train.progress=false",
            "--results-dir",
            str(tmp_path / "results"),
        )
    assert status == 0, err
    assert "test_acc" in out or "acc" in out
    moved = {
        str(w.message).split(" is deprecated")[0]: str(w.message)
        for w in caught
        if issubclass(w.category, DeprecationWarning) and "rnnbench" in str(w.message)
    }
    for old, new in [
        ("rnnbench.data.InMemoryDataModule", "rnnbench.taskkit.InMemoryDataModule"),
        ("rnnbench.data.TensorBatches", "rnnbench.taskkit.TensorBatches"),
        ("rnnbench.objectives.Classification", "rnnbench.taskkit.Classification"),
        ("rnnbench.objectives.ObjectiveTask", "rnnbench.taskkit.ObjectiveTask"),
    ]:
        assert old in moved and f"use {new} " in moved[old], moved
