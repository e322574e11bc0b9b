"""Locating and checking local data files, and loading them (or hub ids) as
`datasets.DatasetDict`s; rnnbench.data.tabular reads the files (format, header, columns).

Every problem becomes a one-line DataError that names the option, file, line or byte.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from rnnbench.contract.errors import DataError, reason
from rnnbench.data.tabular import EXTENSIONS as FORMATS
from rnnbench.data.tabular import Table, read_tables

SPLIT_NAMES = {
    "train": ("train",),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test",),
}


def is_offline() -> bool:
    return any(
        os.environ.get(v, "") not in ("", "0", "false")
        for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def find_split_files(folder: Path, option: str) -> dict[str, Path]:
    """train/dev|validation|valid/test files in a folder, by stem, any known extension."""
    found: dict[str, Path] = {}
    for split, stems in SPLIT_NAMES.items():
        for stem in stems:
            matches = sorted(
                p
                for p in folder.iterdir()
                if p.is_file() and p.stem == stem and p.suffix.lower() in FORMATS
            )
            if matches:
                found[split] = matches[0]
                break
    if "train" not in found:
        raise DataError(
            f"{option} {folder}: unknown folder layout; accepted: a folder with "
            "train.csv|tsv|jsonl|parquet|txt (and optional dev|validation|valid|"
            "val and test files), one data file, or a `datasets` save_to_disk "
            "folder (DatasetDict or Dataset)"
        )
    return found


def check_file(path: Path, option: str) -> None:
    """Exists, is not empty, and (for text formats) is valid UTF-8."""
    if not path.exists():
        raise DataError(f"{option}: {path} does not exist")
    if path.is_dir():
        raise DataError(f"{option}: {path} is a folder, expected a file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    if not os.access(path, os.R_OK):
        raise DataError(f"{option}: {path} is not readable (permission denied)")
    if path.suffix.lower() == ".parquet":
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{option}: {path} cannot be read ({exc.strerror or exc})") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}: not valid UTF-8 at byte {exc.start} (line {line})") from None
    if not data.strip():
        raise DataError(f"{path}: file is empty")


def local_files(path: Path, option: str = "task.dataset") -> dict[str, Path]:
    """Split name -> checked file: a folder's train/validation/test files, or one file
    as the training split."""
    files = find_split_files(path, option) if path.is_dir() else {"train": path}
    for file in files.values():
        check_file(file, option)
    return files


def load_local(
    files: dict[str, Path], fmt: str = "auto", header: str = "auto", delimiter: str = "auto"
):
    """A datasets.DatasetDict from local files (split -> path), with the files' Tables
    (line numbers, header decisions; rows dropped) in its `tables` attribute.

    fmt: task.format (auto | csv | tsv | jsonl | parquet | text); header: task.header
    (auto | true | false); delimiter: task.delimiter (auto | one character), see
    rnnbench.data.tabular.
    """
    import datasets

    datasets.disable_progress_bars()
    tables = read_tables(files, fmt, header, delimiter)
    splits = _local_splits_class()(
        {split: datasets.Dataset.from_dict(table.data) for split, table in tables.items()}
    )
    for table in tables.values():
        table.data = {}  # the rows live in the datasets now
    splits.tables = tables
    return splits


@functools.cache
def _local_splits_class():
    import datasets  # defined on first use: importing datasets takes a second

    class LocalSplits(datasets.DatasetDict):
        """A DatasetDict that also carries each split's Table (see load_local)."""

        tables: dict[str, Table]

    return LocalSplits


def is_saved_dataset(path: Path) -> bool:
    """A folder written by `DatasetDict.save_to_disk` (dataset_dict.json) or
    `Dataset.save_to_disk` (state.json + dataset_info.json)."""
    return path.is_dir() and (
        (path / "dataset_dict.json").is_file()
        or ((path / "state.json").is_file() and (path / "dataset_info.json").is_file())
    )


def load_saved(path: Path, option: str):
    """A datasets.DatasetDict from a save_to_disk folder; a single saved Dataset is the
    training split."""
    import datasets

    try:
        data = datasets.load_from_disk(str(path))
    except Exception as exc:  # a damaged folder: one line naming it
        raise DataError(
            f"{option} {path}: not a readable `datasets` save_to_disk folder ({reason(exc)})"
        ) from None
    return data if isinstance(data, datasets.DatasetDict) else datasets.DatasetDict(train=data)


def load_hub(name: str, config: str | None, option: str):
    """A datasets.DatasetDict from the Hugging Face Hub, with a clear offline error; a
    local `save_to_disk` folder (see resolve_local) loads through `load_from_disk`."""
    local = Path(name).expanduser()
    if is_saved_dataset(local):
        return load_saved(local, option)
    if is_offline():
        raise DataError(
            f"{option} {name!r}: not a local file or folder, and the Hugging Face Hub is "
            "offline (HF_HUB_OFFLINE=1); point it to local files (CSV, TSV, JSON lines, "
            "Parquet or text) instead"
        )
    import datasets

    datasets.disable_progress_bars()
    try:
        return datasets.load_dataset(name, config)
    except Exception as exc:
        raise DataError(
            f"{option} {name!r}: could not load from the Hugging Face Hub "
            f"({reason(exc)}); without network access, "
            "use local files"
        ) from None


def column(dataset, name: str) -> list:
    """All values of one column as a Python list, read through Arrow in one go
    (iterating `dataset[name]` decodes row by row, which dominates a cached load)."""
    return dataset.with_format("arrow")[:][name].to_pylist()


def resolve_local(dataset: str, option: str = "task.dataset") -> Path | None:
    """The path named by `dataset` when it is local files, None when it is a hub id or a
    `datasets` save_to_disk folder (both loaded by load_hub).

    Local: it exists, starts with '.', '/' or '~', or ends in a known file type.
    """
    path = Path(dataset).expanduser()
    if is_saved_dataset(path):
        return None  # a DatasetDict/Dataset on disk: loaded like a hub dataset (load_hub)
    if path.exists():
        return path
    if dataset.startswith((".", "/", "~")) or path.suffix.lower() in FORMATS:
        raise DataError(f"{option}: {path} does not exist")
    return None
