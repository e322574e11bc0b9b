"""A cache of prepared task data: the finished tensors, vocabulary and label map that a
task's `prepare()` builds, stored beside the `datasets` cache.

`datasets` caches tokenisation and encoding, but a warm load still pays for importing
`datasets`, fingerprinting the map functions (their arguments include the whole
vocabulary), counting the vocabulary and building padded tensors. A task that keys
its finished data by what it was made from skips all of that:

    cache = PreparedCache("text-classification")
    key = cache.key(sources=file_digests(files), options=options, code=[__file__])
    payload = cache.fetch(key, build)    # build() runs on a miss (or an unreadable entry)

Contract: the key must cover everything the payload depends on (source contents,
every option that changes the result, and the source files of the code that builds
it); a payload is torch-serialisable with `weights_only=True` (tensors, containers of
str/int/float/bool/None). Entries are written atomically, so concurrent workers never
read half a file; an entry that cannot be read is reported and rebuilt; a cache folder
that cannot be written only costs the speed-up.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import reason

#: Bump when the layout of stored entries changes.
FORMAT_VERSION = 1


def _warn(message: str) -> None:
    print(f"rnnbench: warning: {message}", file=sys.stderr)


def datasets_cache_dir() -> Path:
    """The `datasets` cache folder, by the library's own rules: HF_DATASETS_CACHE, else
    HF_HOME/datasets, else $XDG_CACHE_HOME/huggingface/datasets, else
    ~/.cache/huggingface/datasets (read now, without importing `datasets`)."""
    if os.environ.get("HF_DATASETS_CACHE"):
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "~/.cache")
    home = os.environ.get("HF_HOME", os.path.join(xdg, "huggingface"))
    return Path(home).expanduser() / "datasets"


def file_digests(files: Mapping[str, Path]) -> dict[str, str]:
    """Split name -> BLAKE2b digest of the file's bytes (content, not path or mtime)."""
    digests = {}
    for split, path in sorted(files.items()):
        h = hashlib.blake2b(digest_size=20)
        with Path(path).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digests[split] = h.hexdigest()
    return digests


def datasets_version() -> str:
    """The installed `datasets` version (its parsers and split functions shape the
    data), read from the package metadata without importing it."""
    from importlib.metadata import version

    return version("datasets")


class PreparedCache:
    """Entries of one task kind under `<datasets cache>/rnnbench/<namespace>/<key>.pt`."""

    def __init__(self, namespace: str, root: Path | None = None) -> None:
        self.folder = (root or datasets_cache_dir()) / "rnnbench" / namespace

    def key(self, sources: Any, options: Mapping[str, Any], code: Iterable[str | Path]) -> str:
        """Hex digest of the sources' fingerprints, the options (JSON, sorted keys) and
        the bytes of the code files that build the payload."""
        h = hashlib.blake2b(digest_size=20)
        h.update(f"rnnbench-prepared-v{FORMAT_VERSION}\0".encode())
        h.update(json.dumps(sources, sort_keys=True, default=str).encode())
        h.update(b"\0" + json.dumps(dict(options), sort_keys=True, default=str).encode())
        for path in code:
            h.update(b"\0" + Path(path).read_bytes())
        return h.hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.pt"

    def load(self, key: str) -> dict | None:
        import torch

        path = self.path(key)
        if not path.exists():
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated or foreign file: rebuild it
            _warn(f"ignoring unreadable prepared-data cache entry {path} ({reason(exc)})")
            return None

    def fetch(self, key: str, build: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
        """The entry for `key`; on a miss, `build()`'s result, saved for next time."""
        payload = self.load(key)
        if payload is None:
            built = build()
            self.save(key, built)
            return built
        return payload

    def save(self, key: str, payload: Mapping[str, Any]) -> Path | None:
        """Write atomically (temporary file, then rename); None when the folder is not
        writable, which is not an error."""
        import torch

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # a unique name, created with the user's umask (mkstemp would make it 0600)
            tmp = self.folder / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex}.pt"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as exc:
            _warn(f"not caching prepared data in {self.folder} ({exc})")
            return None
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(dict(payload), fh)
            os.replace(tmp, self.path(key))
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                _warn(f"not caching prepared data in {self.folder} ({exc})")
                return None
            raise
        return self.path(key)
