"""rnnbench against PyTorch's own word-language-model example, side by side (issue 30).

pytorch/examples `word_language_model/main.py` runs UNCHANGED at its defaults (2-layer
LSTM 200, embedding 200, dropout 0.2, SGD lr 20 divided by 4 when validation does not
improve, clip 0.25, bptt 35, batch 20, evaluation batch 10); `rnnbench run` runs the
same settings (MAPPING below). Both read the same train.txt/valid.txt/test.txt, each
under `/usr/bin/time -v`; a pair (example, then ours) is one seed, back to back.

    # 1. the corpus: Tiny Shakespeare at word level, lines 90/5/5, PTB-style vocabulary
    python benchmarks/pytorch_word_lm.py data /tmp/wordlm-shakespeare
    # 2. one seed of both, appended to a JSON-lines file (wrap in the CPU lock)
    flock /tmp/rnnbench-cpu.lock python benchmarks/pytorch_word_lm.py pair \\
        --example /tmp/wlm --data /tmp/wordlm-shakespeare --epochs 2 --seed 1 --out pairs.jsonl
    # 3. the table
    python benchmarks/pytorch_word_lm.py table pairs.jsonl

`--example` is a folder holding the example's main.py, data.py and model.py as fetched
from github.com/pytorch/examples (never committed here).

The corpus: non-empty lines of input.txt (the example would give an empty line an
<eos> of its own, rnnbench skips it: without empty lines both tokenise identically,
`line.split() + ['<eos>']`); the first 90% of the lines train, the next 5% validate,
the last 5% test; the 9,998 most frequent training words are kept, every other word
(in any split) becomes <unk>, as in Mikolov's PTB. The example's vocabulary is then
those words, <unk> and <eos> (10,000); rnnbench's adds its padding id (10,001, never
a target).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: $RNNBENCH_DATA, else ../shared/data beside the checkout (as the tests find it)
DATA = Path(os.environ.get("RNNBENCH_DATA", ROOT.parent / "shared" / "data"))
SOURCE = DATA / "tinyshakespeare" / "input.txt"
VOCAB = 10_000  # words + <unk> + <eos>, as the example counts them

#: rnnbench's settings for the example's defaults (main.py's argparse defaults).
MAPPING = {
    "model.embedding_dim": 200,  # --emsize 200
    "model.hidden_size": 200,  # --nhid 200
    "model.num_layers": 2,  # --nlayers 2
    "model.dropout": 0.2,  # --dropout 0.2 (embeddings, between layers, output)
    "model.forget_bias": 0.0,  # the example keeps torch's LSTM bias draw
    "train.init_range": 0.1,  # init_weights: encoder, decoder U(-0.1, 0.1), decoder bias 0
    "train.optimizer": "sgd",  # p.data.add_(p.grad, alpha=-lr)
    "train.momentum": 0.0,
    "train.lr": 20.0,  # --lr 20
    "train.lr_schedule": "plateau",  # lr /= 4 when val_loss is not below the best
    "train.lr_factor": 0.25,
    "train.lr_patience": 0,
    "train.clip_algorithm": "norm",  # clip_grad_norm_(..., --clip 0.25)
    "train.clip_value": 0.25,
    "train.batch_size": 20,  # --batch_size 20
    "task.bptt": 35,  # --bptt 35
    "task.eval_batch_size": 10,  # eval_batch_size = 10
    "task.level": "word",
    "task.vocab_size": VOCAB + 1,  # + rnnbench's padding id
    "train.progress": False,
}


def prepare_data(out: Path, source: Path = SOURCE) -> None:
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.split()]
    n = len(lines)
    a, b = int(n * 0.90), int(n * 0.95)
    splits = {"train": lines[:a], "valid": lines[a:b], "test": lines[b:]}
    counts = Counter(w for line in splits["train"] for w in line.split())
    keep = {w for w, _ in counts.most_common(VOCAB - 2)}
    out.mkdir(parents=True, exist_ok=True)
    for name, part in splits.items():
        text = "".join(
            " ".join(w if w in keep else "<unk>" for w in line.split()) + "\n" for line in part
        )
        (out / f"{name}.txt").write_text(text, encoding="utf-8")
        print(
            f"{out / name}.txt: {len(part)} lines, {sum(len(x.split()) + 1 for x in part):,} tokens"
        )


def timed(command: list[str], cwd: Path | None = None) -> tuple[str, dict]:
    """Run under /usr/bin/time -v; (stdout, {wall_s, cpu_s, rss_mib})."""
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *command], cwd=cwd, capture_output=True, text=True
    )
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(command)}\n{proc.stderr[-3000:]}")
    err = proc.stderr

    def field(label: str) -> str:
        return re.search(rf"{re.escape(label)}: (.+)", err).group(1).strip()

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    cost = {
        "wall_s": wall,
        "cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "rss_mib": int(field("Maximum resident set size (kbytes)")) / 1024,
    }
    return proc.stdout, cost


def run_example(example: Path, data: Path, seed: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out, cost = timed(
            [
                sys.executable,
                "main.py",
                "--data",
                str(data),
                "--epochs",
                str(epochs),
                "--seed",
                str(seed),
                "--save",
                f"{tmp}/model.pt",
            ],
            cwd=example,
        )
    ppl = float(re.findall(r"test ppl\s+([0-9.]+)", out)[-1])
    loss = float(re.findall(r"test loss\s+([0-9.]+)", out)[-1])
    return {"side": "example", "seed": seed, "test_ppl": ppl, "test_loss": loss, **cost}


def ours_command(data: Path, seed: int, epochs: int, results: Path) -> list[str]:
    sets = {
        **MAPPING,
        "task.dataset": str(data),
        "train.seed": seed,
        "train.max_epochs": epochs,
        "train.patience": epochs,
    }
    command = [
        str(Path(sys.executable).with_name("rnnbench")),
        "run",
        "--model",
        "lstm",
        "--task",
        "language-modelling",
        "--results-dir",
        str(results),
        "--json",
    ]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    return command


def run_ours(data: Path, seed: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out, cost = timed(ours_command(data, seed, epochs, Path(tmp)), cwd=ROOT)
    result = json.loads(out.strip().splitlines()[-1])
    metrics = result["metrics"]
    return {
        "side": "rnnbench",
        "seed": seed,
        "test_ppl": metrics["test_ppl"],
        "test_loss": metrics["test_loss"],
        **cost,
    }


def table(path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    sides = {s: [r for r in rows if r["side"] == s] for s in ("example", "rnnbench")}

    def mean(side: str, key: str) -> float:
        return statistics.fmean(r[key] for r in sides[side])

    def spread(side: str, key: str) -> str:
        values = [r[key] for r in sides[side]]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):.2f} ± {sd:.2f}"

    lines = [
        "| | pytorch/examples main.py | rnnbench run | ratio (ours / theirs) |",
        "|---|---|---|---|",
    ]
    for key, label in (
        ("test_ppl", "test perplexity"),
        ("wall_s", "wall time (s)"),
        ("cpu_s", "CPU time (s)"),
        ("rss_mib", "peak RSS (MiB)"),
    ):
        lines.append(
            f"| {label} | {spread('example', key)} | {spread('rnnbench', key)} | "
            f"{mean('rnnbench', key) / mean('example', key):.3f} |"
        )
    seeds = sorted({r["seed"] for r in rows})
    lines.append(
        f"\nseeds {seeds}; per seed (example, ours) test ppl: "
        + ", ".join(
            f"{s}: ({next(r['test_ppl'] for r in sides['example'] if r['seed'] == s):.2f}, "
            f"{next(r['test_ppl'] for r in sides['rnnbench'] if r['seed'] == s):.2f})"
            for s in seeds
            if any(r["seed"] == s for r in sides["rnnbench"])
        )
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("data", help="write train/valid/test.txt")
    d.add_argument("out", type=Path)
    p = sub.add_parser("pair", help="one seed of the example, then ours")
    p.add_argument("--example", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--side", choices=("both", "example", "rnnbench"), default="both")
    t = sub.add_parser("table", help="the side-by-side table of a pairs file")
    t.add_argument("pairs", type=Path)
    args = parser.parse_args()
    if args.command == "data":
        prepare_data(args.out)
    elif args.command == "pair":
        for side in ("example", "rnnbench"):
            if args.side not in ("both", side):
                continue
            row = (
                run_example(args.example, args.data, args.seed, args.epochs)
                if side == "example"
                else run_ours(args.data, args.seed, args.epochs)
            )
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    else:
        print(table(args.pairs))


if __name__ == "__main__":
    main()
