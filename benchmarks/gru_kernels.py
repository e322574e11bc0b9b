"""GRU against LSTM on the CPU, per width: torch's nn.GRU kernel, rnnbench's own GRU
recurrence (rnnbench.nn.gru) and the dispatching `rnnbench.nn.GRU` that the `gru` model
uses, each as forward + backward time relative to the fused nn.LSTM in the same process;
then a profile of one forward + backward of each kernel (which ATen ops run, how often).

    python benchmarks/gru_kernels.py [--batch 64] [--length 100] [--inputs 2]
        [--widths 32 64 128 256] [--repeats 7] [--profile-width 64] [--threads N]

--threads 1 is the setting of a sweep worker (2 workers x 1 thread on 2 cores) and the
only one that gives stable figures on a loaded host.
"""

from __future__ import annotations

import argparse

import torch
from common import machine, markdown, median_seconds
from torch import nn

import rnnbench.nn.gru as nn_gru
from rnnbench.nn import GRU


def step(module, x):
    def run():
        module.zero_grad(set_to_none=True)
        out, state = module(x)
        h = state[0] if isinstance(state, tuple) else state  # the LSTM's (h, c)
        (out.pow(2).mean() + h.pow(2).mean()).backward()

    return run


class OwnGRU(GRU):
    """rnnbench.nn.GRU forced onto its own recurrence at every width."""

    def unfused(self, x):
        return True


class TorchGRU(GRU):
    """rnnbench.nn.GRU forced onto torch's kernel at every width (= nn.GRU)."""

    def unfused(self, x):
        return False


def profile(module, x, length: int, top: int = 8) -> list[list[str]]:
    """The ops of one forward + backward, most time first: calls per time step, ms."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    run = step(module, x)
    run()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) / 1000
    rows = [
        [e.key, f"{e.count / length:.1f}", f"{e.self_cpu_time_total / 1000:.1f}"]
        for e in events[:top]
    ]
    calls = sum(e.count for e in events if e.key.startswith("aten::"))
    rows.append([f"all ops ({total:.1f} ms)", f"{calls / length:.1f} aten calls/step", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--inputs", type=int, default=2)
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile-width", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as the harness does (train.flush_denormal)
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.length, args.inputs)
    rows = []
    for width in args.widths:
        kernels = {"lstm": nn.LSTM, "torch gru": TorchGRU, "own gru": OwnGRU, "gru model": GRU}
        ms = {
            name: 1000
            * median_seconds(
                step(cls(args.inputs, width, batch_first=True), x), repeats=args.repeats
            )
            for name, cls in kernels.items()
        }
        path = "own" if width <= nn_gru.UNFUSED_MAX_HIDDEN else "torch"
        rows.append(
            [
                str(width),
                *(f"{ms[k]:.1f}" for k in kernels),
                *(f"{ms[k] / ms['lstm']:.2f}" for k in ("torch gru", "own gru", "gru model")),
                path,
            ]
        )
    print(
        f"# GRU vs LSTM, forward + backward: batch {args.batch}, length {args.length}, "
        f"{args.inputs} inputs; {machine()}"
    )
    print(
        markdown(
            [
                "hidden",
                "lstm ms",
                "torch gru ms",
                "own gru ms",
                "gru model ms",
                "torch gru / lstm",
                "own gru / lstm",
                "gru model / lstm",
                "model's path",
            ],
            rows,
        )
    )
    for name, cls in (
        ("nn.LSTM", nn.LSTM),
        ("nn.GRU (torch)", TorchGRU),
        ("own GRU recurrence", OwnGRU),
    ):
        module = cls(args.inputs, args.profile_width, batch_first=True)
        print(f"\n# profile: {name}, hidden {args.profile_width}, one forward + backward")
        print(markdown(["op", "calls per step", "self ms"], profile(module, x, args.length)))


if __name__ == "__main__":
    main()
