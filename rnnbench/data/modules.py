"""Data helpers for task plugins (public through `rnnbench.taskkit`): in-memory
tensor datasets served a batch at a time, and streams of consecutive windows.

`TensorBatches[indices]` returns a whole batch by fancy indexing (one gather per
tensor instead of one collate per sample). `StreamWindows[k]` is already a whole
batch (serve it with `InMemoryDataModule(build, batch_size=None)`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class TensorBatches(Dataset):
    """Named tensors sharing their first dimension N; items are dicts of slices.

    trim: keys whose time dimension (dim 1) is cut, per batch, to the batch's longest
    `lengths` (so a batch of short sequences is not padded to the split's longest).
    trim_by: {key: lengths key}, the same against another lengths tensor, e.g.
    {"target": "target_lengths"} for a seq2seq target side.
    """

    def __init__(
        self,
        trim: Sequence[str] = (),
        trim_by: Mapping[str, str] | None = None,
        **tensors: torch.Tensor,
    ) -> None:
        sizes = {t.shape[0] for t in tensors.values()}
        if len(sizes) != 1:
            raise ValueError(f"tensors disagree on their first dimension: {sizes}")
        self.tensors = tensors
        self.trim = tuple(trim)
        self.trim_by = {**{key: "lengths" for key in self.trim}, **dict(trim_by or {})}
        self.size = sizes.pop()

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.tensors.items()}

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        batch = {k: v[idx] for k, v in self.tensors.items()}
        for key, lengths in self.trim_by.items():
            batch[key] = batch[key][:, : int(batch[lengths].max())]
        return batch


class StreamWindows:
    """Consecutive windows over B contiguous streams of one token sequence; item k is
    one batch (B = `streams`), and window k+1 continues window k in every stream, so a
    stateful model carries its state across items.

    ids: (N,) token ids -> streams (B, N // B); window k covers steps
    [k*bptt, k*bptt + L), L <= bptt, with targets shifted by one step.
    Items: {"inputs": (B, L) long, "lengths": (B,) all L, "target": (B, L) long}.
    """

    def __init__(self, ids: torch.Tensor, streams: int, bptt: int) -> None:
        per_stream = ids.numel() // streams
        self.data = ids[: per_stream * streams].view(streams, per_stream)  # (B, N/B)
        self.bptt = bptt
        self.starts = list(range(0, per_stream - 1, bptt))

    def __len__(self) -> int:
        return len(self.starts)

    def shard(self, world: int, rank: int) -> StreamWindows:
        """Rank `rank`'s share of the streams (as many per rank), same windows."""
        view = object.__new__(StreamWindows)
        per_rank = self.data.shape[0] // world
        view.data = self.data[rank::world][:per_rank]
        view.bptt, view.starts = self.bptt, self.starts
        return view

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        i = self.starts[k]
        L = min(self.bptt, self.data.shape[1] - 1 - i)
        return {
            "inputs": self.data[:, i : i + L],  # (B, L)
            "lengths": torch.full((self.data.shape[0],), L, dtype=torch.long),
            "target": self.data[:, i + 1 : i + 1 + L],
        }  # (B, L)


def batched_collate(batch: Any) -> Any:
    """Collate for TensorBatches: `__getitems__` already built the batch."""
    if isinstance(batch, dict):
        return batch
    return torch.utils.data.default_collate(batch)


def loader(
    dataset: Dataset,
    batch_size: int | None,
    shuffle: bool = False,
    batch_sampler: Sampler | None = None,
) -> DataLoader:
    """batch_size=None: the dataset's items are whole batches, served in order."""
    if batch_size is None:
        return DataLoader(dataset, batch_size=None, shuffle=False)
    if batch_sampler is not None:
        return DataLoader(dataset, batch_sampler=batch_sampler, collate_fn=batched_collate)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=batched_collate)


class BucketBatchSampler(Sampler):
    """Index batches of similar lengths, so that little padding is computed.

    Training (shuffle=True): shuffle, sort by length within chunks of
    `batch_size * chunk` examples (chunk 0: the whole split), cut into batches, shuffle
    the batches. Evaluation: one sort of the whole split. Uses torch's global RNG
    (seeded by the runner). `split_lengths` (evaluation only): a batch never mixes two
    lengths (equal lengths run torch's fused recurrent kernels, not packed sequences).
    """

    def __init__(
        self,
        lengths: torch.Tensor,
        batch_size: int,
        shuffle: bool,
        chunk: int = 50,
        seed: int | None = None,
        split_lengths: bool = False,
    ):
        if split_lengths and shuffle:
            raise ValueError("split_lengths is for evaluation batches (shuffle=False)")
        self.lengths = lengths
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.chunk = chunk
        self.seed = seed  # when set, epoch e shuffles with seed + e (same on every rank)
        self.epoch = 0
        self.split_lengths = split_lengths

    def __iter__(self):
        n = len(self.lengths)
        generator = None
        if self.seed is not None:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        size = self.batch_size * self.chunk if self.shuffle and self.chunk else max(n, 1)
        batches = []
        for start in range(0, n, size):
            part = order[start : start + size]
            part = part[torch.argsort(self.lengths[part], stable=True)]
            groups = [part]
            if self.split_lengths:
                counts = torch.unique_consecutive(self.lengths[part], return_counts=True)[1]
                groups = part.split(counts.tolist())
            for group in groups:
                batches.extend(group.split(self.batch_size))
        if self.shuffle:
            perm = torch.randperm(len(batches), generator=generator).tolist()
            batches = [batches[i] for i in perm]
        for batch in batches:
            yield batch.tolist()

    def __len__(self) -> int:
        if self.split_lengths:
            counts = torch.unique(self.lengths, return_counts=True)[1]
            return int((-(-counts // self.batch_size)).sum())
        return -(-len(self.lengths) // self.batch_size)


class ShardedBatches(Sampler):
    """One rank's share of a deterministic batch sampler: every rank builds the same
    batches (same seed) and keeps every world-th one, as many on every rank."""

    def __init__(self, batches: Sampler, world: int, rank: int) -> None:
        self.batches, self.world, self.rank = batches, world, rank

    def __iter__(self):
        yield from shard(self.world, self.rank, list(self.batches))

    def __len__(self) -> int:
        return len(self.batches) // self.world


class InMemoryDataModule(pl.LightningDataModule):
    """A LightningDataModule over three in-memory datasets built on first use.

    build() -> (train, val, test) is called once, by whichever of the runner's
    `prepare()` or Lightning's `setup()` comes first. Batch-sampler factories
    (dataset -> Sampler of index lists) enable length bucketing.
    """

    def __init__(
        self,
        build: Callable[[], tuple[Dataset, Dataset, Dataset]],
        batch_size: int | None,
        eval_batch_size: int | None = None,
        train_batch_sampler: Callable[[Dataset], Sampler] | None = None,
        eval_batch_sampler: Callable[[Dataset], Sampler] | None = None,
    ) -> None:
        super().__init__()
        self._build = build
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size if eval_batch_size is not None else batch_size
        self.train_batch_sampler = train_batch_sampler
        self.eval_batch_sampler = eval_batch_sampler
        self.splits: tuple[Dataset, Dataset, Dataset] | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:
            self.splits = self._build()

    def _loader(self, index: int, train: bool) -> DataLoader:
        self.setup()
        assert self.splits is not None  # built by setup()
        dataset = self.splits[index]
        world = self.trainer.world_size if self.trainer is not None else 1
        if train and world > 1:
            return self._sharded_train_loader(dataset, world, self.trainer.global_rank)
        factory = self.train_batch_sampler if train else self.eval_batch_sampler
        sampler = factory(dataset) if factory is not None else None
        return loader(
            dataset,
            self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            batch_sampler=sampler,
        )

    def _sharded_train_loader(self, dataset: Dataset, world: int, rank: int) -> DataLoader:
        """Training under DDP: each rank its own share of the same seeded batches
        (evaluation runs on rank 0 alone, over the whole split)."""
        seed = torch.initial_seed()  # seed_everything gave every rank the same seed
        if self.batch_size is None:  # prebatched (language-model streams): split streams
            return loader(dataset.shard(world, rank), None)
        if self.train_batch_sampler is not None:
            batches = self.train_batch_sampler(dataset)
            batches.seed = seed
        else:
            batches = BucketBatchSampler(
                torch.zeros(len(dataset)), self.batch_size, shuffle=True, chunk=1, seed=seed
            )
        return loader(dataset, self.batch_size, batch_sampler=ShardedBatches(batches, world, rank))

    def train_dataloader(self) -> DataLoader:
        return self._loader(0, True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(1, False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(2, False)


def shard(world: int, rank: int, items: list) -> list:
    """Rank `rank`'s share of `items` (round robin), cut so every rank gets as many."""
    per_rank = len(items) // world
    return items[rank::world][:per_rank]
