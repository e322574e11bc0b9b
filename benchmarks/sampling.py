"""What a language-modelling run's per-epoch sample costs (Task.samples, 200 tokens), and
what `rnnbench generate` pays per token, against a training step of the same model in
the same process.

    python benchmarks/sampling.py [--hidden 256] [--tokens 200] [--repeats 5]

The model is the built-in `lstm` (embedding 64) with a linear head over a 65-character
vocabulary (Tiny Shakespeare's), on random ids. Reference: one training step (forward,
backward, Adam) on a batch of 64 streams x 64 steps, the reference settings' batch.
Also the windowed path that a model without carried state takes (the latest 64 tokens
at every step) on the same model, against the stateful one.
"""

from __future__ import annotations

import argparse

import torch
from common import machine, markdown, median_seconds

import rnnbench
from rnnbench.contract.registry import get_registry
from rnnbench.training.sampling import Sampler

VOCAB, BATCH, BPTT = 65, 64, 64


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    context = rnnbench.ModelContext(
        "tokens", "sequence", vocab_size=VOCAB, padding_idx=0, stateful=True
    )
    model = get_registry().model("lstm").builder(context, hidden_size=args.hidden, embedding_dim=64)
    head = torch.nn.Linear(model.output_size, VOCAB)
    codec = rnnbench.TokenCodec(tuple(f"c{i}" for i in range(VOCAB)), window=BPTT)
    optimizer = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=1e-3)
    inputs = torch.randint(1, VOCAB, (BATCH, BPTT))  # (B, T)
    target = torch.randint(1, VOCAB, (BATCH, BPTT))  # (B, T)
    lengths = torch.full((BATCH,), BPTT)

    def train_step() -> None:
        logits = head(model(inputs, lengths).sequence)  # (B, T, V)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), target.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    prime = list(range(1, 17))
    stateful = Sampler(model, head, codec, stateful=True)
    windowed = Sampler(model, head, codec, stateful=False)
    step = median_seconds(train_step, args.repeats)
    carried = median_seconds(lambda: stateful(prime, args.tokens), args.repeats)
    window = median_seconds(lambda: windowed(prime, args.tokens), args.repeats)
    rows = [
        ["training step, batch 64 x 64 (reference)", f"{step * 1e3:.1f} ms", "1.00"],
        [
            f"sample of {args.tokens} tokens, state carried",
            f"{carried * 1e3:.1f} ms",
            f"{carried / step:.2f}",
        ],
        [
            "  per token",
            f"{carried / args.tokens * 1e3:.2f} ms",
            f"{carried / args.tokens / step:.3f}",
        ],
        [
            f"sample of {args.tokens} tokens, latest {BPTT} tokens re-read",
            f"{window * 1e3:.1f} ms",
            f"{window / step:.2f}",
        ],
    ]
    print(f"lstm hidden {args.hidden}, vocabulary {VOCAB}; {machine()}")
    print(markdown(["what", "median time", "x training step"], rows))
    print(f"windowed / carried: {window / carried:.1f}x")


if __name__ == "__main__":
    main()
