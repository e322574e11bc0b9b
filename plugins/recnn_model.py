"""Recursive neural network (Socher et al. 2011, "Parsing Natural Scenes and Natural
Language with Recursive Neural Networks"; the "RNN" baseline of Socher et al. 2013 on
the Sentiment Treebank): one composition matrix applied over the tree, bottom-up.

For a binary node p with children c_1, c_2 (each (H,)):

    p = f(W [c_1; c_2] + b)                      W: (H, 2H), f = tanh

generalised to K ordered child slots (K = ModelContext.max_children; K = 2 on binary
treebanks), an absent child contributing c_k = 0, and to nodes that read a token x_j
(a leaf's word, ListOps' operator of an inner node; x_j = 0 when none):

    p_j = tanh(W [c_1; ...; c_K] + V x_j + b)    V: (H, E)

so a leaf is p = tanh(V x + b), the word vector in the node space (Socher et al. use
the word vector itself, V = I, b = 0, which ties E to H). Every node of one level of
every tree in the batch is composed by one matrix product; the loop runs over levels.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import ModelContext
from rnnbench.nn import chain_trees, child_rows, levels, node_inputs, tree_output


class RecNN(nn.Module):
    def __init__(self, context: ModelContext, embedding_dim: int, hidden_size: int, dropout: float):
        super().__init__()
        self.context = context
        self.K = context.max_children or 2
        self.embedding = nn.Embedding(
            context.vocab_size, embedding_dim, padding_idx=context.padding_idx
        )
        self.word = nn.Linear(embedding_dim, hidden_size)  # V x + b
        self.compose = nn.Linear(self.K * hidden_size, hidden_size, bias=False)  # W [c_1; ..]
        self.dropout = nn.Dropout(dropout)
        self.output_size = hidden_size

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, state=None, tree=None):
        if tree is None:  # a direct call without a tree: a left-branching chain
            tree = chain_trees(lengths, self.K)
        x = self.word(self.dropout(node_inputs(self.embedding, inputs, tree)))  # (N, H)
        table = x.new_zeros(0, self.output_size)  # p of the levels done: (M, H)
        for start, end in levels(tree):
            kids = child_rows(table, tree.children[start:end], self.K)  # (n, K, H)
            p = torch.tanh(self.compose(kids.flatten(1)) + x[start:end])  # (n, H)
            table = torch.cat([table, p])  # (end, H)
        return tree_output(self.dropout(table), tree, self.context)  # (B, H) / (N, H)


def build_recnn(
    context: ModelContext, embedding_dim: int = 64, hidden_size: int = 128, dropout: float = 0.0
) -> RecNN:
    return RecNN(context, embedding_dim, hidden_size, dropout)
