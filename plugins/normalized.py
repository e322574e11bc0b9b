"""The normalised recurrences' plugin: ln-lstm, ln-gru (Ba, Kiros & Hinton 2016) and bn-lstm
(Cooijmans et al. 2017), their specs and hyperparameters. The equations and nn.Modules are
in rnnbench_models.normalized_model, imported when a model is built, so that listing and
describing plugins does not import torch.
"""

from __future__ import annotations

from rnnbench import ModelContext, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.params import init_params, recurrent_params


def build_ln_lstm(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.normalized_model.build_ln_lstm` (torch loads here)."""
    from rnnbench_models.normalized_model import build_ln_lstm

    return build_ln_lstm(task_context, **hparams)


def build_ln_gru(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.normalized_model.build_ln_gru` (torch loads here)."""
    from rnnbench_models.normalized_model import build_ln_gru

    return build_ln_gru(task_context, **hparams)


def build_bn_lstm(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.normalized_model.build_bn_lstm` (torch loads here)."""
    from rnnbench_models.normalized_model import build_bn_lstm

    return build_bn_lstm(task_context, **hparams)


FORGET_BIAS = Param("forget_bias", float, 1.0, "initial forget-gate bias")

LN_LSTM = ModelSpec(
    name="ln-lstm",
    builder=build_ln_lstm,
    params=ParamSet((*recurrent_params(), FORGET_BIAS, *init_params(refuse_identity=True))),
    causal=True,
    stateful=True,
    hidden_states=True,
    description="layer-normalised LSTM (custom cell)",
    reference="Ba, Kiros & Hinton 2016",
    width="hidden_size",
    embedding="encoder.embedding",
    embedding_dim="embedding_dim",
)
LN_GRU = ModelSpec(
    name="ln-gru",
    builder=build_ln_gru,
    params=ParamSet((*recurrent_params(), *init_params(refuse_identity=True))),
    causal=True,
    stateful=True,
    hidden_states=True,
    description="layer-normalised GRU (custom cell)",
    reference="Ba, Kiros & Hinton 2016",
    width="hidden_size",
    embedding="encoder.embedding",
    embedding_dim="embedding_dim",
)
BN_LSTM = ModelSpec(
    name="bn-lstm",
    builder=build_bn_lstm,
    params=ParamSet((*recurrent_params(), FORGET_BIAS, *init_params(refuse_identity=True))),
    causal=True,
    stateful=False,
    hidden_states=True,
    description="recurrent batch-normalised LSTM, statistics per time step (custom cell)",
    reference="Cooijmans et al. 2017",
    width="hidden_size",
    embedding="encoder.embedding",
    embedding_dim="embedding_dim",
)


@hookimpl
def register_models(register):
    register(LN_LSTM)
    register(LN_GRU)
    register(BN_LSTM)


#: names of rnnbench_models.normalized_model also readable here (loaded on first use)
MODEL_NAMES = ("LayerNormLSTMLayer", "LayerNormGRULayer", "StepBatchNorm", "BatchNormLSTMLayer")


def __getattr__(name: str):
    if name not in MODEL_NAMES:  # pluggy probes plugins for hook names: never load for them
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("rnnbench_models.normalized_model"), name)
