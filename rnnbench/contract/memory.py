"""How much memory this machine has free, and a one-line refusal when a run would need
more: checked from shapes (the meta device, option values) before anything is allocated,
so an absurd size is a ConfigError, not an allocator crash or the kernel's OOM killer."""

from __future__ import annotations

import os

from rnnbench.contract.errors import ConfigError


def available_bytes() -> int | None:
    """Memory available to a new allocation (MemAvailable on Linux; free pages elsewhere),
    or None where the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_memory(needed: int, what: str) -> None:
    """Refuse when `needed` bytes (a lower bound of what `what` allocates) exceed the
    memory available now. `what` names the options, e.g. 'task.train_size=10**12 x
    task.seq_len=100'."""
    free = available_bytes()
    if free is not None and needed > free:
        raise ConfigError(f"{what}: needs at least {gib(needed)} of memory, {gib(free)} available")
