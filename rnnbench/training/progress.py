"""Plain progress lines for runs without a progress bar (`--json`, sweeps, CI logs).

One line when training starts (model, task, parameters, the budget) and one after
every validation: epoch, optimiser step, the monitored metric and the best so far,
training throughput and elapsed time. Lines go to a stream (stderr by default), so
stdout keeps only the result.
"""

from __future__ import annotations

import math
import sys
import time
from typing import IO, Any

from lightning.pytorch.callbacks import Callback


def clock(seconds: float) -> str:
    """mm:ss, or h:mm:ss past an hour."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class ProgressLines(Callback):
    def __init__(self, label: str, monitor: str, mode: str, stream: IO[str] | None = None):
        self.label = label  # e.g. "lstm on adding"
        self.monitor = monitor
        self.mode = mode
        self.stream = stream or sys.stderr
        self.best: float | None = None
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        print(f"{self.label}: {text}", file=self.stream, flush=True)

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self.started = time.monotonic()
        n_params = sum(p.numel() for p in pl_module.parameters() if p.requires_grad)
        budget = [
            f"{trainer.max_epochs} epochs" if trainer.max_epochs else "",
            f"{trainer.max_steps:,} steps" if trainer.max_steps and trainer.max_steps > 0 else "",
        ]
        self.say(
            f"training {n_params:,} parameters, up to "
            f"{' or '.join(b for b in budget if b) or 'no limit'}"
        )

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return  # the final validate()/test() passes are reported by the result
        value = trainer.callback_metrics.get(self.monitor)
        value = float(value) if value is not None else math.nan
        if math.isfinite(value) and (
            self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        ):
            self.best = value
        best = f" (best {self.best:.4f})" if self.best is not None else ""
        rate = getattr(pl_module, "throughput", None)
        unit = getattr(getattr(pl_module, "task", None), "throughput_unit", "samples")
        speed = f", {rate:,.0f} {unit}/s" if isinstance(rate, float) and rate > 0 else ""
        self.say(
            f"epoch {trainer.current_epoch + 1}, step {trainer.global_step:,}: "
            f"{self.monitor} {value:.4f}{best}{speed}, "
            f"elapsed {clock(time.monotonic() - self.started)}"
        )
