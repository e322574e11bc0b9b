"""Training throughput (forward + backward, tokens/s) of every built-in model relative
to fused nn.LSTM of the same size, in the same process.

    python benchmarks/model_throughput.py [--batch 64] [--length 128] [--hidden 32 64 128 256]
        [--repeats 5] [--device cpu|cuda] [--bf16] [--keep-denormals] [--only NAME ...]

Ratio = model throughput / fused LSTM throughput (1.0 = as fast; 0.33 = 3x the time).
One table per width (default 32, 64, 128 and 256, so that a regression at small sizes
shows), each against the fused LSTM of that width.
"""

from __future__ import annotations

import argparse
import contextlib

import torch
from common import machine, markdown, median_seconds

from rnnbench import ModelContext
from rnnbench.contract.registry import get_registry

VOCAB = 1000
SEQUENCE_MODELS = ("rnn", "lstm", "gru", "memnet", "ln-lstm", "ln-gru", "bn-lstm")

CASES = [
    ("lstm (fused reference)", "lstm", {}),
    ("rnn", "rnn", {}),
    ("birnn", "birnn", {}),
    ("gru", "gru", {}),
    ("lstm peephole", "lstm", {"variant": "peephole"}),
    ("lstm coupled", "lstm", {"variant": "coupled"}),
    *(
        (f"lstm {v}", "lstm", {"variant": v})
        for v in ("nig", "nfg", "nog", "niaf", "noaf", "cifg", "fgr")
    ),
    ("ln-lstm", "ln-lstm", {}),
    ("ln-gru", "ln-gru", {}),
    ("bn-lstm", "bn-lstm", {}),
    ("textrnn", "textrnn", {}),
    ("rcnn", "rcnn", {"context_size": None}),
    ("memnet", "memnet", {}),
]


def build(name: str, extra: dict, hidden: int, output: str):
    spec = get_registry().model(name)
    sizes = {"hidden_size": hidden, "embedding_dim": hidden, "context_size": hidden}
    hparams = {k: v for k, v in sizes.items() if k in spec.params}
    hparams.update({k: v for k, v in extra.items() if v is not None})
    context = ModelContext("tokens", output, vocab_size=VOCAB, padding_idx=0)
    return spec.builder(context, **hparams)


def step_fn(model, inputs, lengths, output: str, autocast):
    def step():
        model.zero_grad(set_to_none=True)
        with autocast():
            out = model(inputs, lengths)
            value = out.sequence if output == "sequence" else out.pooled
            loss = value.float().pow(2).mean()
        loss.backward()
        if inputs.is_cuda:
            torch.cuda.synchronize()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--hidden", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast")
    parser.add_argument(
        "--keep-denormals",
        action="store_true",
        help="do not flush denormals to zero (the harness flushes them: train.flush_denormal)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="LABEL",
        help="measure only the rows whose label starts with one of these "
        "(the fused LSTM reference always runs first)",
    )
    args = parser.parse_args()
    torch.set_flush_denormal(not args.keep_denormals)
    device = torch.device(args.device)
    torch.manual_seed(0)
    inputs = torch.randint(1, VOCAB, (args.batch, args.length), device=device)
    lengths = torch.full((args.batch,), args.length, device=device)
    autocast = (
        (lambda: torch.autocast(device.type, dtype=torch.bfloat16))
        if args.bf16
        else contextlib.nullcontext
    )
    cases = (
        CASES
        if not args.only
        else [CASES[0], *(c for c in CASES[1:] if c[0].startswith(tuple(args.only)))]
    )
    for hidden in args.hidden:
        rows, reference = [], None
        for label, name, extra in cases:
            output = "sequence" if name in SEQUENCE_MODELS else "pooled"
            model = build(name, extra, hidden, output).to(device).train()
            seconds = median_seconds(
                step_fn(model, inputs, lengths, output, autocast), repeats=args.repeats
            )
            tokens_per_s = args.batch * args.length / seconds
            reference = reference or tokens_per_s
            rows.append(
                [
                    label,
                    f"{seconds * 1000:.1f}",
                    f"{tokens_per_s:,.0f}",
                    f"{tokens_per_s / reference:.2f}",
                    f"{reference / tokens_per_s:.2f}x",
                ]
            )
        print(
            f"# model throughput: batch {args.batch}, length {args.length}, hidden {hidden}, "
            f"{device.type}{' bf16' if args.bf16 else ''}"
            f"{', denormals kept' if args.keep_denormals else ''}; {machine()}"
        )
        print(
            markdown(
                ["model", "step ms", "tokens/s", "throughput ratio", "time vs fused LSTM"], rows
            )
        )
        print(flush=True)


if __name__ == "__main__":
    main()
