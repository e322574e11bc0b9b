"""Where a CTC-P TextRNN training step and validation pass spend their time on the CPU:
the reference's shapes (Chinese-Text-Classification-Pytorch: every text padded to 32,
no packing) against rnnbench's (batches of similar lengths, packed when they differ),
and the optimiser implementations (Adam single-tensor, foreach, fused).

    python benchmarks/ctcp_steps.py [--repeats 20]

Model: embedding 10,002 x 300, 2-layer BiLSTM of 128, linear 256 -> 10 (3.7 M
parameters, 3.0 M of them the embedding); batch 128; lengths 8-30 (mean 19) as
benchmarks/thucnews_synthetic.py draws them. Figures: median ms of `--repeats`.
"""

from __future__ import annotations

import argparse
import random

import torch
from common import machine, markdown, median_seconds
from torch import nn

from rnnbench.nn import final_hidden, run_rnn

V, E, H, C, B = 10_002, 300, 128, 10, 128


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(V, E, padding_idx=0)
        self.lstm = nn.LSTM(E, H, 2, batch_first=True, bidirectional=True, dropout=0.5)
        self.fc = nn.Linear(2 * H, C)
        self.drop = nn.Dropout(0.5)

    def reference(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(x))  # their forward: last padded position
        return self.fc(out[:, -1, :])

    def rnnbench(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _, (h, _) = run_rnn(self.lstm, self.drop(self.embedding(x)), lengths)
        return self.fc(self.drop(final_hidden(h, bidirectional=True)))


def lengths_of(n: int, rng: random.Random) -> list[int]:
    return [min(30, max(8, int(rng.gauss(19, 4)))) for _ in range(n)]


def batch(lengths: list[int], width: int | None = None):
    width = width or max(lengths)
    lengths_t = torch.tensor(lengths)
    x = torch.randint(1, V, (len(lengths), width))
    x[torch.arange(width) >= lengths_t[:, None]] = 0
    return x, lengths_t


def timed(fn, repeats: int) -> float:
    """Median milliseconds of `repeats` calls after 3 warm-up calls."""
    return median_seconds(fn, repeats=repeats, warmup=3) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = random.Random(0)
    net = Net()
    y = torch.randint(0, C, (B,))
    loss_fn = nn.CrossEntropyLoss()
    rows = []

    def step_case(name, forward, x, lengths, optimizer):
        def step():
            optimizer.zero_grad()
            loss_fn(forward(x, lengths), y).backward()
            optimizer.step()

        def fwd_bwd():
            net.zero_grad()
            loss_fn(forward(x, lengths), y).backward()

        def opt():
            optimizer.step()

        rows.append(
            [
                name,
                f"{timed(fwd_bwd, args.repeats):.1f}",
                f"{timed(opt, args.repeats):.1f}",
                f"{timed(step, args.repeats):.1f}",
            ]
        )

    net.train()
    mixed = sorted(lengths_of(B, rng))
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    fused = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    foreach = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=True)
    step_case("reference: padded to 32, Adam", net.reference, *batch(mixed, 32), adam)
    step_case("rnnbench: lengths 8-30, packed, Adam", net.rnnbench, *batch(mixed), adam)
    step_case("rnnbench: mixed 18-19, packed, Adam", net.rnnbench, *batch([18, 19] * 64), adam)
    step_case("rnnbench: all 19, fused LSTM, Adam", net.rnnbench, *batch([19] * B), adam)
    step_case("rnnbench: all 19, Adam foreach", net.rnnbench, *batch([19] * B), foreach)
    step_case("rnnbench: all 19, Adam fused", net.rnnbench, *batch([19] * B), fused)
    grads = [p.grad for p in net.parameters()]
    norm_ms = timed(lambda: torch.nn.utils.get_total_norm(grads), args.repeats)
    print(f"# CTC-P TextRNN step, batch {B}; {machine()}")
    print(markdown(["case", "forward+backward ms", "optimiser ms", "step ms"], rows))
    print(f"\ntotal gradient norm (rnnbench's per-step statistic): {norm_ms:.2f} ms")

    # validation: 10,000 texts
    net.eval()
    dev = sorted(lengths_of(10_000, rng))
    eval_rows = []

    def eval_case(name, forward, size, width=None, mode=torch.no_grad):
        chunks = [batch(dev[i : i + size], width) for i in range(0, len(dev), size)]

        def run():
            with mode():
                for x, lengths in chunks:
                    forward(x, lengths)

        eval_rows.append([name, f"{timed(run, max(3, args.repeats // 5)):.0f}"])

    eval_case("reference: batch 128, padded to 32", net.reference, 128, 32)
    eval_case("rnnbench: batch 256, sorted, packed", net.rnnbench, 256)
    eval_case("rnnbench: batch 256, inference_mode", net.rnnbench, 256, None, torch.inference_mode)
    eval_case(
        "rnnbench: batch 1024, inference_mode", net.rnnbench, 1024, None, torch.inference_mode
    )
    print(f"\n# validation pass over 10,000 texts; {machine()}")
    print(markdown(["case", "ms"], eval_rows))


if __name__ == "__main__":
    main()
