"""Fixed-budget experiments: named configurations x lengths x seeds, each trained for the
same number of optimiser steps through the public runner (as `rnnbench horizon` does),
with every step's loss and gradient norm before clipping.

    python benchmarks/remedies.py results/reference/remedies.yaml [--out FOLDER]
        [--results-dir results] [--only LABEL ...]

The YAML file (all keys but `runs` optional):
    name: remedies                 # MLflow parent run "remedies-NAME"
    task: adding
    lengths: [100]                 # task.seq_len values (leave out: the task's own)
    seeds: 3                       # seeds 0..S-1 per (configuration, length)
    budget_steps: 600              # optimiser steps per run (no early stopping)
    task_options: {train_size: 4000}
    train: {lr: 0.001, clip_algorithm: norm, clip_value: 1.0}
    runs:                          # label -> model, its params, train overrides
      irnn: {model: rnn, params: {nonlinearity: relu, init: identity}}
      irnn-noclip: {model: rnn, params: {...}, train: {clip_algorithm: none}}
    compare_to: irnn               # optional: each label's difference from this one

Every value is checked (as `--set` would be) before anything is written. Outputs in
--out (default results/NAME): runs.csv (one row per run), summary.md (one row per
configuration and length; with compare_to, Welch's t-test of each label against it),
curves.json (per-step loss and gradient norm), curves.png and mse.png. The metric is
the task's main test metric (adding: test_mse). A run counts as diverged when its loss
turned NaN/inf or its test metric ends above the task's baseline; a gradient-norm spike is a step whose norm exceeds
10x the run's median.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import yaml
from lightning.pytorch.callbacks import Callback

from rnnbench.contract.errors import ConfigError, RnnbenchError
from rnnbench.contract.registry import get_registry
from rnnbench.training.config import build_run_config, resolve_tracking_uri
from rnnbench.training.setup import ensure_results_dir, quiet_libraries

KEYS = {
    "name",
    "task",
    "lengths",
    "seeds",
    "budget_steps",
    "task_options",
    "train",
    "runs",
    "compare_to",
}
RUN_KEYS = {"model", "params", "train"}
SPIKE = 10.0  # a spike: gradient norm above SPIKE x the run's median


class StepRecorder(Callback):
    """Every training step's loss and total gradient norm (L2, before clipping)."""

    def __init__(self) -> None:
        self.loss: list[float] = []
        self.grad_norm: list[float] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        grads = [p.grad for p in pl_module.parameters() if p.grad is not None]
        if not grads:  # the system skipped backward on a non-finite loss
            self.grad_norm.append(math.nan)
            return
        self.grad_norm.append(
            float(
                torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
            )
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        self.loss.append(math.nan if loss is None else float(loss))


def load(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), dict) or not data["runs"]:
        raise ConfigError(f"{path}: expected a mapping with a non-empty 'runs' mapping")
    for key in data:
        if key not in KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(KEYS))})")
    for label, run in data["runs"].items():
        if not isinstance(run, dict) or "model" not in run or set(run) - RUN_KEYS:
            raise ConfigError(f"{path}: runs.{label}: expected {{model, params, train}}")
    return data


def plan(path: Path, data: dict, registry, results_dir: Path, only: list[str] | None):
    """[(label, length, seed, RunConfig)], all validated; nothing written."""
    task = data.get("task", "adding")
    lengths, seeds = data.get("lengths", [None]), int(data.get("seeds", 3))
    budget = int(data.get("budget_steps", 500))
    if budget < 1 or seeds < 1 or not lengths:
        raise ConfigError(f"{path}: budget_steps and seeds must be >= 1, lengths non-empty")
    labels = [label for label in data["runs"] if not only or label in only]
    if only and set(only) - set(labels):
        raise ConfigError(f"--only: no run labelled {', '.join(sorted(set(only) - set(labels)))}")
    runs = []
    for label in labels:
        run = data["runs"][label]
        sets = {
            "model": dict(run.get("params") or {}),
            "task": dict(data.get("task_options") or {}),
            "train": {"progress": False, **(data.get("train") or {}), **(run.get("train") or {})},
        }
        base = build_run_config(
            registry,
            run["model"],
            task,
            sets,
            source=f"{path} runs.{label}",
            results_dir=results_dir,
            experiment="rnnbench-remedies",
        )
        for length in lengths:
            for seed in range(seeds):
                runs.append(
                    (label, length, seed, budget_config(base, length, seed, budget, results_dir))
                )
    return runs


