"""Tree-LSTM (Tai, Socher & Manning 2015, "Improved Semantic Representations From
Tree-Structured Long Short-Term Memory Networks"), level by level over a batch of trees.

Node j with input x_j (its token's embedding; 0 for constituency-tree inner nodes) and
children k = 1..K (absent children: h_k = c_k = 0), `variant`:

N-ary ("nary", ordered children, K = ModelContext.max_children; binary on the SST):
    i_j  = σ(W_i x_j + Σ_l U_i^(l) h_l + b_i)        o_j, u_j (tanh) likewise
    f_jk = σ(W_f x_j + Σ_l U_f^(kl) h_l + b_f)        one forget gate per child k
Child-Sum ("childsum", unordered, any number of children):
    h~_j = Σ_k h_k
    i_j  = σ(W_i x_j + U_i h~_j + b_i)                o_j, u_j (tanh) likewise
    f_jk = σ(W_f x_j + U_f h_k + b_f)                 one forget gate per child k
Both:
    c_j = i_j ⊙ u_j + Σ_k f_jk ⊙ c_k        h_j = o_j ⊙ tanh(c_j)

All nodes of one level of all trees go through one cell call (tensors (n, ...)); the
loop runs over the levels (the batch's height + 1), never over nodes. The sentence
vector is the root's h; under phrase supervision every node's h (TreeOutput.nodes).
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import ModelContext
from rnnbench.nn import chain_trees, child_rows, levels, node_inputs, tree_output


class TreeLSTM(nn.Module):
    def __init__(
        self,
        context: ModelContext,
        embedding_dim: int,
        hidden_size: int,
        variant: str,
        dropout: float,
    ):
        super().__init__()
        self.context, self.variant = context, variant
        self.K = context.max_children or 2  # N of the N-ary variant
        H, K = hidden_size, self.K
        self.embedding = nn.Embedding(
            context.vocab_size, embedding_dim, padding_idx=context.padding_idx
        )
        self.input_gates = nn.Linear(embedding_dim, 4 * H)  # W_{i,o,u,f} x + b: (n, 4H)
        if variant == "nary":
            self.child_iou = nn.Linear(K * H, 3 * H, bias=False)  # Σ_l U^(l) h_l
            self.child_f = nn.Linear(K * H, K * H, bias=False)  # Σ_l U_f^(kl) h_l, k = 1..K
        else:
            self.child_iou = nn.Linear(H, 3 * H, bias=False)  # U h~
            self.child_f = nn.Linear(H, H, bias=False)  # U_f h_k, shared over k
        self.dropout = nn.Dropout(dropout)
        self.hidden_size = H
        self.output_size = H

    def cell(self, x: torch.Tensor, h_kids: torch.Tensor, c_kids: torch.Tensor):
        """x (n, E); h_kids, c_kids (n, K, H), zero rows for absent children."""
        n, K, H = h_kids.shape
        wi, wo, wu, wf = self.input_gates(x).chunk(4, dim=-1)  # (n, H) each
        if self.variant == "nary":
            flat = h_kids.reshape(n, K * H)  # [h_1; ...; h_K]
            ui, uo, uu = self.child_iou(flat).chunk(3, dim=-1)  # (n, H) each
            uf = self.child_f(flat).view(n, K, H)  # (n, K, H)
        else:
            ui, uo, uu = self.child_iou(h_kids.sum(1)).chunk(3, dim=-1)  # h~ = Σ_k h_k
            uf = self.child_f(h_kids)  # (n, K, H)
        i, o, u = torch.sigmoid(wi + ui), torch.sigmoid(wo + uo), torch.tanh(wu + uu)
        f = torch.sigmoid(wf.unsqueeze(1) + uf)  # (n, K, H): one forget gate per child
        c = i * u + (f * c_kids).sum(1)  # (n, H); absent children have c_k = 0
        return o * torch.tanh(c), c

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, state=None, tree=None):
        if tree is None:  # a direct call without a tree: a left-branching chain
            tree = chain_trees(lengths, self.K)
        x = self.dropout(node_inputs(self.embedding, inputs, tree))  # (N, E)
        H = self.hidden_size
        table = x.new_zeros(0, 2 * H)  # [h; c] of the levels done: (M, 2H)
        for start, end in levels(tree):
            kids = child_rows(table, tree.children[start:end], self.K)  # (n, K, 2H)
            h, c = self.cell(x[start:end], kids[..., :H], kids[..., H:])  # (n, H) each
            table = torch.cat([table, torch.cat([h, c], dim=-1)])  # (end, 2H)
        return tree_output(self.dropout(table[:, :H]), tree, self.context)  # (B, H) / (N, H)


def build_treelstm(
    context: ModelContext,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    variant: str = "nary",
    dropout: float = 0.0,
) -> TreeLSTM:
    return TreeLSTM(context, embedding_dim, hidden_size, variant, dropout)
