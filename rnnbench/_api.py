"""What is public in rnnbench, stated once; the docs, the API snapshot and the checks
read it from here.

The convention
  The public API is exactly the names listed in `__all__` of the modules in
  PUBLIC_MODULES. Each `__all__` is the one list of its module's names: lazy loading,
  `dir()`, the API reference (docs/guide/api.md) and the snapshot
  (tests/api_snapshot.json) are derived from it. Every other module and name is
  internal, with or without a leading underscore, and may change in any release.
  A public name changes only with a CHANGELOG.md entry and a regenerated snapshot:

      python -m rnnbench._api_snapshot --write   # tests/api_snapshot.json and docs/guide/api.md

Moved names
  A name that was public (or documented) in an earlier release and has moved keeps
  working at its old path for at least two minor releases, with a DeprecationWarning
  naming its new path. MOVED is the table of them: old module -> (new module,
  {old name: new name}). Old modules that no longer exist are served by a finder
  installed when `rnnbench` is imported; old modules that still exist (rnnbench.data)
  call `moved_getattr` from their module `__getattr__`.

Importing this module imports only the standard library.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

#: the public modules; their `__all__` lists are the public API
PUBLIC_MODULES = (
    "rnnbench",
    "rnnbench.nn",
    "rnnbench.params",
    "rnnbench.taskkit",
    "rnnbench.testing",
)

DEPRECATED_SINCE = "0.2"
REMOVED_IN = "0.4"  # two minor releases after the deprecation, at the earliest


def _same(*names: str) -> dict[str, str]:
    return {name: name for name in names}


#: old module -> (new public module, {old name: new name}): the 0.1 paths that moved
MOVED: dict[str, tuple[str, dict[str, str]]] = {
    "rnnbench.data": (
        "rnnbench.taskkit",
        _same("TensorBatches", "StreamWindows", "BucketBatchSampler", "InMemoryDataModule"),
    ),
    "rnnbench.objectives": (
        "rnnbench.taskkit",
        _same(
            "ObjectiveTask",
            "Classification",
            "Regression",
            "StepClassification",
            "StepRegression",
            "IGNORE_INDEX",
        ),
    ),
    "rnnbench.seq2seq_kit": (
        "rnnbench.taskkit",
        {
            **_same(
                "ExactMatch",
                "TextMetric",
                "TokenAccuracy",
                "TokenSequences",
                "decode_options",
                "pad_sequences",
                "sequence_scores",
            ),
            "loss_weight": "seq2seq_loss_weight",
        },
    ),
    "rnnbench.prepared_cache": (
        "rnnbench.taskkit",
        _same("PreparedCache", "file_digests", "datasets_version"),
    ),
    "rnnbench.datafiles": (
        "rnnbench.taskkit",
        _same("check_file", "column", "load_hub", "load_local", "local_files", "resolve_local"),
    ),
    "rnnbench.text": (
        "rnnbench.taskkit",
        _same("EOS", "Vocabulary", "detect_level", "encode_batch", "tokenize_batch"),
    ),
    "rnnbench.specs": (
        "rnnbench",
        _same("ModelContext", "ModelOutput", "ModelSpec", "Task", "TaskSpec", "compatibility"),
    ),
    "rnnbench.errors": (
        "rnnbench",
        _same("ConfigError", "DataError", "IncompatibleError", "RnnbenchError"),
    ),
    "rnnbench.hookspecs": ("rnnbench", _same("hookimpl")),
    "rnnbench.nn_init": (
        "rnnbench.nn",
        _same(
            "IDENTITY_IS_FOR_ELMAN",
            "INITS",
            "PositiveParam",
            "RefusingParam",
            "init_fused_",
            "init_params",
            "init_recurrent_",
        ),
    ),
    # the README's Python API section documented the horizon study at the top level
    "rnnbench.horizon": (
        "rnnbench.sweep.horizon",
        _same(
            "HorizonStudy", "HorizonPoint", "run_horizon", "check_task", "summary", "largest_solved"
        ),
    ),
    "rnnbench.nn_trees": (
        "rnnbench.nn",
        _same("chain_trees", "child_rows", "levels", "node_inputs", "tree_output"),
    ),
}


def moved_getattr(module: str) -> Callable[[str], Any]:
    """A module `__getattr__` serving MOVED[module]'s names from their new home, each
    access with a DeprecationWarning that names the new path."""
    new_module, names = MOVED[module]

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new = f"{new_module}.{names[name]}"
        # `from package import name` first probes with hasattr (importlib's
        # _handle_fromlist), then reads the name: warn once, on the read
        if sys._getframe(1).f_code.co_name != "_handle_fromlist":
            warnings.warn(
                f"{module}.{name} is deprecated since rnnbench {DEPRECATED_SINCE} and "
                f"will be removed in {REMOVED_IN}: use {new} "
                f"(from {new_module} import {names[name]})",
                DeprecationWarning,
                stacklevel=2,
            )
        return getattr(importlib.import_module(new_module), names[name])

    return __getattr__


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the old modules of MOVED that no longer exist as files (asked last,
    after the normal finders, so a real module always wins)."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        new_module, _ = MOVED[module.__name__]
        module.__doc__ = (
            f"Deprecated since rnnbench {DEPRECATED_SINCE}: its names moved to {new_module}."
        )
        module.__getattr__ = moved_getattr(module.__name__)  # type: ignore[method-assign]


def install_moved_modules() -> None:
    if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
        sys.meta_path.append(_MovedModules())


@cache
def _defined_names(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """The top-level names a module's source (defines, imports), read without importing
    the module (so that a light name never loads a heavy neighbour)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"no module {module}")
    found: set[str] = set()
    imported: set[str] = set()
    for node in ast.parse(Path(spec.origin).read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                elts = target.elts if isinstance(target, ast.Tuple) else [target]
                found.update(t.id for t in elts if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imported.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(found), frozenset(imported)


def lazy_names(
    module: str, public: Iterable[str], sources: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for a public module whose names in `public` (its
    `__all__`) are loaded on first use from the first of `sources` that defines them
    (else the first that imports them).
    Looked up on every access (nothing cached here), so the module always hands out
    what the home module holds now."""
    public, sources = frozenset(public), tuple(sources)

    def __getattr__(name: str) -> Any:
        if name in public:
            for kind in (0, 1):  # a definition first, else a re-export
                for source in sources:
                    if name in _defined_names(source)[kind]:
                        return getattr(importlib.import_module(source), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(public)

    return __getattr__, __dir__
