"""Signals during `fit`/`test`: rnnbench's handler first, DDP ranks stopped by the kernel.

Lightning 2.6 installs its own SIGTERM handler right before every stage runs
(`_SignalConnector.register_signal_handlers`). That handler forwards the signal to the
DDP ranks and then calls `torch.distributed.broadcast` *inside the handler*: a
collective that blocks rank 0 for good when the other rank is mid-step, before the
handler rnnbench installed (which Lightning composes after its own) could run, so the
command neither stops nor starts its watchdog. `InterruptsFirst` puts back, at the start
of every stage, the handler that was in place at `setup` (rnnbench's: raise
`Interrupted`, then a watchdog), preceded by forwarding the signal to the ranks. (A
window remains between Lightning's registration and the first stage hook: its
"run-stage" barrier and the data set-up. A SIGTERM there still meets Lightning's handler;
the watchdog does not cover it.)

Re-launched ranks (`distributed.is_worker`) hold nothing to save: rank 0 owns the
MLflow run and the checkpoint. They take the default action on SIGINT and SIGTERM, so
that the kernel ends them at once even when they wait inside a collective; rank 0 then
sees its peer gone and reports the interruption.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)


def rank_default_actions() -> None:
    """In a re-launched DDP rank: the kernel's default action for SIGINT and SIGTERM."""
    if threading.current_thread() is threading.main_thread():
        for signum in HANDLED:
            signal.signal(signum, signal.SIG_DFL)


def interrupts_first():
    """The Lightning callback (built on call: Lightning loads only where a run needs it)."""
    from lightning.pytorch.callbacks import Callback

    from rnnbench.training.distributed import is_worker

    class InterruptsFirst(Callback):
        def __init__(self) -> None:
            self.handlers: dict[int, Any] = {}

        def setup(self, trainer, pl_module, stage: str) -> None:
            # before Lightning's registration: the handlers the command installed
            self.handlers = {signum: signal.getsignal(signum) for signum in HANDLED}

        def _reinstall(self, trainer) -> None:
            if threading.current_thread() is not threading.main_thread():
                return
            if is_worker():
                rank_default_actions()
                return
            launcher = trainer.strategy.launcher
            for signum, previous in self.handlers.items():
                if callable(previous):
                    signal.signal(signum, _forwarding(launcher, previous))

        def on_sanity_check_start(self, trainer, pl_module) -> None:
            self._reinstall(trainer)

        def on_train_start(self, trainer, pl_module) -> None:
            self._reinstall(trainer)

        def on_validation_start(self, trainer, pl_module) -> None:
            self._reinstall(trainer)

        def on_test_start(self, trainer, pl_module) -> None:
            self._reinstall(trainer)

        def on_predict_start(self, trainer, pl_module) -> None:
            self._reinstall(trainer)

    return InterruptsFirst()


def _forwarding(launcher: Any, handler: Any):
    """`handler`, after sending the signal on to the ranks `launcher` started (if any)."""

    def forward_then_handle(signum: int, frame: Any) -> None:
        kill = getattr(launcher, "kill", None)
        if kill is not None:
            kill(signum)
        handler(signum, frame)

    return forward_then_handle
