"""Gradient flow through time: ‖∂L/∂h_t‖ for t = 1..T during training.

Every `interval` training steps the current batch is run again through the model's
`forward_unrolled` (one graph node per step state h_t), the task's loss is
differentiated with respect to h_1..h_T (parameter gradients are untouched), and the
norms are recorded. A vanilla tanh RNN's norms decay roughly geometrically with the
distance to the loss; gated models keep them far flatter.

Logged: the metric `grad_flow_log10_ratio` = log10(‖∂L/∂h_1‖ / ‖∂L/∂h_T‖) per recorded
step, and artifacts `gradient_flow.json` (raw norms) and `gradient_flow.png` (heat map,
training step × time step, log colour scale, titled with the model's class).

Several runs compared on one scale: `comparison_heat_map({"rnn": records, ...}, path)`,
or from the command line, with the `gradient_flow.json` files of finished runs:

    python -m rnnbench.training.diagnostics rnn=RUN_DIR/diagnostics/gradient_flow.json \
        lstm=... gru=... --out gradient-flow.png

Registered as the diagnostic `gradient-flow` by rnnbench.training.builtin_diagnostics, through the
`rnnbench` entry-point group, exactly as a third-party diagnostic is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import Callback

TINY = 1e-30  # floor for logarithms of vanished gradients


def gradient_flow(system: Any, batch: Mapping[str, Any]) -> list[float]:
    """‖∂L/∂h_t‖ (Frobenius norm over the batch) for t = 1..T on one batch."""
    with torch.enable_grad():
        out, hidden = system.model.forward_unrolled(batch["inputs"], batch["lengths"])
        loss = system.loss_of(out, batch)
        grads = torch.autograd.grad(loss, hidden, allow_unused=True)
    return [0.0 if g is None else float(g.detach().norm()) for g in grads]


def log10_ratio(norms: list[float]) -> float:
    """log10(‖∂L/∂h_1‖ / ‖∂L/∂h_T‖); very negative when gradients vanish over time."""
    return math.log10(max(norms[0], TINY)) - math.log10(max(norms[-1], TINY))


class GradientFlowMonitor(Callback):
    """Records gradient flow every `interval` training steps (and at the first step)."""

    def __init__(self, interval: int = 50) -> None:
        self.interval = interval
        self.records: list[dict[str, Any]] = []
        self.model_name = ""  # the model's class, for the heat map's title

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step != 1 and step % self.interval:
            return
        norms = gradient_flow(pl_module, batch)
        self.model_name = type(pl_module.model).__name__
        ratio = log10_ratio(norms)
        self.records.append({"step": step, "norms": norms, "log10_ratio": ratio})
        if trainer.logger is not None:  # every record, not every log_every_n_steps
            trainer.logger.log_metrics({"grad_flow_log10_ratio": ratio}, step=step)

    def write(self, folder: Path) -> list[Path]:
        """gradient_flow.json and gradient_flow.png in `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        raw = folder / "gradient_flow.json"
        raw.write_text(json.dumps(self.records))
        if not self.records:
            return [raw]
        return [raw, heat_map(self.records, folder / "gradient_flow.png", self.model_name)]


def heat_map(records: list[dict[str, Any]], path: Path, name: str = "") -> Path:
    """One run's heat map: training step × time step, colour log10 ‖∂L/∂h_t‖."""
    return comparison_heat_map({name: records}, path)


def _log_norms(records: list[dict[str, Any]]):
    import numpy as np

    return np.log10(np.array([[max(v, TINY) for v in r["norms"]] for r in records]))  # (S, T)


def comparison_heat_map(series: Mapping[str, list[dict[str, Any]]], path: Path) -> Path:
    """Runs side by side, one panel per name, on ONE colour scale with one colour bar, so
    that the same colour is the same gradient norm in every panel."""
    from rnnbench.tracking.figures import DPI, pyplot

    plt = pyplot()
    logs = {name: _log_norms(records) for name, records in series.items()}
    low = min(float(v.min()) for v in logs.values())
    high = max(float(v.max()) for v in logs.values())
    fig, axes = plt.subplots(
        1,
        len(logs),
        figsize=(1 + 4.2 * len(logs), 3.6),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for ax, (name, log), records in zip(axes[0], logs.items(), series.values(), strict=True):
        image = ax.imshow(
            log,
            aspect="auto",
            origin="lower",
            cmap="viridis",
            vmin=low,
            vmax=high,
            extent=(0.5, log.shape[1] + 0.5, 0, log.shape[0]),
        )
        ax.set_yticks([i + 0.5 for i in range(len(records))], [str(r["step"]) for r in records])
        ax.set_xlabel("time step t (the loss is read at t = T)")
        ax.set_title(f"{name}: log10 ‖∂L/∂h_t‖" if name else "log10 ‖∂L/∂h_t‖")
    axes[0][0].set_ylabel("training step")
    fig.colorbar(image, ax=list(axes[0]), label="log10 ‖∂L/∂h_t‖ (one scale for all panels)")
    fig.savefig(path, dpi=DPI)  # constrained layout: not figures.save's tight_layout
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m rnnbench.training.diagnostics NAME=gradient_flow.json ... --out FILE`."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m rnnbench.training.diagnostics",
        description="draw runs' gradient_flow.json side by side on one colour scale",
    )
    parser.add_argument("runs", nargs="+", metavar="NAME=JSON")
    parser.add_argument("--out", required=True, type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    series = {}
    for item in args.runs:
        name, sep, file = item.partition("=")
        if not sep:
            parser.error(f"{item!r}: expected NAME=PATH of a gradient_flow.json")
        series[name] = json.loads(Path(file).read_text())
    print(comparison_heat_map(series, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
