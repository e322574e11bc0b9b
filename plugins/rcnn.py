"""The RCNN plugin (Lai et al. 2015): spec and hyperparameters. The model is in
rnnbench_models.rcnn_model, imported when it is built, so that listing
and describing plugins does not import torch.
"""

from __future__ import annotations

from rnnbench import Choice, FloatRange, ModelContext, ModelSpec, Param, ParamSet, hookimpl

CELL_NAMES = ("rnn", "lstm", "gru")  # the context recurrences (rcnn_model.CELLS)


def build_rcnn(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.rcnn_model.build_rcnn` (torch loads here)."""
    from rnnbench_models.rcnn_model import build_rcnn

    return build_rcnn(task_context, **hparams)


RCNN_SPEC = ModelSpec(
    name="rcnn",
    builder=build_rcnn,
    params=ParamSet(
        (
            Param(
                "embedding_dim",
                int,
                128,
                "word embedding size |e|",
                minimum=1,
                space=Choice((64, 128, 256)),
            ),
            Param(
                "context_size",
                int,
                64,
                "left/right context size |c|",
                minimum=1,
                space=Choice((32, 64, 128)),
            ),
            Param(
                "hidden_size",
                int,
                128,
                "latent semantic vector size H",
                minimum=1,
                space=Choice((64, 128, 256)),
            ),
            Param(
                "dropout",
                float,
                0.3,
                "dropout on embeddings and the pooled vector",
                minimum=0.0,
                maximum=0.95,
                space=FloatRange(0.0, 0.5),
            ),
            Param(
                "cell",
                str,
                "rnn",
                "context recurrence",
                choices=CELL_NAMES,
                space=Choice(CELL_NAMES),
            ),
        )
    ),
    inputs=frozenset({"tokens"}),
    outputs=frozenset({"pooled"}),
    causal=False,
    description="RCNN: bidirectional context + word, tanh projection, max-pool over time",
    reference="Lai, Xu, Liu & Zhao 2015",
    width="context_size",
    embedding="encoder.embedding",
    embedding_dim="embedding_dim",
)


@hookimpl
def register_models(register):
    register(RCNN_SPEC)


#: names of rnnbench_models.rcnn_model also readable here (loaded on first use)
MODEL_NAMES = ("CELLS", "RCNN")


def __getattr__(name: str):
    if name not in MODEL_NAMES:  # pluggy probes plugins for hook names: never load for them
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("rnnbench_models.rcnn_model"), name)
