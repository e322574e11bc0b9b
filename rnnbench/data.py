"""Data helpers for task plugins: in-memory tensor datasets served a batch at a time.

`TensorBatches[indices]` returns a whole batch by fancy indexing (one gather per
tensor instead of one collate per sample). DataLoaders use `batch_size`/`shuffle`
normally, so Lightning can swap in a DistributedSampler under DDP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class TensorBatches(Dataset):
    """Named tensors sharing their first dimension N; items are dicts of slices."""

    def __init__(self, **tensors: torch.Tensor) -> None:
        sizes = {t.shape[0] for t in tensors.values()}
        if len(sizes) != 1:
            raise ValueError(f"tensors disagree on their first dimension: {sizes}")
        self.tensors = tensors
        self.size = sizes.pop()

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.tensors.items()}

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return {k: v[idx] for k, v in self.tensors.items()}


def batched_collate(batch: Any) -> Any:
    """Collate for TensorBatches: `__getitems__` already built the batch."""
    if isinstance(batch, dict):
        return batch
    return torch.utils.data.default_collate(batch)


def loader(dataset: Dataset, batch_size: int, shuffle: bool = False,
           batch_sampler: Sampler | None = None) -> DataLoader:
    if batch_sampler is not None:
        return DataLoader(dataset, batch_sampler=batch_sampler, collate_fn=batched_collate)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=batched_collate)


def trim_padding(batch: dict[str, torch.Tensor], keys: Sequence[str] = ("inputs",)) -> dict:
    """Cut the time dimension of `keys` to the batch's longest true length."""
    longest = int(batch["lengths"].max())
    out = dict(batch)
    for key in keys:
        out[key] = batch[key][:, :longest]
    return out


class InMemoryDataModule(pl.LightningDataModule):
    """A LightningDataModule over three in-memory datasets built on first use.

    build() -> (train, val, test) is called once, by whichever of the runner's
    `prepare()` or Lightning's `setup()` comes first. Batch-sampler factories
    (dataset -> Sampler of index lists) enable length bucketing.
    """

    def __init__(self, build: Callable[[], tuple[Dataset, Dataset, Dataset]], batch_size: int,
                 eval_batch_size: int | None = None,
                 train_batch_sampler: Callable[[Dataset], Sampler] | None = None,
                 eval_batch_sampler: Callable[[Dataset], Sampler] | None = None) -> None:
        super().__init__()
        self._build = build
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.train_batch_sampler = train_batch_sampler
        self.eval_batch_sampler = eval_batch_sampler
        self.splits: tuple[Dataset, Dataset, Dataset] | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:
            self.splits = self._build()

    def _loader(self, index: int, train: bool) -> DataLoader:
        self.setup()
        dataset = self.splits[index]
        factory = self.train_batch_sampler if train else self.eval_batch_sampler
        sampler = factory(dataset) if factory is not None else None
        return loader(dataset, self.batch_size if train else self.eval_batch_size,
                      shuffle=train, batch_sampler=sampler)

    def train_dataloader(self) -> DataLoader:
        return self._loader(0, True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(1, False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(2, False)