def budget_config(base, length: int | None, seed: int, budget: int, results_dir: Path):
    """The run for one (configuration, length, seed): exactly `budget` optimiser steps
    (no early stopping), task.seq_len = length unless None."""
    from rnnbench.training.config import RunConfig

    task_options = {**base.task_options, **({"seq_len": length} if length else {})}
    train = {
        **base.train,
        "seed": seed,
        "max_steps": budget,
        "max_epochs": 10_000,
        "patience": 10_000,
    }
    return RunConfig(
        model=base.model,
        task=base.task,
        model_params=dict(base.model_params),
        task_options=task_options,
        train=train,
        results_dir=results_dir,
        experiment=base.experiment,
    )


def compare(rows: list[dict], reference: str) -> str:
    """Each label's mean difference from `reference` with Welch's t-test (two-sided)."""
    from scipy import stats

    def values(label):
        return [
            r["test_metric"]
            for r in rows
            if r["label"] == label and math.isfinite(r["test_metric"])
        ]

    ref = values(reference)
    lines = [
        f"| configuration | {rows[0]['metric']} mean ± std | difference from {reference} "
        "| Welch t | p |",
        "|---|---|---|---|---|",
    ]
    for label in dict.fromkeys(r["label"] for r in rows):
        mine = values(label)
        if len(mine) < 2 or len(ref) < 2:
            continue
        diff = statistics.fmean(mine) - statistics.fmean(ref)
        test = stats.ttest_ind(mine, ref, equal_var=False) if label != reference else None
        lines.append(
            f"| {label} | {statistics.fmean(mine):.4f} ± {statistics.stdev(mine):.4f} | "
            f"{diff:+.4f} | {'' if test is None else f'{test.statistic:.2f}'} | "
            f"{'' if test is None else f'{test.pvalue:.3f}'} |"
        )
    return "\n".join(lines) + "\n"


def flow_ratios(tracking_uri: str, run_id: str) -> tuple[float | None, float | None]:
    """The first and last logged grad_flow_log10_ratio of a run (None without them)."""
    from mlflow.tracking import MlflowClient

    history = sorted(
        MlflowClient(tracking_uri).get_metric_history(run_id, "grad_flow_log10_ratio"),
        key=lambda m: m.step,
    )
    return (history[0].value, history[-1].value) if history else (None, None)


def spikes(norms: list[float]) -> int:
    finite = [n for n in norms if math.isfinite(n)]
    if not finite:
        return 0
    median = statistics.median(finite)
    return sum(1 for n in norms if not math.isfinite(n) or n > SPIKE * median)


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for key in dict.fromkeys((r["label"], r["length"]) for r in rows):
        mine = [r for r in rows if (r["label"], r["length"]) == key]
        mse = [r["test_metric"] for r in mine if math.isfinite(r["test_metric"])]  # finite
        starts = [r["flow_start"] for r in mine if r["flow_start"] is not None]
        ends = [r["flow_end"] for r in mine if r["flow_end"] is not None]
        out.append(
            {
                "label": key[0],
                "length": key[1],
                "model": mine[0]["model"],
                "solved": sum(r["solved"] for r in mine),
                "diverged": sum(r["diverged"] for r in mine),
                "nonfinite": sum(r["nonfinite"] for r in mine),
                "runs": len(mine),
                "mse_mean": statistics.fmean(mse) if mse else math.nan,
                "mse_std": statistics.stdev(mse) if len(mse) > 1 else 0.0,
                "grad_max": max(r["grad_max"] for r in mine),
                "spikes": sum(r["spikes"] for r in mine),
                "flow_start": statistics.fmean(starts) if starts else None,
                "flow_end": statistics.fmean(ends) if ends else None,
                "wall_mean": statistics.fmean(r["wall_seconds"] for r in mine),
            }
        )
    return out


