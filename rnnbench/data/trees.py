"""Trees -> tensors (public through `rnnbench.taskkit`): labelled PTB-bracket files,
a flat pool of many trees' nodes, and batches carrying a level-major `TreeBatch`
(`rnnbench.contract.trees`) beside the usual inputs, lengths and target.

    trees = read_ptb_file(path)             # [ParsedTree], one per non-blank line
    pool = TreePool.build(trees)            # every node of every tree, pre-order
    data = TreeBatches(pool, inputs=..., lengths=..., target=...)
    batch = data.__getitems__([3, 0, 7])    # {"inputs", "lengths", "target",
                                            #  "tree": TreeBatch, "node_target": (N,)}

Collating is vectorised (a few gathers and one stable sort by height), not a loop
over trees or nodes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnnbench.contract.errors import DataError
from rnnbench.contract.trees import NO_LABEL, TreeBatch
from rnnbench.data.modules import TensorBatches

_BRACKET_TOKENS = re.compile(r"\(|\)|[^ \t\r\n\f\v()]+")  # words may hold U+00A0


@dataclass
class ParsedTree:
    """One tree, its nodes in pre-order (root 0, a parent before its children).

    children: per node, the indices of its children in order ([] for a leaf).
    token:    per node, the position in `words` of the token it reads, or -1.
    label:    per node, its integer label or NO_LABEL.
    words:    the tokens of the sentence in order (what sequential models read).
    """

    children: list[list[int]] = field(default_factory=list)
    token: list[int] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    words: list[str] = field(default_factory=list)

    def add(self, parent: int | None, label: int = NO_LABEL) -> int:
        self.children.append([])
        self.token.append(-1)
        self.label.append(label)
        if parent is not None:
            self.children[parent].append(len(self.token) - 1)
        return len(self.token) - 1

    def read(self, node: int, word: str) -> None:
        self.token[node] = len(self.words)
        self.words.append(word)


def parse_ptb(text: str, where: str) -> ParsedTree:
    """One PTB-bracket tree, every node `(LABEL child ...)` or `(LABEL word)` with an
    integer LABEL; DataError naming `where` (file:line) and what is wrong."""
    tree = ParsedTree()
    stack: list[Any] = []
    matches = list(_BRACKET_TOKENS.finditer(text))
    tokens = [m.group() for m in matches]
    column = [m.start() + 1 for m in matches]  # 1-based, for the messages
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "(":
            label = tokens[i + 1] if i + 1 < len(tokens) else ")"
            if label in "()":
                raise DataError(
                    f"{where}: node without a label (column {column[i]}: "
                    f"'(' followed by {label!r}); every node is (LABEL ...)"
                )
            try:
                value = int(label)
            except ValueError:
                raise DataError(
                    f"{where}: label {label!r} is not an integer (column "
                    f"{column[i + 1]}); every node is (LABEL ...) with LABEL 0, 1, "
                    "..."
                ) from None
            if not stack and tree.token:
                raise DataError(
                    f"{where}: a second tree starts at column {column[i]}; one tree per line"
                )
            stack.append(tree.add(stack[-1] if stack else None, value))
            i += 2
        elif tok == ")":
            if not stack:
                raise DataError(
                    f"{where}: unbalanced bracket: ')' at column {column[i]} closes no open '('"
                )
            node = stack.pop()
            if tree.token[node] < 0 and not tree.children[node]:
                raise DataError(
                    f"{where}: node ({tree.label[node]}) closed at column {column[i]} has neither "
                    "a word nor children"
                )
            i += 1
        else:
            if not stack:
                raise DataError(f"{where}: word {tok!r} outside any bracket (column {column[i]})")
            node = stack[-1]
            if tree.token[node] >= 0 or tree.children[node]:
                raise DataError(
                    f"{where}: node ({tree.label[node]}) has more than one word "
                    f"or mixes words and subtrees (column {column[i]}: {tok!r})"
                )
            tree.read(node, tok)
            i += 1
    if stack:
        raise DataError(
            f"{where}: unbalanced bracket: {len(stack)} '(' not closed at the end of the line"
        )
    if not tree.token:
        raise DataError(f"{where}: no tree on the line")
    return tree


def read_ptb_file(path: str | Path, num_classes: int | None = None) -> list[ParsedTree]:
    """Every non-blank line of a UTF-8 file (BOM, CRLF accepted) as a tree; with
    `num_classes`, labels must lie in 0..num_classes-1 (else in 0, 1, ...)."""
    path = Path(path)
    trees = []
    text = path.read_text(encoding="utf-8-sig")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        tree = parse_ptb(line, where)
        bad = [v for v in tree.label if v < 0 or (num_classes is not None and v >= num_classes)]
        if bad:
            allowed = f"0..{num_classes - 1}" if num_classes is not None else "0, 1, ..."
            raise DataError(f"{where}: label {bad[0]} is out of range (labels are {allowed})")
        trees.append(tree)
    if not trees:
        raise DataError(f"{path}: no trees (the file is empty); one PTB-bracket tree per line")
    return trees


def heights(tree: ParsedTree) -> list[int]:
    """Per node its height (leaves 0); children follow their parent in pre-order."""
    height = [0] * len(tree.token)
    for node in range(len(tree.token) - 1, -1, -1):
        if tree.children[node]:
            height[node] = 1 + max(height[c] for c in tree.children[node])
    return height


@dataclass
class TreePool:
    """Every node of M trees, tree after tree, each in pre-order (built once per split).

    children: (nodes, K) long, tree-local child indices, -1 padding;
    token, level, label: (nodes,) long; start: (M + 1,) long, tree m is rows
    start[m]:start[m + 1], its root the first.
    """

    children: torch.Tensor
    token: torch.Tensor
    level: torch.Tensor
    label: torch.Tensor
    start: torch.Tensor

    @classmethod
    def build(cls, trees: Sequence[ParsedTree], max_children: int | None = None) -> TreePool:
        K = max_children or max_children_of(trees)
        children, token, level, label, start = [], [], [], [], [0]
        for tree in trees:
            children += [kids + [-1] * (K - len(kids)) for kids in tree.children]
            token += tree.token
            level += heights(tree)
            label += tree.label
            start.append(len(token))
        as_long = lambda values: torch.tensor(values, dtype=torch.long)  # noqa: E731
        return cls(
            as_long(children).view(-1, K),
            as_long(token),
            as_long(level),
            as_long(label),
            as_long(start),
        )

    def __len__(self) -> int:
        return int(self.start.shape[0]) - 1


def max_children_of(trees: Sequence[ParsedTree]) -> int:
    """The most children any node of `trees` has (at least 1): a task's ModelContext.max_children."""
    return max((len(kids) for tree in trees for kids in tree.children), default=1) or 1


