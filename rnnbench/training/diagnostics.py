"""Gradient flow through time: ‖∂L/∂h_t‖ for t = 1..T during training.

Every `interval` training steps the current batch is run again through the model's
`forward_unrolled` (one graph node per step state h_t), the task's loss is
differentiated with respect to h_1..h_T (parameter gradients are untouched), and the
norms are recorded. A vanilla tanh RNN's norms decay roughly geometrically with the
distance to the loss; gated models keep them far flatter.

Logged: the metric `grad_flow_log10_ratio` = log10(‖∂L/∂h_1‖ / ‖∂L/∂h_T‖) per recorded
step, and artifacts `gradient_flow.json` (raw norms) and `gradient_flow.png` (heat map,
training step × time step, log colour scale).

Registered as the diagnostic `gradient-flow` by rnnbench.extensions, through the
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

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step != 1 and step % self.interval:
            return
        norms = gradient_flow(pl_module, batch)
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
        return [raw, heat_map(self.records, folder / "gradient_flow.png")]


def heat_map(records: list[dict[str, Any]], path: Path) -> Path:
    import numpy as np

    from rnnbench.tracking.figures import pyplot, save

    plt = pyplot()

    norms = np.array([[max(v, TINY) for v in r["norms"]] for r in records])  # (steps, T)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    image = ax.imshow(np.log10(norms), aspect="auto", origin="lower", cmap="viridis",
                      extent=(0.5, norms.shape[1] + 0.5, 0, len(records)))
    ax.set_yticks(np.arange(len(records)) + 0.5, [str(r["step"]) for r in records])
    ax.set_xlabel("time step t")
    ax.set_ylabel("training step")
    ax.set_title("log10 ‖∂L/∂h_t‖")
    fig.colorbar(image, ax=ax)
    return save(fig, path)

