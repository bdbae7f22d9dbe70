"""Reading what a user uploads: CSV time series, text for the character model, saved runs.

Pure functions on ``bytes`` (no Streamlit, nothing written to disk, nothing unpickled): the app
hands over the uploaded bytes and gets back data a task accepts, or a :class:`RnnvizError` whose
message states the rule and the value (``"a CSV file has at most 100,000 rows, got 250,001"``).
The file's *name* is only ever shown, never used as a path.

- :func:`parse_csv` -> :class:`CSVTable` (column names, which columns are usable, why not);
  :func:`select_columns` -> ``(R, C) float64`` for ``CSVTask`` (``data=``).
- :func:`decode_text` -> ``str`` for ``CharLMTask`` (UTF-8 / UTF-16 with BOM; size and alphabet limits).
- :func:`read_run` -> ``RunHistory`` via :func:`rnnviz.io.load_run`, checked to be browsable;
  :func:`read_runs` -> the run and its branches (``rnnviz.io.load_runs``).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

import numpy as np

from rnnviz.errors import must as _error

#: Upload cap, the same as ``server.maxUploadSize`` in .streamlit/config.toml (Streamlit enforces it
#: in the browser and on the server; these functions enforce it again for direct callers).
MAX_UPLOAD_MB = 5
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 2**20
MAX_CSV_ROWS = 100_000  # a series longer than this trains no better in a class demo, only slower
MAX_CSV_FILE_COLUMNS = 256  # columns in the file (the task itself takes at most MAX_CSV_COLUMNS)
MAX_CSV_COLUMNS = 32  # = rnnviz.tasks.CSVTask.max_columns
MIN_CSV_ROWS = 3  # one input, one target, and something to learn from
MAX_TEXT_CHARS = 1_000_000
MIN_TEXT_CHARS = 20
MAX_TEXT_VOCAB = 256  # = rnnviz.tasks.CharLMTask.max_vocab
_DELIMITERS = ",;\t|"


def _check_size(data: bytes, what: str, max_bytes: int) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _error(what, "be the uploaded bytes", type(data).__name__)
    data = bytes(data)
    if not data:
        raise _error(what, "not be empty", "0 bytes")
    if len(data) > max_bytes:
        raise _error(what, f"be at most {max_bytes / 2**20:g} MB", f"{len(data):,} bytes ({len(data) / 2**20:.2f} MB)")
    return data


def _decode(data: bytes, what: str) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; binary files and other encodings refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise _error(what, "be valid UTF-16 text (it starts with a UTF-16 mark)",
                         f"a broken character at byte {e.start}") from None
    if b"\x00" in data[:8192]:
        raise _error(what, "be plain text, not a binary file", "binary data (a NUL byte at position "
                     f"{data.index(0)})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _error(what, "be UTF-8 text (save it as UTF-8 and upload again)",
                     f"byte 0x{data[e.start]:02x} at position {e.start}, which is not UTF-8") from None


# ------------------------------------------------------------------------------------------ CSV
@dataclass(frozen=True)
class CSVTable:
    """A parsed CSV file: ``names`` of all columns (file order), ``rows`` (data rows, header excluded),
    ``values[name]`` (R,) float64 for the usable columns, ``problems[name]`` why a column is not."""

    names: tuple[str, ...]
    rows: int
    values: dict[str, np.ndarray] = field(repr=False)
    problems: dict[str, str]
    header: bool
    delimiter: str

    @property
    def usable(self) -> list[str]:
        """Columns that are numeric, complete, finite and not constant (in file order)."""
        return [n for n in self.names if n in self.values]

    def summary(self) -> str:
        return (f"{self.rows:,} rows × {len(self.names)} columns "
                f"({len(self.usable)} usable as a time series)")


def _number(cell: str) -> float | None:
    try:
        return float(cell.strip().replace("_", "x"))  # no "1_000" (float() would accept it)
    except ValueError:
        return None


def _sniff(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    counts = {d: sample.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _read_rows(text: str, delimiter: str, max_rows: int, max_columns: int) -> list[list[str]]:
    """The non-blank rows, cells stripped; at most a header + ``max_rows`` rows of ``max_columns``."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        rows: list[list[str]] = []
        for row in reader:
            if not any(c.strip() for c in row):
                continue  # blank line
            if len(rows) > max_rows:  # header + max_rows data rows already read
                raise _error("a CSV file", f"have at most {max_rows:,} rows (too long)", f"more than {max_rows:,}")
            if len(row) > max_columns:
                raise _error("a CSV file", f"have at most {max_columns} columns (too wide)", len(row))
            rows.append([c.strip() for c in row])
    except csv.Error as e:
        raise _error("the CSV file", "be well-formed CSV", f"a parse error at line {reader.line_num}: {e}") from None
    return rows


