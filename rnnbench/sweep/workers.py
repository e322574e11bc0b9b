"""`workers: N` on one machine: N - 1 helper processes re-run the same sweep command on
the same storage (torch's threads are split between the processes).

A helper's stdout is discarded and its stderr kept in a temporary file, so that a
problem every process meets (an unreachable storage, say) is printed once, by the lead;
a helper that fails is reported with the last line it wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

WORKER_ENV = "RNNBENCH_SWEEP_WORKER"  # set in a helper's environment


def is_helper() -> bool:
    return bool(os.environ.get(WORKER_ENV))


class Helpers:
    """`count` processes running `python -m rnnbench ARGV` beside this one."""

    def __init__(self, argv: list[str], count: int) -> None:
        env = {**os.environ, WORKER_ENV: "1"}
        self.logs = [tempfile.TemporaryFile("w+") for _ in range(count)]
        self.procs = [subprocess.Popen([sys.executable, "-m", "rnnbench", *argv], env=env,
                                       stdout=subprocess.DEVNULL, stderr=log)
                      for log in self.logs]

    def wait(self) -> list[str]:
        """Wait for every helper; one line per helper that failed."""
        problems = []
        for index, (proc, log) in enumerate(zip(self.procs, self.logs, strict=True), start=1):
            if proc.wait() != 0:
                log.seek(0)
                lines = [line.strip() for line in log if line.strip()]
                problems.append(f"worker {index} exited with code {proc.returncode}"
                                f"{': ' + lines[-1] if lines else ''}")
        return problems

    def stop(self) -> None:
        """Terminate the helpers still running and drop their logs."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc, log in zip(self.procs, self.logs, strict=True):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # ignored SIGTERM: stop it for good
                proc.kill()
                proc.wait()
            log.close()
