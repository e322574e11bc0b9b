"""rnnbench: a plugin-based benchmark harness for recurrent neural networks.

The public plugin API lives here (specs, typed parameters, `hookimpl`, errors);
importing it does not import torch. Plugin authors also use `rnnbench.nn` (model
building blocks), `rnnbench.taskkit` (task building blocks: data modules, seeded
splits, objectives, file loading, caching) and `rnnbench.testing` (contract checks).
What is public, and what happens to a name that moves, is stated in `rnnbench._api`.
"""

from importlib.metadata import PackageNotFoundError, version

from rnnbench._api import install_moved_modules
from rnnbench.contract.errors import ConfigError, DataError, IncompatibleError, RnnbenchError
from rnnbench.contract.extension_specs import DiagnosticSpec, PrunerSpec, SamplerSpec
from rnnbench.contract.generation import TokenCodec
from rnnbench.contract.hookspecs import hookimpl
from rnnbench.contract.params import Choice, FloatRange, IntRange, Param, ParamSet
from rnnbench.contract.specs import (
    ModelContext,
    ModelOutput,
    ModelSpec,
    Task,
    TaskSpec,
    compatibility,
)
from rnnbench.contract.trees import TreeBatch, TreeOutput

try:
    __version__ = version("rnnbench")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

install_moved_modules()  # old import paths (rnnbench.objectives, ...) warn and still work

__all__ = [
    "Choice",
    "ConfigError",
    "DataError",
    "DiagnosticSpec",
    "FloatRange",
    "IncompatibleError",
    "IntRange",
    "ModelContext",
    "ModelOutput",
    "ModelSpec",
    "Param",
    "ParamSet",
    "PrunerSpec",
    "RnnbenchError",
    "SamplerSpec",
    "Task",
    "TaskSpec",
    "TokenCodec",
    "TreeBatch",
    "TreeOutput",
    "__version__",
    "compatibility",
    "hookimpl",
]
