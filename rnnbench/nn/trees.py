"""Building blocks for tree models (public, beside `rnnbench.nn`).

A tree model reads `tree: rnnbench.TreeBatch` (level-major nodes, see
`rnnbench.contract.trees`) and computes one level of all the batch's trees at a time:

    x = node_inputs(self.embedding, inputs, tree)        # (N, E), 0 for nodes without a token
    table = x.new_zeros(0, H)                            # rows of the levels done so far
    for start, end in levels(tree):                      # <= tree height iterations
        kids = child_rows(table, tree.children[start:end])   # (n, K, H), 0 for absent children
        table = torch.cat([table, cell(x[start:end], kids)])  # (end, H)
    return tree_output(table, tree, context)             # pooled = roots' rows, nodes = all

Children always sit on lower levels, so `table` already holds them.
"""

from __future__ import annotations

import itertools

import torch

from rnnbench.contract.specs import ModelContext
from rnnbench.contract.trees import NODES, TreeBatch, TreeOutput


def levels(tree: TreeBatch) -> list[tuple[int, int]]:
    """(start, end) node ranges of the levels, leaves first."""
    bounds = tree.offsets.tolist()
    return list(itertools.pairwise(bounds))


def node_inputs(
    embedding: torch.nn.Embedding, inputs: torch.Tensor, tree: TreeBatch
) -> torch.Tensor:
    """(N, E) the embedding of each node's token (inputs[tree.tree, tree.token]), zero
    for nodes that read none (token -1)."""
    ids = inputs[tree.tree, tree.token.clamp(min=0)]  # (N,)
    return embedding(ids) * (tree.token >= 0).unsqueeze(-1).to(embedding.weight.dtype)


def child_rows(
    table: torch.Tensor, children: torch.Tensor, width: int | None = None
) -> torch.Tensor:
    """(n, K, H) the rows of `table` (M, H) named by `children` (n, K), zero where a
    child is absent (-1); with `width`, padded with absent children to K = width."""
    if width is not None and children.shape[1] != width:
        if children.shape[1] > width:
            raise ValueError(
                f"a node has {children.shape[1]} child slots, the model was "
                f"built for at most {width} (ModelContext.max_children)"
            )
        children = torch.nn.functional.pad(children, (0, width - children.shape[1]), value=-1)
    if table.shape[0] == 0:  # the leaves' level: nothing below
        return table.new_zeros(*children.shape, table.shape[1])
    rows = table[children.clamp(min=0)]  # (n, K, H)
    return rows * (children >= 0).unsqueeze(-1).to(table.dtype)


def tree_output(nodes: torch.Tensor, tree: TreeBatch, context: ModelContext) -> TreeOutput:
    """pooled (B, H): the roots' rows; nodes (N, H) as well when the task reads them."""
    return TreeOutput(pooled=nodes[tree.root], nodes=nodes if context.output == NODES else None)


def chain_trees(lengths: torch.Tensor, max_children: int = 2) -> TreeBatch:
    """Left-branching binary trees ((x_1 x_2) x_3) ... over each row's first `lengths`
    tokens: what a tree model reads when called without a tree (not on tree tasks,
    whose batches carry theirs)."""
    from rnnbench.data.trees import TreePool, collate_trees

    pool = TreePool.build([_chain(n) for n in lengths.tolist()], max(max_children, 2))
    batch, _ = collate_trees(pool, torch.arange(int(lengths.shape[0])))
    return TreeBatch(*(part.to(lengths.device) for part in batch))


def _chain(n: int):
    """((x_1 x_2) x_3) ... x_n in pre-order: inner nodes I_n (root) .. I_2, then the
    leaves x_1 .. x_n; I_2 = (x_1 x_2), I_k = (I_(k-1) x_k)."""
    from rnnbench.data.trees import ParsedTree

    tree = ParsedTree()
    if n == 1:
        tree.read(tree.add(None), "x")
        return tree
    inner = [tree.add(None)]  # I_n
    for _ in range(n - 2):
        inner.append(tree.add(inner[-1]))  # I_(n-1) .. I_2
    tree.read(tree.add(inner[-1]), "x")  # x_1 under I_2
    for node in reversed(inner):
        tree.read(tree.add(node), "x")  # x_k under I_k
    return tree