def markdown(summary: list[dict], baseline: float | None, metric: str) -> str:
    def flow(v):
        return "" if v is None else f"{v:+.2f}"

    lines = [
        "| configuration | model | T | solved | diverged (NaN/inf or above baseline) | "
        "of which NaN/inf | "
        f"{metric} mean ± std | max grad norm | spikes | log10 flow start → end | "
        "wall s/run |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        lines.append(
            f"| {s['label']} | {s['model']} | {s['length'] or '-'} | {s['solved']}/{s['runs']} | "
            f"{s['diverged']}/{s['runs']} | {s['nonfinite']} | "
            f"{s['mse_mean']:.4f} ± {s['mse_std']:.4f} | "
            f"{s['grad_max']:.3g} | {s['spikes']} | {flow(s['flow_start'])} → "
            f"{flow(s['flow_end'])} | {s['wall_mean']:.1f} |"
        )
    if baseline is not None:
        lines += ["", f"Baseline (the task's trivial predictor): {metric} {baseline:.4f}."]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], curves: dict, baseline: float | None, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(r["label"] for r in rows))
    colours = {label: plt.cm.tab10(k % 10) for k, label in enumerate(labels)}
    fig, (loss_ax, grad_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for r in rows:
        curve = curves[r["key"]]
        first = r["seed"] == 0
        loss_ax.plot(
            curve["loss"],
            color=colours[r["label"]],
            lw=0.8,
            alpha=0.8,
            label=f"{r['label']} T={r['length'] or '-'}" if first else None,
        )
        grad_ax.plot(curve["grad_norm"], color=colours[r["label"]], lw=0.6, alpha=0.8)
    if baseline is not None:
        loss_ax.axhline(baseline, color="k", ls="--", lw=0.8, label="baseline")
    for ax, title in ((loss_ax, "training loss"), (grad_ax, "gradient norm before clipping")):
        ax.set_yscale("log")
        ax.set_xlabel("optimiser step")
        ax.set_title(title)
    loss_ax.legend(fontsize=7)
    fig.tight_layout()
    curves_png = out / "curves.png"
    fig.savefig(curves_png, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(labels) + 2), 3.8))
    for k, label in enumerate(labels):
        values = [r["test_metric"] for r in rows if r["label"] == label]
        shown = [v if math.isfinite(v) else 10.0 for v in values]  # NaN drawn at the top
        ax.scatter([k] * len(shown), shown, color=colours[label], zorder=3)
    if baseline is not None:
        ax.axhline(baseline, color="k", ls="--", lw=0.8, label="baseline")
    if rows[0]["metric"] == "test_mse":  # the adding problem's criterion
        ax.axhline(0.01, color="g", ls=":", lw=0.8, label="solved (0.01)")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel(f"{rows[0]['metric']} (each seed)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    mse_png = out / "mse.png"
    fig.savefig(mse_png, dpi=110)
    plt.close(fig)
    return [curves_png, mse_png]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, help="output folder (default results/NAME)")
    parser.add_argument(
        "--results-dir", type=Path, default=Path("results"), help="MLflow database and run folders"
    )
    parser.add_argument("--only", nargs="+", metavar="LABEL", help="run only these labels")
    parser.add_argument(
        "--replot",
        type=float,
        metavar="BASELINE",
        help="only rebuild summary.md and the charts from --out's runs.csv "
        "and curves.json, with this baseline",
    )
    args = parser.parse_args(argv)
    try:
        if args.replot is not None:
            out = args.out or args.results_dir / args.config.stem
            rows, curves = read_runs(out)
            report(
                out,
                rows,
                curves,
                args.replot,
                "Rebuilt from runs.csv (--replot).",
                load(args.config).get("compare_to"),
            )
            return 0
        return run(args)
    except RnnbenchError as exc:
        print(f"remedies: error: {exc}", file=sys.stderr)
        return exc.exit_code


