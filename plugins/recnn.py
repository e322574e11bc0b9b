"""The recursive neural network plugin (Socher et al. 2011): spec and hyperparameters.
The model is in rnnbench_models.recnn_model, imported when it is built, so that listing
and describing plugins does not import torch.
"""

from __future__ import annotations

from rnnbench import Choice, FloatRange, ModelContext, ModelSpec, Param, ParamSet, hookimpl


def build_recnn(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.recnn_model.build_recnn` (torch loads here)."""
    from rnnbench_models.recnn_model import build_recnn

    return build_recnn(task_context, **hparams)


RECNN = ModelSpec(
    name="recnn",
    builder=build_recnn,
    params=ParamSet(
        (
            Param(
                "embedding_dim",
                int,
                64,
                "token embedding size",
                minimum=1,
                space=Choice((32, 64, 128)),
            ),
            Param(
                "hidden_size",
                int,
                128,
                "node vector size",
                minimum=1,
                space=Choice((32, 64, 128, 256)),
            ),
            Param(
                "dropout",
                float,
                0.0,
                "dropout on node inputs and on the output features",
                minimum=0.0,
                maximum=0.95,
                space=FloatRange(0.0, 0.5),
            ),
        )
    ),
    inputs=frozenset({"tokens"}),
    outputs=frozenset({"pooled", "nodes"}),
    causal=False,
    needs=frozenset({"tree"}),
    description="recursive neural network p = tanh(W[c1; c2] + b) over the task's trees",
    reference="Socher et al. 2011; Socher et al. 2013",
    width="hidden_size",
)


@hookimpl
def register_models(register):
    register(RECNN)


#: names of rnnbench_models.recnn_model also readable here (loaded on first use)
MODEL_NAMES = ("RecNN",)


def __getattr__(name: str):
    if name not in MODEL_NAMES:  # pluggy probes plugins for hook names: never load for them
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("rnnbench_models.recnn_model"), name)
