"""AWD-LSTM (Merity, Keskar & Socher 2017, "Regularizing and Optimizing LSTM Language
Models"): a stack of single-layer fused recurrences with every regulariser of the paper.

    words (B, T) --embedding dropout (whole words, p = dropout_embedding)--> (B, T, E)
      --locked dropout (dropout_input)--> layer 1 (W_hh weight-dropped, weight_drop)
      --locked dropout (dropout_hidden)--> layer 2 ... --> layer L
      --locked dropout (dropout)--> sequence (B, T, D), D = E when last_layer_embedding
                                     (the tied configuration of the paper), else H

Locked dropout is variational dropout (Gal & Ghahramani 2016): one mask per sequence
and layer, the same at every step. Weight drop re-samples a DropConnect mask on each
layer's raw W_hh per batch and keeps the fused kernel. AR/TAR (paper section 4.6):
while training, `penalty` = ar * mean(dropped top output ** 2) + tar * mean(change of
the raw top output between steps ** 2), which the harness adds to the task loss
(rnnbench.training.system). Tie the embedding and the softmax with train.tie_embeddings
(Press & Wolf 2017; Inan et al. 2017); NT-ASGD is train.optimizer=asgd.

The paper's PTB model (the defaults below): embedding 400, 3 layers of 1150 (the last
400), dropouts 0.4 output / 0.3 between layers / 0.65 input / 0.1 embedding, weight
drop 0.5, AR 2, TAR 1, tied, NT-ASGD at lr 30, bptt 70, batch 80, clip 0.25.
`cell` swaps the LSTM for the fused GRU or tanh RNN with the same regularisers.
"""

from __future__ import annotations

from rnnbench import Choice, FloatRange, ModelContext, ModelSpec, Param, ParamSet, hookimpl

CELL_NAMES = ("lstm", "gru", "rnn")  # rnnbench_models.awd_lstm_model.CELLS


def build_awd_lstm(task_context: ModelContext, /, **hparams):
    """`rnnbench_models.awd_lstm_model.build_awd_lstm` (torch loads here)."""
    from rnnbench_models.awd_lstm_model import build_awd_lstm

    return build_awd_lstm(task_context, **hparams)


def _rate(name: str, default: float, help: str) -> Param:
    return Param(name, float, default, help, minimum=0.0, maximum=0.95, space=FloatRange(0.0, 0.7))


AWD_LSTM = ModelSpec(
    name="awd-lstm",
    builder=build_awd_lstm,
    params=ParamSet(
        (
            Param(
                "embedding_dim",
                int,
                400,
                "token embedding size",
                minimum=1,
                space=Choice((200, 400)),
            ),
            Param(
                "hidden_size",
                int,
                1150,
                "hidden units of every layer but the last when last_layer_embedding",
                minimum=1,
                space=Choice((256, 512, 1150)),
            ),
            Param("num_layers", int, 3, "stacked single-layer recurrences", minimum=1),
            _rate("dropout", 0.4, "locked dropout on the top layer's output"),
            _rate("dropout_hidden", 0.3, "locked dropout between layers"),
            _rate("dropout_input", 0.65, "locked dropout on the embeddings"),
            _rate("dropout_embedding", 0.1, "embedding dropout: whole words"),
            _rate("weight_drop", 0.5, "DropConnect on each layer's W_hh, per batch"),
            Param(
                "ar",
                float,
                2.0,
                "activation regularisation: ar * mean(h_t^2) of the dropped top output",
                minimum=0.0,
            ),
            Param(
                "tar",
                float,
                1.0,
                "temporal AR: tar * mean((h_t - h_{t-1})^2) of the raw top output",
                minimum=0.0,
            ),
            Param(
                "last_layer_embedding",
                bool,
                True,
                "the last layer has embedding_dim units "
                "(the paper's configuration for tied weights)",
            ),
            Param("cell", str, "lstm", "the fused recurrence of every layer", choices=CELL_NAMES),
        )
    ),
    inputs=frozenset({"tokens"}),
    causal=True,
    stateful=True,
    description="AWD-LSTM: locked, embedding and weight-dropped (W_hh) dropout, AR/TAR",
    reference="Merity, Keskar & Socher 2017; Gal & Ghahramani 2016; Wan et al. 2013",
    width="hidden_size",
    embedding="embedding",
    embedding_dim="embedding_dim",
)


@hookimpl
def register_models(register):
    register(AWD_LSTM)
