"""Which column is the text and which the label, and the class names of integer labels
(class.txt, classes.txt or labels.txt beside the data files)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rnnbench.contract.errors import DataError
from rnnbench.data.tabular import LABEL_COLUMNS, TEXT_COLUMNS

_SAID: set[str] = set()  # notes said in this process (a sweep's trials repeat them)


# ------------------------------------------------------------------------ columns
def _named(columns: Sequence[str], wanted: Sequence[str], exclude: str | None = None) -> str | None:
    lower = {c.lower(): c for c in reversed(columns) if c != exclude}
    return next((lower[w] for w in wanted if w in lower), None)


def pick_columns(
    columns: Sequence[str],
    header: bool | None,
    values: Callable[[str], list],
    text: str = "auto",
    label: str | None = "auto",
    where: str = "",
) -> tuple[str, str | None, str | None]:
    """(text column, label column, note) from the options (`auto`: detect).

    header: False for header-less CSV/TSV (columns 0, 1, ...). label=None: no label
    wanted (language modelling). values(column): a sample of the column's values.
    The note (or None) says what was chosen other than by name, for one line on stderr.
    """
    want_label = label is not None
    chosen_text = None if text == "auto" else text
    chosen_label = None if label in ("auto", None) else label
    for option, name in (("text_column", chosen_text), ("label_column", chosen_label)):
        if name is not None and name not in columns:
            raise DataError(
                f"{where}: no column {name!r} (task.{option}); columns: {', '.join(columns)}"
            )
    missing = chosen_text is None or (want_label and chosen_label is None)
    note = None
    if missing and header is False:
        order = list(columns)
        if len(order) == 2 and _all_int(values(order[0])) and not _all_int(values(order[1])):
            order.reverse()  # label<TAB>text
        if len(order) > 2 or (want_label and len(order) < 2):
            raise DataError(
                f"{where}: no header row and {len(order)} column(s) "
                f"({', '.join(columns)}): set task.text_column"
                f"{' and task.label_column' if want_label else ''}"
            )
        chosen_text = chosen_text or next(c for c in order if c != chosen_label)
        note = f"{where} has no header row: column {chosen_text} is the text"
        if want_label:
            chosen_label = chosen_label or next(c for c in order if c != chosen_text)
            note += f" and column {chosen_label} the label"
        note += f" (task.text_column{', task.label_column' if want_label else ''})"
    elif missing:
        chosen_text = chosen_text or _named(columns, TEXT_COLUMNS, exclude=chosen_label)
        if want_label:
            chosen_label = chosen_label or _named(columns, LABEL_COLUMNS, exclude=chosen_text)
        other_label = chosen_label or _named(columns, LABEL_COLUMNS, exclude=chosen_text)
        if len(columns) == 2 and chosen_text is None and other_label is not None:
            chosen_text = next(c for c in columns if c != other_label)
            note = f"{where}: taking column {chosen_text!r} as the text (task.text_column)"
        elif len(columns) == 2 and want_label and chosen_label is None and chosen_text:
            chosen_label = next(c for c in columns if c != chosen_text)
            note = f"{where}: taking column {chosen_label!r} as the label (task.label_column)"
    if chosen_text is None:
        raise DataError(
            f"{where}: no text column found (looked for {', '.join(TEXT_COLUMNS)}; "
            f"columns: {', '.join(columns)}); set task.text_column"
        )
    if want_label and chosen_label is None:
        raise DataError(
            f"{where}: no label column found (looked for "
            f"{', '.join(LABEL_COLUMNS)}; columns: {', '.join(columns)}); "
            "set task.label_column"
        )
    return chosen_text, chosen_label, note


def _all_int(values: list) -> bool:
    filled = [v for v in values if v is not None]
    return bool(filled) and all(isinstance(v, int) and not isinstance(v, bool) for v in filled)


def say_once(note: str) -> None:
    """One 'rnnbench: note: ...' line on stderr per process (a sweep's trials reuse
    the same prepared data and would repeat it)."""
    if note not in _SAID:
        _SAID.add(note)
        print(f"rnnbench: note: {note}", file=sys.stderr)


# ------------------------------------------------------------------- class names
CLASS_FILES = ("class.txt", "classes.txt", "labels.txt")


def class_names_file(folder: Path) -> Path | None:
    """class.txt, classes.txt or labels.txt in `folder` (one class name per line,
    line i naming integer label i - 1), or None."""
    found = [folder / name for name in CLASS_FILES if (folder / name).is_file()]
    if len(found) > 1:
        raise DataError(
            f"{folder}: both {found[0].name} and {found[1].name}; keep one class-name file"
        )
    return found[0] if found else None


def read_class_names(path: Path) -> list[str]:
    """The names in order; blank lines only at the end; no repeats."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 at byte {exc.start}") from None
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{path}: file is empty (expected one class name per line)")
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        name = line.strip()
        if not name:
            raise DataError(f"{path} line {number}: empty class name")
        if name in seen:
            raise DataError(f"{path} line {number}: class name {name!r} repeats line {seen[name]}")
        seen[name] = number
    return list(seen)
