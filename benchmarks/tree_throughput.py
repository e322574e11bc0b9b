"""Tree models' training time per epoch (forward + backward over the same SST sentences),
in one process: the level-batched Tree-LSTM and RecNN against a naive per-node
recursion with the very same weights (the speed-up of level batching), and against a
sequential LSTM (the fused lstm plugin) on the same sentences in the same batches.

    python benchmarks/tree_throughput.py [--sentences 400] [--batch 25] [--hidden 128]
        [--repeats 3] [--data ../shared/data/sst-trees/train.txt]

Ratios are against the level-batched Tree-LSTM measured in the same run.
"""

from __future__ import annotations

import argparse

import torch
from common import machine, markdown, median_seconds

from rnnbench import ModelContext
from rnnbench.contract.registry import get_registry
from rnnbench.taskkit import TreeBatches, TreePool, Vocabulary, read_ptb_file


def naive_forward(model, batch) -> torch.Tensor:
    """The same model, node by node: Python recursion from each root (what level
    batching replaces). Returns (B, H), equal to the batched pooled output."""
    tree, inputs = batch["tree"], batch["inputs"]
    children = tree.children.tolist()
    token, row = tree.token.tolist(), tree.tree.tolist()
    is_lstm = hasattr(model, "cell")
    H = model.output_size

    def node(j):
        kids = [node(k) for k in children[j] if k >= 0]
        x = model.embedding(inputs[row[j], max(token[j], 0)])[None] * (token[j] >= 0)  # (1, E)
        pad = [torch.zeros(1, 2 * H if is_lstm else H)] * (model.K - len(kids))
        stacked = torch.stack(kids + pad, 1) if kids or pad else None  # (1, K, ·)
        if is_lstm:
            h, c = model.cell(x, stacked[..., :H], stacked[..., H:])
            return torch.cat([h, c], -1)
        return torch.tanh(model.compose(stacked.flatten(1)) + model.word(x))

    return torch.cat([node(r)[:, :H] for r in tree.root.tolist()])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/sst-trees/train.txt")
    ap.add_argument("--sentences", type=int, default=400)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    trees = read_ptb_file(args.data, 5)[: args.sentences]
    vocab = Vocabulary.build(t.words for t in trees)
    lengths = torch.tensor([len(t.words) for t in trees])
    inputs = torch.zeros(len(trees), int(lengths.max()), dtype=torch.long)
    for i, t in enumerate(trees):
        inputs[i, : len(t.words)] = torch.tensor(vocab.encode(t.words))
    data = TreeBatches(
        TreePool.build(trees, 2),
        inputs=inputs,
        lengths=lengths,
        target=torch.tensor([t.label[0] for t in trees]),
    )
    batches = [
        data.__getitems__(list(range(i, min(i + args.batch, len(trees)))))
        for i in range(0, len(trees), args.batch)
    ]
    context = ModelContext("tokens", "pooled", vocab_size=len(vocab), padding_idx=0, max_children=2)
    registry = get_registry()

    def model(name, **extra):
        torch.manual_seed(0)
        return registry.model(name).builder(
            context, hidden_size=args.hidden, embedding_dim=args.hidden, **extra
        )

    def epoch(m, forward):
        def run():
            for b in batches:
                m.zero_grad()
                forward(m, b).pow(2).sum().backward()

        return run

    batched = lambda m, b: m(b["inputs"], b["lengths"], tree=b["tree"]).pooled  # noqa: E731
    sequential = lambda m, b: m(b["inputs"], b["lengths"]).pooled  # noqa: E731
    cases = []
    for name in ("treelstm", "recnn"):
        m = model(name)
        with torch.no_grad():  # the naive recursion computes the same function
            b = batches[0]
            assert torch.allclose(batched(m, b), naive_forward(m, b), atol=1e-5)
        cases.append((f"{name} level-batched", epoch(m, batched)))
        cases.append((f"{name} naive per-node recursion", epoch(m, naive_forward)))
    cases.append(("lstm (fused nn.LSTM, leaves in order)", epoch(model("lstm"), sequential)))
    times = {label: median_seconds(run, repeats=args.repeats, warmup=1) for label, run in cases}
    ref = times["treelstm level-batched"]
    nodes = sum(b["tree"].num_nodes for b in batches)
    levels = sum(len(b["tree"].offsets) - 1 for b in batches)
    print(
        f"{len(trees)} SST training sentences, {nodes} nodes, batch {args.batch} "
        f"({levels} level steps in all), hidden {args.hidden}; {machine()}"
    )
    print(
        markdown(
            ["model", "s / epoch", "vs level-batched treelstm"],
            [[k, f"{v:.3f}", f"{v / ref:.2f}x"] for k, v in times.items()],
        )
    )
    for name in ("treelstm", "recnn"):
        speedup = times[f"{name} naive per-node recursion"] / times[f"{name} level-batched"]
        print(f"{name}: level batching is {speedup:.1f}x faster than per-node recursion")


if __name__ == "__main__":
    main()
