"""`workers: N` on one machine: N - 1 helper processes re-run the same sweep command on
the same storage (torch's threads are split between the processes).

A helper's stdout is discarded. Its progress lines (one per finished trial and final
seed, marked with PROGRESS_MARK on its stderr) are passed on to the lead's terminal as
they come; its other stderr lines are kept, so that a problem every process meets (an
unreachable storage, say) is printed once, by the lead, and a helper that fails is
reported with the last line it wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable

WORKER_ENV = "RNNBENCH_SWEEP_WORKER"  # set in a helper's environment
PROGRESS_MARK = "\x1eprogress\x1e "  # starts a helper's stderr line meant for the terminal
KEPT_LINES = 20  # other stderr lines kept per helper, for its failure report


def is_helper() -> bool:
    return bool(os.environ.get(WORKER_ENV))


def helper_report(line: str) -> None:
    """A helper's progress line, for the lead to pass on."""
    print(PROGRESS_MARK + line, file=sys.stderr, flush=True)


class Helpers:
    """`count` processes running `python -m rnnbench ARGV` beside this one."""

    def __init__(
        self, argv: list[str], count: int, report: Callable[[str], None] = lambda line: None
    ) -> None:
        env = {**os.environ, WORKER_ENV: "1"}
        self.report = report
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "rnnbench", *argv],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
            )
            for _ in range(count)
        ]
        self.kept: list[deque[str]] = [deque(maxlen=KEPT_LINES) for _ in self.procs]
        self.readers = [
            threading.Thread(target=self._read, args=(proc, kept), daemon=True)
            for proc, kept in zip(self.procs, self.kept, strict=True)
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, proc: subprocess.Popen, kept: deque[str]) -> None:
        assert proc.stderr is not None  # started with stderr=PIPE
        for line in proc.stderr:
            line = line.rstrip("\n")
            if line.startswith(PROGRESS_MARK):
                self.report(line[len(PROGRESS_MARK) :])
            elif line.strip():
                kept.append(line.strip())

    def wait(self) -> list[str]:
        """Wait for every helper; one line per helper that failed."""
        problems = []
        for index, (proc, reader, kept) in enumerate(
            zip(self.procs, self.readers, self.kept, strict=True), start=1
        ):
            proc.wait()
            reader.join(timeout=10)
            if proc.returncode != 0:
                problems.append(
                    f"worker {index} exited with code {proc.returncode}"
                    f"{': ' + kept[-1] if kept else ''}"
                )
        return problems

    def stop(self) -> None:
        """Terminate the helpers still running."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # ignored SIGTERM: stop it for good
                proc.kill()
                proc.wait()
