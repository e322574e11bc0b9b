"""The TextRNN plugin (Liu, Qiu & Huang 2016): spec and hyperparameters. The model is in
rnnbench_models.textrnn_model, imported when it is built, so that listing
and describing plugins does not import torch.
"""

from __future__ import annotations

from rnnbench import Choice, FloatRange, ModelContext, ModelSpec, Param, ParamSet, hookimpl


def build_textrnn(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.textrnn_model.build_textrnn` (torch loads here)."""
    from rnnbench_models.textrnn_model import build_textrnn

    return build_textrnn(task_context, **hparams)


TEXTRNN = ModelSpec(
    name="textrnn",
    builder=build_textrnn,
    params=ParamSet(
        (
            Param(
                "embedding_dim",
                int,
                128,
                "word embedding size",
                minimum=1,
                space=Choice((64, 128, 256)),
            ),
            Param(
                "hidden_size",
                int,
                128,
                "LSTM units per direction",
                minimum=1,
                space=Choice((64, 128, 256)),
            ),
            Param("num_layers", int, 1, "stacked BiLSTM layers", minimum=1, space=Choice((1, 2))),
            Param(
                "dropout",
                float,
                0.3,
                "dropout on embeddings and the sentence vector",
                minimum=0.0,
                maximum=0.95,
                space=FloatRange(0.0, 0.5),
            ),
        )
    ),
    inputs=frozenset({"tokens"}),
    outputs=frozenset({"pooled"}),
    causal=False,
    description="TextRNN: BiLSTM final states at the true length, concatenated",
    reference="Liu, Qiu & Huang 2016",
    width="hidden_size",
    embedding="encoder.embedding",
    embedding_dim="embedding_dim",
)


@hookimpl
def register_models(register):
    register(TEXTRNN)


#: names of rnnbench_models.textrnn_model also readable here (loaded on first use)
MODEL_NAMES = ("TextRNN",)


def __getattr__(name: str):
    if name not in MODEL_NAMES:  # pluggy probes plugins for hook names: never load for them
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("rnnbench_models.textrnn_model"), name)
