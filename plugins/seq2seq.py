"""The RNN encoder-decoder plugin (Sutskever et al. 2014, Cho et al. 2014; attention of
Bahdanau et al. 2015 or Luong et al. 2015): specs and hyperparameters. The model is in
rnnbench_models.seq2seq_model, imported when it is built, so that listing
and describing plugins does not import torch.
"""

from __future__ import annotations

from rnnbench import Choice, ModelContext, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.params import recurrent_params

CELL_NAMES = ("rnn", "lstm", "gru")  # the encoder/decoder cells (seq2seq_model.CELLS)


def build_seq2seq(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.seq2seq_model.build_seq2seq` (torch loads here)."""
    from rnnbench_models.seq2seq_model import build_seq2seq

    return build_seq2seq(task_context, **hparams)


def _params(attention: str, attention_space: tuple | None) -> ParamSet:
    """attention_space None: attention is fixed (the plain model never searches into
    attention, so a leaderboard row `seq2seq` is always the model without it)."""
    return ParamSet(
        (
            *recurrent_params(),
            Param(
                "cell",
                str,
                "gru",
                "recurrent cell of encoder and decoder",
                choices=CELL_NAMES,
                space=Choice(CELL_NAMES),
            ),
            Param(
                "bidirectional",
                bool,
                False,
                "bidirectional encoder (memory He = 2H)",
                space=Choice((False, True)),
            ),
            Param(
                "context",
                str,
                "init",
                "how c reaches the decoder: init (s_0 = tanh(W c)) "
                "or input (concatenated to every decoder input)",
                choices=("init", "input"),
                space=Choice(("init", "input")),
            ),
            Param(
                "attention",
                str,
                attention,
                "none, bahdanau (additive) or luong (general)",
                choices=("none", "bahdanau", "luong"),
                space=Choice(attention_space) if attention_space else None,
            ),
        )
    )


COMMON = dict(
    builder=build_seq2seq,
    inputs=frozenset({"tokens", "features"}),
    outputs=frozenset({"seq2seq"}),
    causal=True,
    width="hidden_size",
    reference="Sutskever et al. 2014; Cho et al. 2014; Bahdanau et al. 2015; Luong et al. 2015",
)
SEQ2SEQ = ModelSpec(
    name="seq2seq",
    params=_params("none", None),
    description="RNN encoder-decoder (context as s_0 or as input; "
    "no attention; the option exists for --set)",
    **COMMON,
)
SEQ2SEQ_ATTN = ModelSpec(
    name="seq2seq-attn",
    params=_params("bahdanau", ("bahdanau", "luong")),
    description="RNN encoder-decoder with attention (Bahdanau by default, or Luong)",
    **COMMON,
)


@hookimpl
def register_models(register):
    register(SEQ2SEQ)
    register(SEQ2SEQ_ATTN)


#: names of rnnbench_models.seq2seq_model also readable here (loaded on first use)
MODEL_NAMES = ("CELLS", "Attention", "EncoderDecoder")


def __getattr__(name: str):
    if name not in MODEL_NAMES:  # pluggy probes plugins for hook names: never load for them
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("rnnbench_models.seq2seq_model"), name)
