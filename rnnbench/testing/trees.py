"""check_tree_model_spec: a tree model (ModelSpec.needs = {"tree"}) on small random
trees: shapes, packing invariance, padding, a single-leaf tree, gradients."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, cast

from rnnbench.contract.specs import ModelContext, ModelSpec, OutputKind
from rnnbench.contract.trees import NODES
from rnnbench.testing.inputs import ContractError

VOCAB = 13
MAX_CHILDREN = 3


def random_trees(
    n: int,
    seed: int,
    max_children: int = MAX_CHILDREN,
    inner_tokens: bool = False,
    max_leaves: int = 7,
) -> list:
    """`n` random ParsedTrees (tree 0 a single leaf), nodes of 1..max_children children
    (2 when max_children is 2); with `inner_tokens`, inner nodes read a token too
    (placed before their children's, as ListOps' operators)."""
    from rnnbench.data.trees import ParsedTree

    rng = random.Random(seed)

    def grow(tree, parent, leaves):
        node = tree.add(parent)
        if leaves == 1:
            tree.read(node, "w")
            return
        if inner_tokens:
            tree.read(node, "op")
        k = min(leaves, rng.randint(2, max_children))
        cuts = sorted(rng.sample(range(1, leaves), k - 1))
        for a, b in zip([0, *cuts], [*cuts, leaves], strict=True):
            grow(tree, node, b - a)

    trees = []
    for i in range(n):
        tree = ParsedTree()
        grow(tree, None, 1 if i == 0 else rng.randint(2, max_leaves))
        trees.append(tree)
    return trees


def tree_batches(trees: list, seed: int, max_children: int | None = None):
    """A TreeBatches over `trees`, tokens drawn from 1..VOCAB-1."""
    import torch

    from rnnbench.data.trees import TreeBatches, TreePool

    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([len(t.words) for t in trees])
    inputs = torch.randint(1, VOCAB, (len(trees), int(lengths.max())), generator=g)
    inputs *= torch.arange(inputs.shape[1])[None, :] < lengths[:, None]  # 0 = padding
    return TreeBatches(
        TreePool.build(trees, max_children),
        inputs=inputs,
        lengths=lengths,
        target=torch.zeros(len(trees), dtype=torch.long),
    )


def _run(model, batch, context):
    out = model(batch["inputs"], batch["lengths"], tree=batch["tree"])
    nodes = getattr(out, NODES, None) if context.output == NODES else None
    return out.pooled, nodes


def _by_tree(nodes, tree, b):
    """Tree b's node rows in its own pre-order (comparable across batches)."""
    import torch

    mine = torch.nonzero(tree.tree == b).squeeze(1)
    return nodes[mine[torch.argsort(tree.index[mine])]]


def check_tree_model_spec(
    spec: ModelSpec, hparams: Mapping[str, Any] | None = None, atol: float = 1e-5
) -> None:
    """Build the tree model for its outputs ("pooled", "nodes") on trees of up to 3
    children (inner nodes with and without tokens) and check:

    - pooled (B, D) and, when the context asks for "nodes", nodes (N, D), finite;
    - packing: each tree alone, in a batch with others, and in the reversed batch gives
      the same pooled vector and the same node vectors;
    - padding: junk tokens beyond `lengths` and extra absent-child slots (a pool built
      for more children) change nothing;
    - a single-leaf tree (root = leaf) works alone and beside others;
    - gradients reach every trainable parameter.
    """
    import torch

    values = spec.params.resolve(dict(hparams or {}), "model", source="check_tree_model_spec")
    for output in sorted(spec.outputs & {"pooled", NODES}):
        for inner_tokens in (False, True):
            context = ModelContext(
                "tokens",
                cast(OutputKind, output),
                vocab_size=VOCAB,
                padding_idx=0,
                max_children=MAX_CHILDREN + 1,
            )
            where = (
                f"model {spec.name!r} (trees -> {output}, inner nodes "
                f"{'with' if inner_tokens else 'without'} tokens)"
            )
            torch.manual_seed(0)
            model = spec.builder(context, **values)
            if not isinstance(getattr(model, "output_size", None), int):
                raise ContractError(f"{where}: model has no int attribute output_size")
            model.eval()
            data = tree_batches(random_trees(6, seed=7, inner_tokens=inner_tokens), seed=8)
            _check_shapes_and_gradients(model, context, data, where)
            with torch.no_grad():
                _check_packing(model, context, data, where, atol)
                _check_padding(model, context, data, where, atol)


