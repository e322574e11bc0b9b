"""The Tree-LSTM plugin (Tai, Socher & Manning 2015): spec and hyperparameters. The model
is in rnnbench_models.treelstm_model, imported when it is built, so that listing
and describing plugins does not import torch.
"""

from __future__ import annotations

from rnnbench import Choice, FloatRange, ModelContext, ModelSpec, Param, ParamSet, hookimpl

VARIANTS = ("nary", "childsum")


def build_treelstm(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.treelstm_model.build_treelstm` (torch loads here)."""
    from rnnbench_models.treelstm_model import build_treelstm

    return build_treelstm(task_context, **hparams)


TREELSTM = ModelSpec(
    name="treelstm",
    builder=build_treelstm,
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
                "memory cell size",
                minimum=1,
                space=Choice((32, 64, 128, 256)),
            ),
            Param(
                "variant",
                str,
                "nary",
                "nary: N-ary Tree-LSTM (ordered children, N = the "
                "task's most children); childsum: Child-Sum Tree-LSTM",
                choices=VARIANTS,
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
    description="Tree-LSTM over the task's trees (N-ary or Child-Sum), level-batched",
    reference="Tai, Socher & Manning 2015",
    width="hidden_size",
)


@hookimpl
def register_models(register):
    register(TREELSTM)


#: names of rnnbench_models.treelstm_model also readable here (loaded on first use)
MODEL_NAMES = ("TreeLSTM",)


def __getattr__(name: str):
    if name not in MODEL_NAMES:  # pluggy probes plugins for hook names: never load for them
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("rnnbench_models.treelstm_model"), name)