def collate_trees(pool: TreePool, indices: torch.Tensor) -> tuple[TreeBatch, torch.Tensor]:
    """The TreeBatch of trees `indices` (batch row b = indices[b]) and each batch
    node's pool row (to gather per-node values such as labels)."""
    start = pool.start[indices]  # (B,)
    count = pool.start[indices + 1] - start  # (B,) nodes per tree
    B = int(indices.shape[0])
    row = torch.repeat_interleave(torch.arange(B), count)  # (N,) the node's tree
    base = torch.cumsum(count, 0) - count  # (B,) first batch node of each tree, pre-order
    local = torch.arange(int(count.sum())) - base[row]  # (N,) pre-order index in its tree
    src = start[row] + local  # (N,) pool rows
    level = pool.level[src]
    order = torch.argsort(level, stable=True)  # level-major; ties keep tree, pre-order
    new_of = torch.empty_like(order)
    new_of[order] = torch.arange(order.shape[0])  # pre-order batch node -> level-major
    kids = pool.children[src]  # (N, K) tree-local
    real = kids >= 0
    kids = torch.where(real, new_of[(kids + base[row, None]).clamp(min=0)], -1)
    levels = int(level.max()) + 1 if level.numel() else 0
    offsets = torch.zeros(levels + 1, dtype=torch.long)
    offsets[1:] = torch.cumsum(torch.bincount(level, minlength=levels), 0)
    tree = TreeBatch(
        children=kids[order],
        token=pool.token[src][order],
        level=level[order],
        offsets=offsets,
        tree=row[order],
        root=new_of[base],
        index=local[order],
    )
    return tree, src[order]


class TreeBatches(TensorBatches):
    """TensorBatches (inputs, lengths, target, ...) whose batches also carry the trees:
    "tree" a TreeBatch and "node_target" (N,) each node's label (NO_LABEL for none)."""

    def __init__(
        self, pool: TreePool, trim: Sequence[str] = ("inputs",), **tensors: torch.Tensor
    ) -> None:
        super().__init__(trim=trim, **tensors)
        if len(pool) != self.size:
            raise ValueError(f"{len(pool)} trees for {self.size} examples")
        self.pool = pool

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int]) -> dict:
        batch = super().__getitems__(indices)
        tree, src = collate_trees(self.pool, torch.as_tensor(indices, dtype=torch.long))
        batch["tree"] = tree
        batch["node_target"] = self.pool.label[src]
        return batch
