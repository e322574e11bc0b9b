"""Reading local data files as tables: the format, the header and the columns.

Rules (the README's data section lists them):

- Format (`task.format=auto`): by extension (.csv, .tsv, .json/.jsonl, .parquet, .txt);
  a .txt file whose first non-blank lines all hold the same number (>= 1) of tabs is
  TSV (the `text<TAB>label` layout of Chinese-Text-Classification-Pytorch and others).
- Header (`task.header=auto`), decided from the first row against all other rows:
  a first-row cell that is a known column name (TEXT_COLUMNS, LABEL_COLUMNS) means a
  header. Otherwise every column votes: a column whose other values are all numbers
  votes "data" when its first value is a number too, else "header"; a column with
  few distinct values (at most half as many as rows, >= 4 rows) votes "data" when its
  first value is one of them, else "header". Unanimous votes decide; anything else is
  undecidable, and a file that cannot be decided takes the decision of the other
  files of the data set, or stops with one line naming task.header.
- Columns: named columns are matched case-insensitively against TEXT_COLUMNS and
  LABEL_COLUMNS; a two-column table with one of them identified takes the other
  column for the other role; header-less columns are named 0, 1, ... and a two-column
  header-less table is text, label (label, text when only the first column holds
  integers).

Every problem is a one-line DataError naming the file and, where there is one, the line.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rnnbench.contract.errors import DataError, reason

#: Values of task.format.
FORMAT_CHOICES = ("auto", "csv", "tsv", "jsonl", "parquet", "text")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "jsonl",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
    ".txt": "text",
}
TEXT_COLUMNS = (
    "sentence",
    "text",
    "review",
    "content",
    "document",
    "comment",
    "tweet",
    "body",
    "utterance",
    "sentence1",
    "question",
    "description",
)
LABEL_COLUMNS = (
    "label",
    "labels",
    "sentiment",
    "class",
    "category",
    "target",
    "class_index",
    "polarity",
    "topic",
    "intent",
    "emotion",
    "rating",
    "stars",
    "y",
)
_KNOWN_NAMES = frozenset(TEXT_COLUMNS + LABEL_COLUMNS)
_INTEGER = re.compile(r"[+-]?\d+")
_SNIFF_BYTES = 1 << 16


@dataclass
class Table:
    """One file's rows as columns.

    data:   column name -> values (str, int for all-integer CSV/TSV columns, None for
            an empty cell of such a column; JSON and Parquet keep their types).
    lines:  the physical 1-based line where each row starts (None: no lines, Parquet).
    header: whether the first row named the columns (None: not a delimited format).
    """

    path: Path
    fmt: str
    columns: list[str]
    data: dict[str, list]
    lines: list[int] | None = None
    header: bool | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.data[self.columns[0]]) if self.columns else 0

    def where(self, row: int) -> str:
        """'FILE line N' (or 'FILE row N') for a 0-based row index."""
        if self.lines is not None:
            return f"{self.path} line {self.lines[row]}"
        return f"{self.path} row {row + 1}"


# ------------------------------------------------------------------------ format
def file_format(path: Path, requested: str = "auto") -> str:
    """csv | tsv | jsonl | parquet | text, from task.format or the extension and content."""
    if requested != "auto":
        return requested
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(EXTENSIONS))
        raise DataError(
            f"{path}: unknown file type {path.suffix!r} (known: {known}; or set task.format)"
        )
    if fmt == "text" and _looks_tab_separated(path):
        return "tsv"
    return fmt


def _looks_tab_separated(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    lines = head.decode("utf-8-sig", errors="replace").splitlines()
    if len(head) == _SNIFF_BYTES:
        lines = lines[:-1]  # possibly cut in the middle
    tabs = {line.count("\t") for line in lines if line.strip()}
    return len(tabs) == 1 and min(tabs) >= 1


# ------------------------------------------------------------------------ reading
def read_table(
    path: Path,
    fmt: str,
    header: str = "auto",
    fallback_header: bool | None = None,
    delimiter: str = "auto",
) -> Table:
    """The file as a Table. header: auto | true | false (CSV and TSV only);
    fallback_header: the decision to take when `auto` cannot decide (None: error);
    delimiter: a CSV file's field separator (auto: detected)."""
    if fmt in ("csv", "tsv"):
        rows, lines = _records(path, fmt, delimiter)
        decided = detect_header(rows) if header == "auto" else None
        return _delimited(
            path, fmt, rows, lines, header, fallback_header if decided is None else decided
        )
    if fmt == "jsonl":
        return _read_json(path)
    if fmt == "parquet":
        return _read_parquet(path)
    text = path.read_text(encoding="utf-8-sig")
    return Table(path, "text", ["text"], {"text": [text]})