def _check_body(body: list[list[str]], width: int, header: bool, max_rows: int) -> None:
    """Data rows exist, are at most ``max_rows`` and each has the first row's ``width``."""
    if not body:
        raise _error("a CSV file", "have data rows below the header", "a header only")
    if len(body) > max_rows:
        raise _error("a CSV file", f"have at most {max_rows:,} rows (too long)", f"{len(body):,}")
    for i, row in enumerate(body):
        if len(row) != width:
            line = i + (2 if header else 1)
            raise _error("every CSV row", f"have the {width} columns of the first row",
                         f"{len(row)} in data row {line} (blank lines skipped)")


def _column(body: list[list[str]], j: int) -> tuple[np.ndarray, str | None]:
    """Column ``j`` as float64 and, when it is unusable, why (the first bad row, or its spread)."""
    col = np.empty(len(body), dtype=np.float64)
    for i, row in enumerate(body):
        cell = row[j]
        v = _number(cell) if cell else None
        if not cell:
            return col, f"missing value in row {i + 1}"
        if v is None:
            return col, f"not a number: {cell[:20]!r} in row {i + 1}"
        if not math.isfinite(v):
            return col, f"not finite: {cell[:20]!r} in row {i + 1}"
        col[i] = v
    return col, _spread_problem(col)


def parse_csv(data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_rows: int = MAX_CSV_ROWS,
              max_columns: int = MAX_CSV_FILE_COLUMNS) -> CSVTable:
    """Parse an uploaded CSV time series (rows = time steps).

    The delimiter is guessed among ``, ; tab |``; a first row with any non-numeric cell is the
    header (else the columns are named ``column 1..C``). Each column is usable when every cell is a
    finite number and it is not constant; otherwise ``problems[name]`` says why (first bad row).
    Raises RnnvizError for a file that is empty, too large, not text, ragged, too long or too wide,
    or has no data rows.
    """
    data = _check_size(data, "the CSV file", max_bytes)
    text = _decode(data, "the CSV file")
    if not text.strip():
        raise _error("the CSV file", "contain numbers", "only whitespace")
    delimiter = _sniff(text)
    rows = _read_rows(text, delimiter, max_rows, max_columns)
    first = rows[0]
    header = any(_number(c) is None for c in first)
    body = rows[1:] if header else rows
    width = len(first)
    names = _names(first) if header else tuple(f"column {j + 1}" for j in range(width))
    _check_body(body, width, header, max_rows)
    values: dict[str, np.ndarray] = {}
    problems: dict[str, str] = {}
    for j, name in enumerate(names):
        col, problem = _column(body, j)
        if problem:
            problems[name] = problem
        else:
            values[name] = col
    return CSVTable(names=names, rows=len(body), values=values, problems=problems, header=header,
                    delimiter=delimiter)


