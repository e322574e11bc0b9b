"""Batches of one length (task.equal_lengths): training sorts the whole split before
cutting batches, evaluation batches never mix lengths; every example once per epoch."""

import torch
from conftest import write

from rnnbench.data.modules import BucketBatchSampler


def lengths(n=1000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(8, 31, (n,), generator=g)


def test_evaluation_batches_never_mix_lengths():
    ls = lengths()
    sampler = BucketBatchSampler(ls, 64, shuffle=False, split_lengths=True)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(ls)))
    assert all(len(set(ls[b].tolist())) == 1 and len(b) <= 64 for b in batches)
    distinct = len(set(ls.tolist()))
    assert distinct <= len(batches) <= distinct + len(ls) // 64


def test_whole_split_training_batches_mix_only_at_length_boundaries():
    ls = lengths()
    torch.manual_seed(0)
    sampler = BucketBatchSampler(ls, 64, shuffle=True, chunk=0)
    for _ in range(2):  # two epochs: different batches, each example once
        batches = list(sampler)
        assert sorted(i for b in batches for i in b) == list(range(len(ls)))
        assert sorted(map(len, batches))[1:] == [64] * (len(batches) - 1)
        mixed = sum(len(set(ls[b].tolist())) > 1 for b in batches)
        assert mixed <= len(set(ls.tolist())) - 1
    chunked = list(BucketBatchSampler(ls, 64, shuffle=True))  # default: chunks of 50 batches
    assert sorted(i for b in chunked for i in b) == list(range(len(ls)))


def test_split_lengths_is_for_evaluation_only():
    import pytest

    with pytest.raises(ValueError):
        BucketBatchSampler(lengths(), 64, shuffle=True, split_lengths=True)


def test_text_classification_equal_lengths(tmp_path):
    from test_text_tasks import make

    folder = tmp_path / "zh"
    texts = ["好" * (3 + i % 5) for i in range(200)]
    write(folder / "train.tsv", "".join(f"{t}\t{i % 2}\n" for i, t in enumerate(texts)))
    write(folder / "dev.tsv", "".join(f"{t}\t{i % 2}\n" for i, t in enumerate(texts[:50])))
    write(folder / "test.tsv", "好好\t0\n")
    t = make("text-classification", dataset=folder, batch_size=16, equal_lengths="true")
    for batch in t.datamodule.val_dataloader():
        assert len(set(batch["lengths"].tolist())) == 1
    train = list(t.datamodule.train_dataloader())
    assert sum(len(set(b["lengths"].tolist())) > 1 for b in train) <= 4
    assert sum(len(b["lengths"]) for b in train) == 200
