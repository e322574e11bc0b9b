"""The tree contract: tree-structured batches, per-node outputs, and who may use them.

A task whose examples are trees (a treebank, ListOps) keeps the sequential batch
contract unchanged — "inputs" (B, T) token ids of the sentence in order, "lengths"
(B,) — so every sequential model runs on it, and adds one entry, `batch["tree"]`, a
`TreeBatch` describing all B trees of the batch as N flat nodes. The task's spec says
so with `TaskSpec.provides = frozenset({"tree"})`; a model that reads trees declares
`ModelSpec.needs = frozenset({"tree"})` and is called as
`model(inputs, lengths, state=None, tree=batch["tree"])` (only models that declare it
get the keyword). `compatibility()` refuses a tree model on a task without trees.

Node order is *level-major*: nodes are sorted by height (leaves 0, a parent is one
above its highest child), so level l is the contiguous slice
`offsets[l]:offsets[l + 1]` and every child index is below its level's start. A tree
model computes all nodes of one level across the whole batch in one tensor operation,
in at most `len(offsets) - 1` iterations, with no recursion per node.

Per-node supervision (every phrase of a treebank labelled): the task's context asks
for `output="nodes"`; the model then returns a `TreeOutput` whose `nodes` is (N, D),
one row per node in the TreeBatch's order (so `nodes[tree.root]` is the pooled
output), and the task's head and loss read those rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rnnbench.contract.outputs import ModelOutput

if TYPE_CHECKING:
    import torch

TREE = "tree"  # the batch entry, the model's keyword argument, the needs/provides name
NODES = "nodes"  # the output kind of per-node features (TreeOutput.nodes)
NO_LABEL = -1  # node_target of a node without a label (ListOps' inner nodes)


class TreeBatch(NamedTuple):
    """All trees of a batch as N nodes in level-major order (B trees, K max children).

    children: (N, K) long, node indices of each node's children in order, -1 where a
              node has fewer than K (all -1 for a leaf); every index < offsets[level].
    token:    (N,) long, the position t in the node's row of `inputs` of the token it
              reads (a leaf's word, ListOps' operator of an inner node), -1 for none.
    level:    (N,) long, the node's height: 0 for leaves, 1 + its highest child's.
    offsets:  (L + 1,) long, level l is nodes offsets[l]:offsets[l + 1]; offsets[-1] = N.
    tree:     (N,) long, the batch row b (0..B-1) the node belongs to.
    root:     (B,) long, the node index of each tree's root.
    index:    (N,) long, the node's position in its own tree in pre-order (root 0), the
              same whatever else is in the batch (for comparing a tree across batches).
    """

    children: torch.Tensor
    token: torch.Tensor
    level: torch.Tensor
    offsets: torch.Tensor
    tree: torch.Tensor
    root: torch.Tensor
    index: torch.Tensor

    @property
    def num_nodes(self) -> int:
        return int(self.token.shape[0])

    @property
    def max_children(self) -> int:
        return int(self.children.shape[1])


class TreeOutput(ModelOutput):
    """A ModelOutput with per-node features, for tasks whose context asks for "nodes".

    nodes: (N, D) one row per node of the batch's TreeBatch, in its (level-major) order.
    The three ModelOutput fields keep their meaning (pooled: (B, D), the roots' rows).
    """

    nodes = None  # for instances made by ModelOutput's tuple methods (_make, _replace)

    def __new__(
        cls,
        sequence: torch.Tensor | None = None,
        pooled: torch.Tensor | None = None,
        state=None,
        *,
        nodes: torch.Tensor | None = None,
    ) -> TreeOutput:
        out = super().__new__(cls, sequence, pooled, state)
        out.nodes = nodes  # type: ignore[attr-defined]  # set on the TreeOutput made here
        return out  # type: ignore[return-value]  # an instance of cls


def missing_structure(
    model_needs: frozenset[str], task_provides: frozenset[str], model: str, task: str
) -> str | None:
    """A one-line reason when the model reads batch entries the task does not provide."""
    missing = sorted(set(model_needs) - set(task_provides))
    if not missing:
        return None
    what = ", ".join(f"{name}s (batch[{name!r}])" for name in missing)
    return (
        f"model {model!r} reads {what}, which task {task!r} does not provide; "
        "tasks with trees: those whose spec provides 'tree' (rnnbench list)"
    )


def output_mismatch(
    model_outputs: frozenset[str], output: str, model: str, task: str
) -> str | None:
    """A one-line reason when a built task's context asks for an output kind (e.g.
    "nodes" under per-node supervision) that the model does not produce."""
    if output in model_outputs:
        return None
    return (
        f"task {task!r} with these options needs {output} outputs (e.g. per-node "
        f"features for phrase supervision), model {model!r} gives only "
        f"{'/'.join(sorted(model_outputs))}"
    )
