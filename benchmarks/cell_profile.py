"""Where the custom cells' time goes on the CPU: each eager cell's training step against
the fused nn.LSTM of the same width (time, and per unit of work), then a profile of one
forward + backward: ATen calls per time step, and the share of the step's self CPU time
spent in matrix products against everything else (pointwise gates, normalisation,
views, copies and autograd bookkeeping).

    python benchmarks/cell_profile.py [--hidden 256] [--batch 64] [--length 128]
        [--cells ln-lstm ln-gru bn-lstm peephole niaf noaf fgr] [--repeats 3]

The cells and their work relative to the LSTM's are benchmarks/cell_compile.py's.
"""

from __future__ import annotations

from cell_compile import CELLS, build, cell_benchmark, step_fn
from common import machine, markdown, median_seconds

#: ATen ops that are matrix products, or oneDNN's fused LSTM layer (its products and gates
#: in one kernel): the arithmetic that no implementation avoids
MATMUL = ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::mkldnn_rnn_layer")


def profile(model, inputs, lengths, length: int) -> tuple[float, float]:
    """(ATen calls per time step, matmul share of self CPU time) of one forward +
    backward."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    run = step_fn(model, inputs, lengths)
    run()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    events = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    calls = sum(e.count for e in events)
    total = sum(e.self_cpu_time_total for e in events) or 1
    matmul = sum(e.self_cpu_time_total for e in events if e.key.startswith(MATMUL))
    return calls / length, matmul / total


def main() -> None:
    args, inputs, lengths = cell_benchmark(__doc__, hidden=256, length=128)
    lstm_model = build("lstm", {}, args.hidden)
    lstm = median_seconds(step_fn(lstm_model, inputs, lengths), repeats=args.repeats)
    calls, share = profile(lstm_model, inputs, lengths, args.length)
    rows = [
        [
            "lstm (fused reference)",
            f"{lstm * 1000:.1f}",
            "1.00",
            "1.00",
            f"{calls:.1f}",
            f"{share:.0%}",
        ]
    ]
    for cell in args.cells:
        name, extra, work = CELLS[cell]
        model = build(name, extra, args.hidden)
        seconds = median_seconds(step_fn(model, inputs, lengths), repeats=args.repeats)
        calls, share = profile(model, inputs, lengths, args.length)
        rows.append(
            [
                cell,
                f"{seconds * 1000:.1f}",
                f"{seconds / lstm:.2f}",
                f"{seconds / lstm / work:.2f}",
                f"{calls:.1f}",
                f"{share:.0%}",
            ]
        )
    print(
        f"# custom cells, eager training step: batch {args.batch}, length {args.length}, "
        f"hidden {args.hidden}; {machine()}"
    )
    print(
        markdown(
            [
                "cell",
                "step ms",
                "time / lstm",
                "per unit of work",
                "ATen calls per time step",
                "matmul (fused LSTM layer) share of self time",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