def _spread_problem(col: np.ndarray) -> str | None:
    """Why a finite column cannot be normalized as CSVTask does (``z = (x - mean) / std``, usable when
    ``std > 1e-12 * max(1, |mean|)``), in words that say which way it fails; None when it can."""
    lo, hi = float(col.min()), float(col.max())
    if lo == hi:
        return f"constant at {lo:g} (it carries no signal and cannot be normalized)"
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(col.mean()), float(col.std())
        spread = hi - lo
    if not (math.isfinite(mean) and math.isfinite(std) and math.isfinite(spread)):
        return (f"values overflow when normalized (they reach {max(abs(lo), abs(hi)):.3g}; float64 "
                f"arithmetic overflows near 1e+154 squared): rescale the column")
    if not std > 1e-12 * max(1.0, abs(mean)):
        return (f"range too small to learn ({spread:.3g}, from {lo:.6g} to {hi:.6g}; it must vary by more than "
                f"1e-12 × max(1, |mean|) = {1e-12 * max(1.0, abs(mean)):.3g}): rescale the column")
    return None


def _names(row: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for j, raw in enumerate(row):
        name = raw[:40] or f"column {j + 1}"
        base, k = name, 2
        while name in out:
            name, k = f"{base} ({k})", k + 1
        out.append(name)
    return tuple(out)


def select_columns(table: CSVTable, columns, *, max_columns: int = MAX_CSV_COLUMNS,
                   min_rows: int = MIN_CSV_ROWS) -> np.ndarray:
    """The chosen columns as an ``(R, C)`` float64 array for task ``csv``; RnnvizError with the
    column's problem when one is not usable."""
    columns = list(columns)
    if not columns:
        raise _error("the selection", "name at least one column", "none")
    if len(columns) > max_columns:
        raise _error("the selection", f"have at most {max_columns} columns (too wide)", len(columns))
    for name in columns:
        if name not in table.names:
            raise _error("each selected column", f"be one of {list(table.names)[:8]}", repr(name))
        if name in table.problems:
            raise _error(f"column {name!r}", "hold finite, varying numbers", table.problems[name])
    if len(set(columns)) != len(columns):
        raise _error("the selection", "name each column once", columns)
    if table.rows < min_rows:
        raise _error("a time series", f"have at least {min_rows} rows", table.rows)
    return np.stack([table.values[n] for n in columns], axis=1)  # (R, C)


# ------------------------------------------------------------------------------------------ text
def decode_text(data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_chars: int = MAX_TEXT_CHARS,
                min_chars: int = MIN_TEXT_CHARS, max_vocab: int = MAX_TEXT_VOCAB) -> str:
    """Text for the character-level model: decoded, newlines normalised to ``\\n``, checked."""
    data = _check_size(data, "the text file", max_bytes)
    text = _decode(data, "the text file").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _error("the text file", "contain some text", "only whitespace")
    if len(text) > max_chars:
        raise _error("the text file", f"have at most {max_chars:,} characters", f"{len(text):,}")
    if len(text) < min_chars:
        raise _error("the text file", f"have at least {min_chars} characters", len(text))
    vocab = set(text)
    if len(vocab) > max_vocab:
        raise _error("the text", f"use at most {max_vocab} distinct characters (the model's one-hot "
                     "input)", len(vocab))
    if len(vocab) < 2:
        raise _error("the text", "use at least 2 distinct characters", len(vocab))
    return text


# ------------------------------------------------------------------------------------------ runs
def read_run(data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES):
    """A saved run (``.npz`` from the app or ``python -m rnnviz train --out``), ready to browse."""
    return read_runs(data, max_bytes=max_bytes)[0].history


def read_runs(data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES):
    """A saved run and its branches (``rnnviz.io.load_runs``: ``[original, *branches]``), ready to browse."""
    from rnnviz.io import load_runs

    data = _check_size(data, "the run file", max_bytes)
    runs = load_runs(data)
    history = runs[0].history
    if history.config is None:
        raise _error("a run file", "contain its config (config_json) to be browsed", "none")
    if not len(history):
        raise _error("a run file", "hold at least one recorded step", "0 steps")
    return runs


def display_name(name: str | None, limit: int = 60) -> str:
    """An uploaded file's name made safe to show (no markup, no path, bounded length)."""
    name = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "`*_[]<>|#$\\")
    return (name[: limit - 1] + "…" if len(name) > limit else name) or "upload"
