"""Decoding throughput of the seq2seq models: greedy and beam search (rnnbench.training.
decoding, B·K hypotheses as one batch) against a teacher-forced training step (forward,
loss, backward) on the same batch, in the same process.

    python benchmarks/decode_throughput.py [--batch 64] [--source 20] [--target 21]
        [--hidden 128] [--beams 1,4,8] [--repeats 5] [--threads 0]

Every decoder runs exactly --target steps (EOS is never produced: its logit is masked),
so all rows produce the same number of tokens. Ratio = tokens/s of the row / tokens/s
of the teacher-forced training step (1.0 = as fast).
"""

from __future__ import annotations

import argparse

import torch
from common import machine, markdown, median_seconds

from rnnbench import ModelContext
from rnnbench.contract.registry import get_registry
from rnnbench.contract.seq2seq import Seq2SeqTarget, decoder_inputs
from rnnbench.training.decoding import beam_decode, greedy_decode

VOCAB = 40


class NoEosHead(torch.nn.Module):
    """Linear head whose EOS logit is -inf: every hypothesis runs max_length steps."""

    def __init__(self, d: int, eos: int) -> None:
        super().__init__()
        self.linear, self.eos = torch.nn.Linear(d, VOCAB), eos

    def forward(self, x):
        logits = self.linear(x)
        logits[..., self.eos] = -torch.inf
        return logits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--source", type=int, default=20)
    parser.add_argument("--target", type=int, default=21)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--beams", default="1,4,8")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = Seq2SeqTarget(
        vocab_size=VOCAB, bos_id=VOCAB - 2, eos_id=VOCAB - 1, padding_idx=0, max_length=args.target
    )
    context = ModelContext("tokens", "seq2seq", vocab_size=VOCAB, padding_idx=0, target=spec)
    B, S, U = args.batch, args.source, args.target
    inputs = torch.randint(1, VOCAB - 2, (B, S))
    lengths = torch.full((B,), S)
    target = torch.randint(1, VOCAB - 2, (B, U))
    target[:, -1] = spec.eos_id
    target_lengths = torch.full((B,), U)
    tokens = B * U
    rows = []
    for name, attention in (
        ("seq2seq", "none"),
        ("seq2seq-attn luong", "luong"),
        ("seq2seq-attn bahdanau", "bahdanau"),
    ):
        model_name = name.split()[0]
        model = (
            get_registry()
            .model(model_name)
            .builder(
                context, hidden_size=args.hidden, embedding_dim=args.hidden, attention=attention
            )
        )
        head = NoEosHead(model.output_size, spec.eos_id)
        optimiser = torch.optim.Adam([*model.parameters(), *head.parameters()])
        y_in = decoder_inputs(target, target_lengths, spec)

        def train_step(model=model, head=head, optimiser=optimiser, y_in=y_in):
            model.train()
            optimiser.zero_grad(set_to_none=True)
            logits = head(
                model(inputs, lengths, decoder_inputs=y_in, decoder_lengths=target_lengths).sequence
            )
            torch.nn.functional.cross_entropy(
                logits.reshape(-1, VOCAB), target.reshape(-1)
            ).backward()
            optimiser.step()

        reference = median_seconds(train_step, args.repeats)
        rows.append(
            [
                name,
                "teacher-forced train step",
                f"{reference * 1e3:.1f}",
                f"{tokens / reference:,.0f}",
                "1.00",
            ]
        )
        model.eval()
        for k in [int(b) for b in args.beams.split(",")]:
            if k == 1:
                label, fn = (
                    "greedy",
                    lambda m=model, h=head: greedy_decode(m, h, inputs, lengths, spec),
                )
            else:
                label = f"beam {k}"
                fn = lambda m=model, h=head, k=k: beam_decode(m, h, inputs, lengths, spec, k)  # noqa: E731
            out, _ = fn()
            assert out.shape == (B, U), out.shape  # every row decoded all U steps
            seconds = median_seconds(fn, args.repeats)
            rows.append(
                [
                    name,
                    label,
                    f"{seconds * 1e3:.1f}",
                    f"{tokens / seconds:,.0f}",
                    f"{reference / seconds:.2f}",
                ]
            )
    print(
        f"machine: {machine()}; B={B}, source {S}, target {U} tokens, hidden {args.hidden}, "
        f"{args.repeats} repeats (median)"
    )
    print(markdown(["model", "what", "ms / batch", "output tokens/s", "ratio vs train step"], rows))


if __name__ == "__main__":
    main()
