"""The prepared-data cache: a warm start skips loading and gives the same tensors."""

import os
import stat

import pytest
import torch
from test_text_tasks import make

import rnnbench.data.files
from rnnbench.contract.errors import DataError
from rnnbench.data.cache import PreparedCache, datasets_cache_dir


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "hf-datasets"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(folder))
    return folder


def entries(cache_dir, namespace):
    folder = cache_dir / "rnnbench" / namespace
    return sorted(p.name for p in folder.glob("*.pt")) if folder.exists() else []


def forbid_loading(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the data was loaded again instead of read from the cache")

    monkeypatch.setattr(rnnbench.data.files, "load_local", refuse)


def assert_same_splits(a, b):
    assert a.keys() == b.keys()
    for split in a:
        assert a[split].keys() == b[split].keys()
        for name in a[split]:
            assert torch.equal(a[split][name], b[split][name]), (split, name)


@pytest.fixture
def csv_folder(tmp_path):
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "train.csv").write_text(
        "review,label\n"
        + "".join(
            f"{'great fun' if i % 3 else 'dull slow plot'} film {i % 7},{['neg', 'pos'][i % 3 > 0]}\n"
            for i in range(80)
        ),
        encoding="utf-8",
    )
    (folder / "test.csv").write_text(
        "review,label\ngreat film,pos\nslow unknownword,neg\n", encoding="utf-8"
    )
    return folder


def test_text_classification_warm_start_reads_the_cache_and_matches(
    cache_dir, csv_folder, monkeypatch
):
    cold = make("text-classification", dataset=csv_folder)
    assert len(entries(cache_dir, "text-classification")) == 1
    forbid_loading(monkeypatch)
    warm = make("text-classification", dataset=csv_folder)
    assert_same_splits(warm.splits, cold.splits)
    assert warm.vocab.itos == cold.vocab.itos and warm.labels == cold.labels == ["neg", "pos"]
    assert warm.o["text_column"] == "review" and warm.level == cold.level == "word"
    assert warm.describe() == cold.describe() and warm.baseline() == cold.baseline()
    monkeypatch.undo()
    uncached = make("text-classification", dataset=csv_folder, cache="false")
    assert_same_splits(uncached.splits, cold.splits)


def test_text_classification_key_follows_contents_and_options(cache_dir, csv_folder):
    make("text-classification", dataset=csv_folder)
    make("text-classification", dataset=csv_folder, max_length=3)
    assert len(entries(cache_dir, "text-classification")) == 2
    train = csv_folder / "train.csv"
    train.write_text(train.read_text(encoding="utf-8") + "brand new words,pos\n", encoding="utf-8")
    t = make("text-classification", dataset=csv_folder)
    assert len(entries(cache_dir, "text-classification")) == 3
    assert (
        "brand" in t.vocab.stoi
        and len(t.splits["train"]["target"]) + len(t.splits["validation"]["target"]) == 81
    )


def test_disabled_cache_and_bad_data_write_nothing(cache_dir, csv_folder, tmp_path):
    make("text-classification", dataset=csv_folder, cache="false")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train.csv").write_text("review,label\na,x\nb,y\n", encoding="utf-8")
    (bad / "test.csv").write_text("review,label\nc,z\n", encoding="utf-8")
    with pytest.raises(DataError, match="never appears in the training data"):
        make("text-classification", dataset=bad)
    assert entries(cache_dir, "text-classification") == []


def test_language_model_warm_start_reads_the_cache_and_matches(cache_dir, tmp_path, monkeypatch):
    path = tmp_path / "input.txt"
    path.write_text("to be or not to be, that is the question\n" * 40, encoding="utf-8")
    cold = make("language-modelling", dataset=path, bptt=8)
    forbid_loading(monkeypatch)
    warm = make("language-modelling", dataset=path, bptt=16)  # bptt does not shape the ids
    assert warm.vocab.itos == cold.vocab.itos
    assert_same_splits({"ids": warm.ids}, {"ids": cold.ids})
    assert len(entries(cache_dir, "language-modelling")) == 1
    with pytest.raises(DataError, match="too few for 4096 streams"):  # checked on a hit too
        make("language-modelling", dataset=path, batch_size=4096)


def test_unreadable_entry_is_reported_and_rebuilt(cache_dir, csv_folder, capsys):
    make("text-classification", dataset=csv_folder)
    (entry,) = (cache_dir / "rnnbench" / "text-classification").glob("*.pt")
    entry.write_bytes(entry.read_bytes()[:100])  # truncated, as by a full disk
    t = make("text-classification", dataset=csv_folder)
    assert "ignoring unreadable prepared-data cache entry" in capsys.readouterr().err
    assert len(t.splits["train"]["target"]) > 0
    assert torch.load(entry, weights_only=True)["labels"] == ["neg", "pos"]  # rewritten


def test_unwritable_cache_folder_only_costs_the_speed_up(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = PreparedCache("x", root=blocker)
    assert cache.save("k", {"a": torch.ones(2)}) is None
    assert "not caching prepared data" in capsys.readouterr().err
    assert cache.load("k") is None


def test_save_is_atomic_and_keys_cover_every_input(tmp_path):
    cache = PreparedCache("x", root=tmp_path)
    code = tmp_path / "code.py"
    code.write_text("A = 1\n")
    key = cache.key({"train": "abc"}, {"n": 1}, [code])
    assert cache.key({"train": "abc"}, {"n": 1}, [code]) == key
    assert cache.key({"train": "abd"}, {"n": 1}, [code]) != key
    assert cache.key({"train": "abc"}, {"n": 2}, [code]) != key
    code.write_text("A = 2\n")
    assert cache.key({"train": "abc"}, {"n": 1}, [code]) != key
    umask = os.umask(0o022)
    try:
        cache.save(key, {"ids": torch.arange(5), "itos": ["<pad>", "a"]})
    finally:
        os.umask(umask)
    assert [p.name for p in cache.folder.iterdir()] == [f"{key}.pt"]  # no temporary left
    assert stat.S_IMODE(cache.path(key).stat().st_mode) == 0o644  # the umask, as for any file
    assert torch.equal(cache.load(key)["ids"], torch.arange(5))


def test_cache_folder_follows_the_datasets_rules(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_DATASETS_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert datasets_cache_dir() == tmp_path / "hf" / "datasets"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "d"))
    assert datasets_cache_dir() == tmp_path / "d"


def test_hub_datasets_are_keyed_by_their_fingerprints(cache_dir, csv_folder, monkeypatch):
    from rnnbench_tasks.text_classification import TextClassificationTask

    files = {"train": csv_folder / "train.csv", "test": csv_folder / "test.csv"}
    monkeypatch.setattr(
        rnnbench.data.files,
        "load_hub",  # as if downloaded from the hub
        lambda name, config, option: rnnbench.data.files.load_local(files),
    )
    cold = make("text-classification", dataset="someone/reviews")
    assert len(entries(cache_dir, "text-classification")) == 1

    def refuse(self, data):
        raise AssertionError("prepared again instead of read from the cache")

    monkeypatch.setattr(TextClassificationTask, "_build", refuse)
    warm = make("text-classification", dataset="someone/reviews")
    assert_same_splits(warm.splits, cold.splits)
