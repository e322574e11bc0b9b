"""Pictures for two lesson pages, drawn from finished runs (their best checkpoints):

    python docs/figures/lesson_figures.py waveform --out FILE NAME=RESULTS_DIR ...
        1-vs-N: target and predicted waveforms of a few test-seed examples, one panel per
        example, one line per run (docs/lessons/one-to-many.md);
    python docs/figures/lesson_figures.py attention --out FILE RESULTS_DIR
        N-vs-M: the attention weights α_tj of a seq2seq-attn run on one test-seed example,
        output step t against source position j (docs/lessons/seq2seq.md).

Each RESULTS_DIR is the --results-dir of one `rnnbench run` (its single run is used).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rnnbench.contract.registry import get_registry
from rnnbench.taskkit import TEST_SEED
from rnnbench.tracking.figures import pyplot, save
from rnnbench.training.restore import restore_run

EXAMPLES = 4  # waveforms drawn


def only_run(results_dir: Path):
    folder = results_dir / "runs"
    runs = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if len(runs) != 1:
        raise SystemExit(f"{results_dir}: expected one run under runs/, found {len(runs)}")
    return restore_run(results_dir, runs[0], get_registry())


def waveform(runs: dict[str, Path], out: Path) -> Path:
    plt = pyplot()
    predictions, batch = {}, None
    for name, folder in runs.items():
        prepared = only_run(folder).prepared
        batch = prepared.task.generate(EXAMPLES, TEST_SEED)  # the same examples for every run
        with torch.no_grad():
            prediction, _ = prepared.system.eval()(batch["inputs"], batch["lengths"])
        predictions[name] = prediction.reshape(EXAMPLES, -1)  # (N, T)
    fig, axes = plt.subplots(1, EXAMPLES, figsize=(3.2 * EXAMPLES, 2.8), sharey=True)
    for i, ax in enumerate(axes):
        ax.plot(batch["target"][i], color="black", linewidth=2.5, alpha=0.35, label="target")
        for name, values in predictions.items():
            ax.plot(values[i], linewidth=1.2, label=name)
        ax.set_xlabel("time step t")
        ax.set_title(f"test waveform {i + 1}")
    axes[0].set_ylabel("y_t")
    axes[-1].legend(loc="lower right", fontsize=8)
    return save(fig, out)


def attention(folder: Path, out: Path) -> Path:
    plt = pyplot()
    prepared = only_run(folder).prepared
    model, target = prepared.system.model.eval(), prepared.task.context().target
    example = prepared.task.generate(1, TEST_SEED)
    source, n = example["inputs"], int(example["target_lengths"][0])  # (1, S); y_1..y_n EOS
    bos = torch.full((1, 1), target.bos_id, dtype=torch.long)
    decoder_inputs = torch.cat([bos, example["target"][:, : n - 1]], dim=1)  # BOS y_1..y_{n-1}
    rows = []
    hook = model.attend.register_forward_hook(
        lambda module, args, output: rows.append(module.weights(args[0], args[1], args[3])[0, 0])
    )
    with torch.no_grad():
        model(
            source,
            example["lengths"],
            decoder_inputs=decoder_inputs,
            decoder_lengths=torch.tensor([n]),
        )
    hook.remove()
    alpha = torch.stack(rows)[:, : int(example["lengths"][0])]  # (n, S)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    image = ax.imshow(alpha, cmap="viridis", vmin=0, vmax=1)
    src = [str(int(v)) for v in source[0, : alpha.shape[1]]]
    out_tokens = [
        str(int(v)) if int(v) != target.eos_id else "EOS" for v in example["target"][0, :n]
    ]
    ax.set_xticks(range(len(src)), src)
    ax.set_yticks(range(len(out_tokens)), out_tokens)
    ax.set_xlabel("source symbol (position j)")
    ax.set_ylabel("output symbol (step t)")
    ax.set_title("attention α_tj, reverse task")
    fig.colorbar(image, ax=ax)
    return save(fig, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="figure", required=True)
    wave = sub.add_parser("waveform")
    wave.add_argument("runs", nargs="+", metavar="NAME=RESULTS_DIR")
    wave.add_argument("--out", type=Path, required=True)
    attend = sub.add_parser("attention")
    attend.add_argument("results_dir", type=Path)
    attend.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.figure == "waveform":
        runs = dict(item.split("=", 1) for item in args.runs)
        print(waveform({k: Path(v) for k, v in runs.items()}, args.out))
    else:
        print(attention(args.results_dir, args.out))


if __name__ == "__main__":
    main()
