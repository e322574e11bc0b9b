"""Charts as PNG files: matplotlib without a display, one way of saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DPI = 110


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def log_axis(values: list[float]) -> bool:
    """True when positive values span more than two orders of magnitude (a log axis
    then shows every bar: a solved task's winner near zero beside the baseline)."""
    return bool(values) and min(values) > 0 and max(values) / min(values) > 100


def save(fig: Any, path: Path) -> Path:
    """Lay out, write `path` as PNG and free the figure; returns `path`."""
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
    return path
