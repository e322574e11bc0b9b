"""The input embedding and the softmax layer, as language-model recipes treat them.

Tied input and output embeddings (Press & Wolf 2017; Inan, Khosravi & Socher 2017):
the task's softmax layer (V, D) shares its weight with the model's input embedding
(V, E), so the model learns one matrix of word vectors.

train.tie_embeddings needs D == E (e.g. awd-lstm's last_layer_embedding, or
model.hidden_size = model.embedding_dim); train.tie_projection inserts a linear map
D -> E before the softmax when they differ (Inan et al.'s projection).

train.init_range = r > 0 draws the input embedding and every nn.Linear weight of the
task's head from U(-r, r) and zeroes the head's biases, as Zaremba et al. 2014, PyTorch's
word-language-model example (`init_weights`, r = 0.1) and AWD-LSTM (r = 0.1) do; 0 keeps
torch's defaults (nn.Embedding's N(0, 1): ten times the scale of U(-0.1, 0.1)).
"""

from __future__ import annotations

from typing import Any

from rnnbench.contract.errors import ConfigError
from rnnbench.contract.params import Param
from rnnbench.training.embeddings import find_embedding

OPTIONS = (
    Param(
        "tie_embeddings",
        bool,
        False,
        "share the softmax weight with the input embedding (tokens in and out; needs "
        "the model's output size = its embedding size, or tie_projection)",
    ),
    Param(
        "tie_projection",
        bool,
        False,
        "tie_embeddings: a linear map from the model's output size to the embedding size "
        "before the softmax",
    ),
    Param(
        "init_range",
        float,
        0.0,
        "draw the input embedding and the head's weights from U(-r, r), head biases 0 "
        "(Zaremba et al. 2014; PyTorch's word-LM example and AWD-LSTM: 0.1); 0: torch's "
        "defaults",
        minimum=0.0,
    ),
)


def tied_head(model: Any, model_spec: Any, task: Any, projection: bool) -> Any:
    """The task's head with its weight tied to the model's input embedding; the head
    module (an nn.Linear, or nn.Sequential(projection, that nn.Linear)). ConfigError
    when the task has no vocabulary softmax or the sizes differ without a projection."""
    from torch import nn

    context = task.context()
    if context.input_kind != "tokens" or not context.vocab_size:
        raise ConfigError(f"train.tie_embeddings: task {type(task).__name__} does not read tokens")
    embedding = find_embedding(model, model_spec, context.vocab_size)  # (V, E)
    size, dim = model.output_size, embedding.embedding_dim
    if size != dim and not projection:
        raise ConfigError(
            f"train.tie_embeddings: model {model_spec.name!r} outputs {size} features but "
            f"its embedding has {dim}; make them equal or set train.tie_projection=true"
        )
    head = task.head(dim)
    if not isinstance(head, nn.Linear) or head.weight.shape != embedding.weight.shape:
        raise ConfigError(
            "train.tie_embeddings: the task's head is not a softmax over the "
            f"{context.vocab_size:,}-token input vocabulary"
        )
    head.weight = embedding.weight  # one Parameter, one storage
    return nn.Sequential(nn.Linear(size, dim), head) if size != dim else head


def init_uniform(
    model: Any, model_spec: Any, head: Any, context: Any, init_range: float, draw_embedding: bool
) -> None:
    """train.init_range: U(-r, r) for every nn.Linear weight of `head`, biases 0, and,
    when `draw_embedding` and the task reads tokens, for the input embedding (its padding row
    stays 0). Draws from torch's global generator, so a seeded run draws the same values."""
    import torch
    from torch import nn

    with torch.no_grad():
        if draw_embedding and context.input_kind == "tokens" and context.vocab_size:
            embedding = find_embedding(model, model_spec, context.vocab_size)  # (V, E)
            embedding.weight.uniform_(-init_range, init_range)
            if embedding.padding_idx is not None:
                embedding.weight[embedding.padding_idx].zero_()
        for layer in head.modules():
            if isinstance(layer, nn.Linear):
                layer.weight.uniform_(-init_range, init_range)
                if layer.bias is not None:
                    layer.bias.zero_()