def _check_shapes_and_gradients(model, context, data, where) -> None:
    import torch

    batch = data.__getitems__(list(range(len(data))))
    pooled, nodes = _run(model, batch, context)
    B, N, D = len(data), batch["tree"].num_nodes, model.output_size
    if pooled is None or tuple(pooled.shape) != (B, D):
        raise ContractError(
            f"{where}: pooled output {getattr(pooled, 'shape', None)}, expected {(B, D)}"
        )
    if context.output == NODES and (nodes is None or tuple(nodes.shape) != (N, D)):
        raise ContractError(
            f"{where}: nodes output {getattr(nodes, 'shape', None)}, expected "
            f"(N, D) = {(N, D)} (a TreeOutput with one row per node)"
        )
    value = pooled if nodes is None else nodes
    if not torch.isfinite(value).all():
        raise ContractError(f"{where}: output is not finite")
    if nodes is not None and not torch.allclose(nodes[batch["tree"].root], pooled, atol=1e-6):
        raise ContractError(f"{where}: pooled must be the roots' rows of nodes")
    model.zero_grad()
    value.pow(2).sum().backward()
    missing = [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))
    ]
    if missing:
        raise ContractError(f"{where}: no gradient reaches {', '.join(missing)}")


def _check_packing(model, context, data, where, atol) -> None:
    order = list(range(len(data)))
    together = data.__getitems__(order)
    reverse = data.__getitems__(order[::-1])
    pooled, nodes = _run(model, together, context)
    pooled_r, nodes_r = _run(model, reverse, context)
    for b in order:
        alone_batch = data.__getitems__([b])
        alone, alone_nodes = _run(model, alone_batch, context)
        r = len(order) - 1 - b
        kind = "a single-leaf tree" if b == 0 else f"tree {b}"
        for got, name in ((pooled[b], "in a batch"), (pooled_r[r], "in the reversed batch")):
            if not got.allclose(alone[0], atol=atol):
                raise ContractError(
                    f"{where}: {kind} alone and {name} give different pooled "
                    f"outputs (max diff {float((got - alone[0]).abs().max()):.2e})"
                )
        if nodes is not None:
            want = _by_tree(alone_nodes, alone_batch["tree"], 0)
            if not (
                _by_tree(nodes, together["tree"], b).allclose(want, atol=atol)
                and _by_tree(nodes_r, reverse["tree"], r).allclose(want, atol=atol)
            ):
                raise ContractError(
                    f"{where}: {kind}'s node outputs change with the other trees of the batch"
                )


def _check_padding(model, context, data, where, atol) -> None:
    import torch

    from rnnbench.data.trees import TreeBatches, TreePool

    order = list(range(len(data)))
    batch = data.__getitems__(order)
    want, want_nodes = _run(model, batch, context)
    junk = dict(batch)
    T = batch["inputs"].shape[1]
    padded = torch.randint(
        1, VOCAB, (len(order), T + 3), generator=torch.Generator().manual_seed(9)
    )
    beyond = torch.arange(T)[None, :] >= batch["lengths"][:, None]  # (B, T)
    padded[:, :T] = torch.where(beyond, padded[:, :T], batch["inputs"])  # junk beyond lengths
    junk["inputs"] = padded
    got, got_nodes = _run(model, junk, context)
    if not got.allclose(want, atol=atol):
        raise ContractError(
            f"{where}: tokens beyond `lengths` change the output; read only "
            "the positions tree.token names"
        )
    pool = data.pool
    wide = TreePool(
        torch.nn.functional.pad(pool.children, (0, 1), value=-1),
        pool.token,
        pool.level,
        pool.label,
        pool.start,
    )
    wider = TreeBatches(wide, **data.tensors).__getitems__(order)
    got, got_nodes = _run(model, wider, context)
    if not got.allclose(want, atol=atol) or (
        want_nodes is not None and not got_nodes.allclose(want_nodes, atol=atol)
    ):
        raise ContractError(
            f"{where}: an extra absent-child slot (children -1) changes the "
            "output; absent children must contribute nothing"
        )
