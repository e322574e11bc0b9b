"""Typed parameters, at the import path plugin authors use (the module itself is
rnnbench.contract.params), and the hyperparameters the recurrent families share.

Nothing here imports torch: a plugin module that builds its spec from these (and imports
its nn.Modules inside the builder) can be listed and described without torch.
"""

from rnnbench.contract.params import Choice, FloatRange, IntRange, Param, ParamSet, Space, suggest
from rnnbench.nn.init import init_params

__all__ = [
    "Choice",
    "FloatRange",
    "IntRange",
    "Param",
    "ParamSet",
    "Space",
    "init_params",
    "recurrent_params",
    "suggest",
]


def recurrent_params(hidden_default: int = 128):
    """The hyperparameters every fused recurrent model shares (with search spaces)."""
    return (
        Param(
            "embedding_dim",
            int,
            64,
            "token embedding size (token inputs only)",
            minimum=1,
            space=Choice((32, 64, 128)),
        ),
        Param(
            "hidden_size",
            int,
            hidden_default,
            "hidden units per direction",
            minimum=1,
            space=Choice((32, 64, 128, 256)),
        ),
        Param("num_layers", int, 1, "stacked recurrent layers", minimum=1, space=Choice((1, 2))),
        Param(
            "dropout",
            float,
            0.0,
            "dropout on inputs, between layers and on the output the task reads",
            minimum=0.0,
            maximum=0.95,
            space=FloatRange(0.0, 0.5),
        ),
    )
