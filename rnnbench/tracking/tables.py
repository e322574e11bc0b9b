"""Plain tables for every report (leaderboards, horizon, expected-best curves)."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def text_table(
    header: Sequence[str],
    body: Sequence[Sequence[str]],
    indent: str = "",
    right: Sequence[int] = (),
) -> str:
    """Columns padded to their widest cell, two spaces apart; `right`: right-aligned
    column indices (numbers)."""
    rows = [list(header), *[[str(c) for c in row] for row in body]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(lines) + "\n"
