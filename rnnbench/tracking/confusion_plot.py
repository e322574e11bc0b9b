"""The confusion-matrix chart of a classification run (PNG, matplotlib on Agg)."""

from __future__ import annotations

from pathlib import Path

from rnnbench.tracking.figures import pyplot, save

#: Above this many classes the cells carry no numbers and the axes no names.
ANNOTATE_LIMIT = 20


def confusion_png(
    confusion: list[list[int]], names: list[str], path: Path, title: str = "confusion matrix (test)"
) -> Path:
    """Rows: true class, columns: predicted class; the colour is the share of the row
    (recall per cell), the number the count of test examples."""
    import numpy as np

    m = np.asarray(confusion, dtype=float)  # (C, C)
    rows = m.sum(1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    c = len(names)
    plt = pyplot()
    size = min(3.0 + 0.45 * c, 14.0)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if c <= ANNOTATE_LIMIT:
        ax.set_xticks(range(c), names, rotation=45, ha="right")
        ax.set_yticks(range(c), names)
        for i in range(c):
            for j in range(c):
                ax.text(
                    j,
                    i,
                    f"{int(m[i, j]):,}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if share[i, j] > 0.5 else "black",
                )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return save(fig, Path(path))