def read_tables(
    files: Mapping[str, Path], fmt: str = "auto", header: str = "auto", delimiter: str = "auto"
) -> dict[str, Table]:
    """Split name -> Table. An undecidable header takes the decision made for the
    other files (the training file's first)."""
    formats = {split: file_format(path, fmt) for split, path in files.items()}
    records = {
        split: _records(path, formats[split], delimiter)
        for split, path in files.items()
        if formats[split] in ("csv", "tsv")
    }
    decided = {
        split: detect_header(rows) for split, (rows, _) in records.items() if header == "auto"
    }
    fallback = next((d for d in decided.values() if d is not None), None)
    tables = {}
    for split, path in files.items():
        if split in records:
            own = decided.get(split)
            tables[split] = _delimited(
                path, formats[split], *records[split], header, fallback if own is None else own
            )
        else:
            tables[split] = read_table(path, formats[split])
    return tables


DELIMITERS = (",", ";", "|")  # what task.delimiter=auto considers for a .csv file


def detect_delimiter(path: Path) -> str:
    """',' unless the file's first lines split evenly (2+ fields, the same count on every
    line) on exactly one of ';' and '|' and not on ','."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    lines = [ln for ln in head.decode("utf-8-sig", errors="replace").splitlines() if ln.strip()]
    if len(head) == _SNIFF_BYTES:
        lines = lines[:-1]  # possibly cut in the middle
    even = []
    for sep in DELIMITERS:
        widths = {len(row) for row in csv.reader(lines, delimiter=sep)}
        if len(widths) == 1 and min(widths) >= 2:
            even.append(sep)
    return even[0] if len(even) == 1 else ","


def _records(path: Path, fmt: str, delimiter: str = "auto") -> tuple[list[list[str]], list[int]]:
    """Non-blank records of equal width and the line each starts on. TSV: quotes are text.
    delimiter: task.delimiter for CSV files (auto: detect_delimiter)."""
    csv.field_size_limit(2**31 - 1)
    rows: list[list[str]] = []
    lines: list[int] = []
    sep: str
    quoting: Literal[0, 1, 2, 3]
    if fmt == "tsv":
        sep, quoting = "\t", csv.QUOTE_NONE
    else:
        sep = detect_delimiter(path) if delimiter == "auto" else delimiter
        quoting = csv.QUOTE_MINIMAL
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep, quoting=quoting)
        start = 1
        try:
            for record in reader:
                if record and not (len(record) == 1 and not record[0].strip()):
                    rows.append(record)
                    lines.append(start)
                start = reader.line_num + 1
        except csv.Error as exc:
            raise DataError(f"{path} line {reader.line_num}: cannot parse ({exc})") from None
    if not rows:
        raise DataError(f"{path}: file is empty")
    width = len(rows[0])
    for row, line in zip(rows, lines, strict=True):
        if len(row) != width:
            raise DataError(f"{path} line {line}: expected {width} fields, saw {len(row)}")
    return rows, lines


def _delimited(
    path: Path, fmt: str, rows: list[list[str]], lines: list[int], header: str, decided: bool | None
) -> Table:
    """A Table from checked records; `decided`: the automatic header decision."""
    has_header = {"true": True, "false": False}.get(header, decided)
    if has_header is None:
        raise DataError(
            f"{path} line {lines[0]}: cannot tell whether the first row "
            f"({_preview(rows[0])}) is a header or data: set "
            "task.header=false if it is data, task.header=true if it names "
            "the columns"
        )
    if not has_header:
        columns = [str(i) for i in range(len(rows[0]))]
    else:
        columns = [name.strip() or str(i) for i, name in enumerate(rows[0])]
        for i, name in enumerate(columns):
            if name in columns[:i]:
                raise DataError(f"{path} line {lines[0]}: column name {name!r} appears twice")
        hint = "" if header == "true" else "; set task.header=false if it is data"
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise DataError(f"{path}: no data rows (only a header line{hint})")
    data = {name: _typed([row[j] for row in rows]) for j, name in enumerate(columns)}
    return Table(path, fmt, columns, data, lines, has_header)


def _typed(values: list[str]) -> list:
    """Integers when every non-empty cell is one (empty cells: None), else the strings."""
    filled = [v.strip() for v in values if v.strip()]
    if filled and all(_INTEGER.fullmatch(v) for v in filled):
        return [int(v) if v.strip() else None for v in values]
    return values


def _preview(row: Sequence[str]) -> str:
    cells = [c if len(c) <= 30 else c[:27] + "..." for c in row[:4]]
    return ", ".join(repr(c) for c in cells) + (", ..." if len(row) > 4 else "")


def detect_header(rows: Sequence[Sequence[str]]) -> bool | None:
    """True: the first row names the columns; False: it is data; None: undecidable
    (the rules are in this module's docstring)."""
    first = [cell.strip() for cell in rows[0]]
    if any(cell.lower() in _KNOWN_NAMES for cell in first):
        return True
    votes = set()
    for j, value in enumerate(first):
        others = [row[j].strip() for row in rows[1:] if row[j].strip()]
        if len(others) < 2:
            continue
        if all(is_number(v) for v in others):
            votes.add(not is_number(value))
            continue
        distinct = set(others)
        if len(others) >= 4 and len(distinct) <= len(others) // 2:
            votes.add(value not in distinct)
    return votes.pop() if len(votes) == 1 else None


def is_number(text: str) -> bool:
    """Whether `text` parses as a float (what a numeric cell or vector value looks like)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_json(path: Path) -> Table:
    """JSON lines (one object per non-blank line), or one JSON array of objects."""
    text = path.read_text(encoding="utf-8-sig")
    records: list[dict] = []
    lines: list[int] | None = []
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
        lines = None
        if not isinstance(records, list):
            raise DataError(f"{path}: expected a JSON array of objects")
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path} line {number}: not valid JSON ({exc.msg})") from None
            lines.append(number)  # type: ignore[union-attr]  # None only for an array
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            where = f"line {lines[i]}" if lines is not None else f"record {i + 1}"
            raise DataError(f"{path} {where}: expected a JSON object, got {type(record).__name__}")
    if not records:
        raise DataError(f"{path}: no data rows")
    columns = list(dict.fromkeys(key for record in records for key in record))
    data = {name: _uniform([record.get(name) for record in records]) for name in columns}
    return Table(path, "jsonl", columns, data, lines)


def _uniform(values: list) -> list:
    """One type per column, as Arrow needs: ints and floats become floats, anything
    else mixed becomes text (lists and objects as JSON)."""
    kinds = {type(v) for v in values if v is not None}
    if len(kinds) <= 1 and not kinds & {list, dict}:
        return values
    if kinds <= {int, float}:
        return [None if v is None else float(v) for v in values]
    return [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]


def _read_parquet(path: Path) -> Table:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        raise DataError(f"{path}: cannot read Parquet ({reason(exc)})") from None
    if table.num_rows == 0:
        raise DataError(f"{path}: no data rows")
    return Table(path, "parquet", list(table.column_names), table.to_pydict())
