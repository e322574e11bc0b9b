"""Pretrained word vectors from files: the word2vec / GloVe / fastText text format and
NumPy matrices with a vocabulary file. Nothing is ever unpickled.

Text format (UTF-8, optionally gzipped: a `.gz` name or gzip's magic bytes):
    [N E]                       optional header (word2vec, fastText .vec): two integers
    TOKEN v_1 v_2 ... v_E       one vector per line, values separated by spaces
The token is everything before the last E values, so tokens with inner spaces (some
GloVe releases have them) are read whole. Every line must carry E finite numbers; a
repeated token keeps its first vector; blank lines are skipped.

NumPy: `.npy` (one (N, E) float array) or `.npz` (the array named by
`train.embeddings_array`, or the archive's only array) with a vocabulary file of N
lines, one token per line, line i naming row i.

`load_vectors` caches the parsed result with the prepared data (rnnbench.data.cache),
keyed by the files' contents, so a sweep reads a large file once.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import torch

from rnnbench.contract.errors import DataError
from rnnbench.data.tabular import is_number

NUMPY_SUFFIXES = (".npy", ".npz")


@dataclass
class Vectors:
    """N tokens and their (N, E) float32 vectors, row i for tokens[i]."""

    tokens: list[str]
    vectors: torch.Tensor  # (N, E) float32
    source: str  # the file it came from, for messages

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def is_numpy(path: Path) -> bool:
    return Path(path).suffix.lower() in NUMPY_SUFFIXES


def load_vectors(
    path: Path, vocab: Path | None = None, array: str = "", cache: bool = True
) -> Vectors:
    """The vectors of `path` (text, or .npy/.npz with `vocab`), from the prepared-data
    cache when the same files were read before; a DataError naming file and line on
    bad input."""
    path = Path(path)
    if not cache:
        return read_vectors(path, vocab, array)
    from rnnbench.data.cache import PreparedCache, file_digests

    files = {"vectors": path, **({"vocab": Path(vocab)} if vocab else {})}
    store = PreparedCache("embeddings")
    key = store.key(file_digests(files), {"array": array}, [__file__])

    def build() -> dict:
        read = read_vectors(path, vocab, array)
        return {"tokens": read.tokens, "vectors": read.vectors}

    payload = store.fetch(key, build)
    return Vectors(list(payload["tokens"]), payload["vectors"], str(path))


def read_vectors(path: Path, vocab: Path | None = None, array: str = "") -> Vectors:
    """Parse the file (no cache)."""
    path = Path(path)
    if is_numpy(path):
        if vocab is None:
            raise DataError(
                f"{path}: a NumPy matrix needs its vocabulary file "
                "(train.embeddings_vocab: one token per line, line i = row i)"
            )
        return _read_numpy(path, Path(vocab), array)
    return _read_text(path)


def _open_binary(path: Path) -> io.BufferedIOBase:
    """The file's bytes, gunzipped when it starts with gzip's magic bytes."""
    with path.open("rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def _header(fields: list[str]) -> tuple[int, int] | None:
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        return int(fields[0]), int(fields[1])
    return None


def _read_text(path: Path) -> Vectors:
    import numpy as np

    tokens: list[str] = []
    rows: list = []
    seen: set[str] = set()
    dim, header, lineno = None, None, 0
    try:
        with _open_binary(path) as fh:
            for lineno, raw in enumerate(fh, 1):  # decoded line by line: errors name it
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8").rstrip()
                if not line.strip():
                    continue
                if dim is None and not tokens and lineno == 1 and _header(line.split()):
                    header = _header(line.split())
                    dim = header[1] if header else 0
                    if dim < 1:
                        raise DataError(f"{path} line 1: header gives dimension {dim}")
                    continue
                if dim is None:  # the trailing numbers of the first line (token kept)
                    fields = line.split()
                    dim = min(len(fields) - 1, _trailing_numbers(fields))
                    if dim < 1:
                        raise DataError(f"{path} line {lineno}: a token without values")
                fields = line.split()
                # more fields than E + 1 is a token with inner spaces, unless the field
                # before the last E is a number too (then a line with too many values)
                if len(fields) < dim + 1 or (len(fields) > dim + 1 and is_number(fields[-dim - 1])):
                    raise DataError(
                        f"{path} line {lineno}: {len(fields) - 1} values, expected "
                        f"{dim} (as on the {'header' if header else 'first'} line)"
                    )
                parts = line.rsplit(None, dim)  # (token, v_1, ..., v_E)
                try:
                    values = np.asarray(parts[1:], dtype=np.float32)  # (E,)
                except ValueError:
                    bad = next(p for p in parts[1:] if not is_number(p))
                    raise DataError(f"{path} line {lineno}: {bad[:40]!r} is not a number") from None
                if not np.isfinite(values).all():
                    raise DataError(f"{path} line {lineno}: a value is not finite")
                if parts[0] in seen:
                    continue
                seen.add(parts[0])
                tokens.append(parts[0])
                rows.append(values)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} line {lineno}: not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    if not tokens:
        raise DataError(f"{path}: empty, no vectors (expected lines 'TOKEN v1 v2 ...')")
    # a header's count is not checked: tools write it before filtering lines
    return Vectors(tokens, torch.from_numpy(np.stack(rows)), str(path))


def _trailing_numbers(fields: list[str]) -> int:
    n = 0
    while n < len(fields) and is_number(fields[-1 - n]):
        n += 1
    return n


def _read_numpy(path: Path, vocab: Path, array: str) -> Vectors:
    import numpy as np

    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable NumPy file without pickles ({exc})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            if not names:
                raise DataError(f"{path}: empty archive, no arrays")
            if not array and len(names) > 1:
                raise DataError(
                    f"{path}: {len(names)} arrays ({', '.join(names)}); name one "
                    "with train.embeddings_array"
                )
            name = array or names[0]
            if name not in names:
                raise DataError(
                    f"{path}: no array {name!r} (train.embeddings_array); arrays: "
                    f"{', '.join(names)}"
                )
            try:
                matrix = loaded[name]
            except ValueError as exc:
                raise DataError(
                    f"{path}: array {name!r} cannot be read without unpickling ({exc})"
                ) from None
    else:
        matrix = loaded
    if matrix.ndim != 2 or matrix.shape[0] < 1 or matrix.shape[1] < 1:
        raise DataError(
            f"{path}: expected one (rows, dimension) matrix, got shape {tuple(matrix.shape)}"
        )
    if matrix.dtype.kind not in "fiu":
        raise DataError(f"{path}: values of type {matrix.dtype}, expected numbers")
    matrix = matrix.astype(np.float32)
    if not np.isfinite(matrix).all():
        row = int(np.nonzero(~np.isfinite(matrix).all(1))[0][0])
        raise DataError(f"{path}: row {row + 1} has a value that is not finite")
    tokens = _read_vocab(vocab)
    if len(tokens) != matrix.shape[0]:
        n, rows = len(tokens), matrix.shape[0]
        where = (
            f"{vocab} line {rows + 1}: token {tokens[rows]!r} has no row"
            if n > rows
            else f"{vocab} line {n + 1}: missing (no token for row {n + 1})"
        )
        raise DataError(f"{where}; {path} has {rows:,} rows, {vocab} {n:,} tokens")
    first: dict[str, int] = {}
    for i, token in enumerate(tokens):
        first.setdefault(token, i)
    keep = sorted(first.values())
    return Vectors([tokens[i] for i in keep], torch.from_numpy(matrix[keep]), str(path))


def _read_vocab(vocab: Path) -> list[str]:
    try:
        text = vocab.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{vocab}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise DataError(f"{vocab}: cannot be read ({exc})") from None
    lines = text.splitlines()
    if not lines:
        raise DataError(f"{vocab}: empty, no tokens (one token per line)")
    for i, token in enumerate(lines):
        if not token.strip():
            raise DataError(f"{vocab} line {i + 1}: empty token")
    return [line.strip() for line in lines]
