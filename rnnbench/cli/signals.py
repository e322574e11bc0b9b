"""SIGINT and SIGTERM as a scheduler (Slurm, Kubernetes, systemd) and a person at a
terminal expect them: one line, exit 128 + the signal number, every tracked run that
this process started marked KILLED, and a second signal that stops at once.

Contract:
- The first SIGINT/SIGTERM raises `Interrupted` (rnnbench.contract.errors) wherever the
  main thread is. Lightning and Optuna let it pass (it is no KeyboardInterrupt); the
  runner marks its MLflow run KILLED, the trial slots mark their Optuna trial FAIL, and
  the CLI's `main` closes whatever is still open, prints `rnnbench: interrupted` (or
  `terminated`) and returns 130 (or 143).
- A second signal while that clean-up runs prints the same line and leaves at once
  (`os._exit`), with the same exit code; so does a watchdog GRACE_SECONDS after the
  first signal (a main thread blocked in C, e.g. a DDP collective, never sees it),
  after marking the open runs KILLED.
- During `fit`/`test` Lightning's own SIGTERM handler (which broadcasts inside the
  handler and can block rank 0 for good) is replaced by ours, preceded by forwarding the
  signal to the DDP ranks (rnnbench.training.interrupts); the ranks themselves take the
  kernel's default action.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from rnnbench.contract.errors import Interrupted

HANDLED = (signal.SIGINT, signal.SIGTERM)
GRACE_SECONDS = 30.0  # after the first signal, the clean-up's limit


class _State:
    received: int | None = None  # the first signal's number, once one arrived


def _handler(signum: int, frame: FrameType | None) -> None:
    if _State.received is not None:  # the second signal: stop now, clean-up or not
        os.write(2, f"rnnbench: {Interrupted(signum).word}\n".encode())
        os._exit(128 + _State.received)
    _State.received = Interrupted.pending = signum
    # A main thread blocked in C (a DDP collective whose peer is gone) never sees the
    # exception: after GRACE_SECONDS a watchdog closes the runs and leaves.
    watchdog = threading.Timer(GRACE_SECONDS, _leave_now, args=(signum,))
    watchdog.daemon = True
    watchdog.start()
    raise Interrupted(signum)


def _leave_now(signum: int) -> None:
    try:
        close_open_runs()
    finally:
        os.write(2, f"rnnbench: {Interrupted(signum).word}\n".encode())
        os._exit(128 + signum)


@contextmanager
def handled() -> Iterator[None]:
    """Our handlers while the block runs, the previous ones afterwards (a test or an
    application calling `main` in-process keeps its own). Main thread only: elsewhere
    Python refuses to install handlers, and the caller's stay."""
    _State.received = Interrupted.pending = None
    previous = {}
    try:
        for signum in HANDLED:
            previous[signum] = signal.signal(signum, _handler)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def received() -> int | None:
    """The number of the first signal received since `install`, or None."""
    return _State.received


def report(exc: Interrupted) -> int:
    """The one line for an interruption; returns the exit code."""
    print(f"rnnbench: {exc.word}", file=sys.stderr, flush=True)
    return exc.exit_code


def close_open_runs(status: str = "KILLED", reason: str | None = None) -> None:
    """End every tracked run this process started and did not end (a signal that arrived
    between creating a run and the `try` that would have ended it, a sweep's parent run):
    KILLED with the signal's name by default."""
    tracking = sys.modules.get("rnnbench.tracking.mlflow_tracker")
    if tracking is not None:
        signum = _State.received
        why = reason or (
            f"interrupted ({signal.Signals(signum).name})" if signum else "interrupted"
        )
        tracking.end_open_runs(status, why)
