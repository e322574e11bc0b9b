"""torch.compile on the custom cells' step function: training step time of each custom
cell eagerly and with its per-step function compiled (Inductor, fullgraph, static
shapes), both against the fused nn.LSTM of the same width in the same process, with the
compile time, and per unit of work (time ratio / the cell's recurrent FLOPs relative to
the LSTM's).

    python benchmarks/cell_compile.py [--hidden 128] [--batch 64] [--length 64]
        [--cells ln-lstm ln-gru bn-lstm peephole niaf noaf fgr] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import machine, markdown, median_seconds

from rnnbench import ModelContext
from rnnbench.contract.registry import get_registry

VOCAB = 1000
#: cell -> (model, extra hyperparameters, recurrent work per step relative to an LSTM's:
#: gate blocks x (input + recurrent) multiply-adds; fgr's gate recurrence adds 3x3 blocks)
CELLS = {
    "ln-lstm": ("ln-lstm", {}, 1.0),
    "ln-gru": ("ln-gru", {}, 0.75),
    "bn-lstm": ("bn-lstm", {}, 1.0),
    "peephole": ("lstm", {"variant": "peephole"}, 1.0),
    "niaf": ("lstm", {"variant": "niaf"}, 1.0),
    "noaf": ("lstm", {"variant": "noaf"}, 1.0),
    "fgr": ("lstm", {"variant": "fgr"}, 1.75),
}


def build(name: str, extra: dict, hidden: int):
    context = ModelContext("tokens", "sequence", vocab_size=VOCAB, padding_idx=0)
    return (
        get_registry()
        .model(name)
        .builder(context, hidden_size=hidden, embedding_dim=hidden, **extra)
    )


def step_fn(model, inputs, lengths):
    def step():
        model.zero_grad(set_to_none=True)
        model(inputs, lengths).sequence.pow(2).mean().backward()

    return step


def compile_steps(model) -> None:
    """Replace every layer's per-step function by its torch.compile'd version."""
    for directions in model.layers:
        for layer in directions:
            layer.step = torch.compile(layer.step, fullgraph=True, dynamic=False)


def cell_benchmark(
    doc: str, hidden: int, length: int
) -> tuple[argparse.Namespace, torch.Tensor, torch.Tensor]:
    """The custom-cell benchmarks' options (--hidden, --batch, --length, --cells,
    --repeats; defaults `hidden`, 64, `length`, every cell, 3), then seeded token inputs
    (batch, length) and their lengths (batch,)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=hidden)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=length)
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    inputs = torch.randint(1, VOCAB, (args.batch, args.length))
    return args, inputs, torch.full((args.batch,), args.length)


def main() -> None:
    args, inputs, lengths = cell_benchmark(__doc__, hidden=128, length=64)
    lstm = median_seconds(
        step_fn(build("lstm", {}, args.hidden), inputs, lengths), repeats=args.repeats
    )
    rows = [["lstm (fused reference)", f"{lstm * 1000:.1f}", "", "1.00", "", "", ""]]
    for cell in args.cells:
        name, extra, work = CELLS[cell]
        model = build(name, extra, args.hidden)
        eager = median_seconds(step_fn(model, inputs, lengths), repeats=args.repeats)
        compile_steps(model)
        start = time.perf_counter()
        step_fn(model, inputs, lengths)()  # compiles forward and backward
        compile_s = time.perf_counter() - start
        compiled = median_seconds(step_fn(model, inputs, lengths), repeats=args.repeats)
        rows.append(
            [
                cell,
                f"{eager * 1000:.1f}",
                f"{compiled * 1000:.1f}",
                f"{eager / lstm:.2f}",
                f"{compiled / lstm:.2f}",
                f"{eager / lstm / work:.2f}",
                f"{compile_s:.0f}",
            ]
        )
    print(
        f"# custom cells, eager vs compiled step: batch {args.batch}, length {args.length}, "
        f"hidden {args.hidden}; {machine()}"
    )
    print(
        markdown(
            [
                "cell",
                "eager ms",
                "compiled ms",
                "eager / lstm",
                "compiled / lstm",
                "eager / lstm per unit of work",
                "compile s",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