def run(args: argparse.Namespace) -> int:
    from rnnbench.tracking.mlflow_tracker import MlflowTracker
    from rnnbench.training.runner import execute, prepare

    quiet_libraries()
    registry = get_registry()
    data = load(args.config)
    name = str(data.get("name", args.config.stem))
    runs = plan(args.config, data, registry, args.results_dir, args.only)
    metric = f"test_{registry.task(data.get('task', 'adding')).main_metric}"
    compare_to = data.get("compare_to")
    if compare_to is not None and compare_to not in data["runs"]:
        raise ConfigError(f"{args.config}: compare_to: no run labelled {compare_to!r}")
    out = args.out or args.results_dir / name
    results_dir = ensure_results_dir(args.results_dir)
    tracking_uri = resolve_tracking_uri(None, results_dir)
    tracker = MlflowTracker(
        tracking_uri, "rnnbench-remedies", artifact_root=results_dir / "mlartifacts"
    )
    parent = tracker.start_run(
        f"remedies-{name}",
        {"rnnbench.role": "remedies"},
        {"remedies.config": str(args.config), "remedies.runs": len(runs)},
    )
    rows, curves, baseline = [], {}, None
    started = time.perf_counter()
    try:
        for label, length, seed, config in runs:
            print(f"{label} T={length} seed {seed}", file=sys.stderr, flush=True)
            recorder = StepRecorder()
            clock = time.perf_counter()
            result = execute(
                prepare(config, registry),
                registry,
                tracker,
                run_name=f"{label}-T{length}-seed{seed}",
                parent_run_id=parent,
                keep_checkpoints=False,
                callbacks=[recorder],
                extra_tags={"rnnbench.phase": "remedies", "rnnbench.label": label},
            )
            wall = time.perf_counter() - clock
            baseline = result.baseline
            mse = result.metrics.get(metric, math.nan)
            diverged = (
                bool(result.diverged)
                or not math.isfinite(mse)
                or (baseline is not None and mse > baseline)
            )
            start, end = flow_ratios(tracking_uri, result.mlflow_run_id)
            key = f"{label}/T{length}/seed{seed}"
            curves[key] = {"loss": recorder.loss, "grad_norm": recorder.grad_norm}
            finite = [g for g in recorder.grad_norm if math.isfinite(g)]
            rows.append(
                {
                    "key": key,
                    "label": label,
                    "model": config.model,
                    "length": length,
                    "seed": seed,
                    "metric": metric,
                    "test_metric": mse,
                    "solved": bool(result.solved),
                    "diverged": diverged,
                    "nonfinite": bool(result.diverged) or not math.isfinite(mse),
                    "grad_max": max(finite) if finite else math.nan,
                    "spikes": spikes(recorder.grad_norm),
                    "flow_start": start,
                    "flow_end": end,
                    "wall_seconds": wall,
                    "steps": len(recorder.loss),
                    "mlflow_run_id": result.mlflow_run_id,
                }
            )
            write_runs(out, rows, curves)  # after every run: a stopped study keeps its rows
    except BaseException:
        tracker.end_run(parent, "KILLED")
        raise
    total = time.perf_counter() - started
    files = report(
        out,
        rows,
        curves,
        baseline,
        f"Total wall time {total:.0f} s for {len(rows)} runs.",
        compare_to,
    )
    for path in files:
        tracker.log_artifact(parent, path)
    tracker.end_run(parent, "FINISHED")
    print(f"written: {', '.join(str(f) for f in files)}")
    return 0


def write_runs(out: Path, rows: list[dict], curves: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "runs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    rounded = {
        key: {name: [float(f"{v:.4g}") for v in values] for name, values in curve.items()}
        for key, curve in curves.items()
    }  # 4 significant digits: a tenth of the size
    (out / "curves.json").write_text(json.dumps(rounded, separators=(",", ":")))


def read_runs(out: Path) -> tuple[list[dict], dict]:
    """runs.csv and curves.json back as rows and curves (for --replot)."""

    def value(key: str, text: str):
        if key in ("solved", "diverged", "nonfinite"):
            return text == "True"
        if key in ("seed", "spikes", "steps") or (key == "length" and text):
            return int(text)
        if key in ("test_metric", "grad_max", "wall_seconds", "flow_start", "flow_end"):
            return float(text) if text else None
        return text

    with (out / "runs.csv").open() as fh:  # files before `metric` hold test_mse
        rows = [
            {
                ("test_metric" if k == "test_mse" else k): value(
                    "test_metric" if k == "test_mse" else k, v
                )
                for k, v in row.items()
            }
            for row in csv.DictReader(fh)
        ]
    curves = json.loads((out / "curves.json").read_text())
    for r in rows:
        r.setdefault("key", f"{r['label']}/T{r['length']}/seed{r['seed']}")
        r.setdefault("metric", "test_mse")
        if "nonfinite" not in r:  # files written before the column existed
            r["nonfinite"] = not math.isfinite(r["test_metric"]) or not all(
                math.isfinite(v) for v in curves[r["key"]]["loss"]
            )
    return rows, curves


def report(
    out: Path,
    rows: list[dict],
    curves: dict,
    baseline: float | None,
    note: str,
    compare_to: str | None = None,
) -> list[Path]:
    text = markdown(summarise(rows), baseline, rows[0]["metric"]) + f"\n{note}\n"
    if compare_to:
        text += "\n" + compare(rows, compare_to)
    (out / "summary.md").write_text(text)
    print(text, end="")
    return [out / "runs.csv", out / "summary.md", *plot(rows, curves, baseline, out)]


if __name__ == "__main__":
    sys.exit(main())
