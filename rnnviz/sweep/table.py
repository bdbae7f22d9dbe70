"""A sweep's rows: per point the grid values and the step-0 columns (:func:`phase_rows`), CSV text
(:func:`rows_to_csv`, :func:`format_value`) and the output file a sweep writes and resumes (:class:`SweepFile`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import numpy as np

from rnnviz.errors import RnnvizError
from rnnviz.sweep.grid import GridAxis, SweepPoint
from rnnviz.sweep.step0 import InitStats

__all__ = ["PHASE_COLUMNS", "TRAIN_COLUMNS", "phase_rows", "format_value", "rows_to_csv", "median", "SweepFile"]

#: Result columns after the grid fields; a training sweep (--train) adds TRAIN_COLUMNS after them.
PHASE_COLUMNS = ("sigma_max", "spectral_radius", "grad_ratio", "grad_ratio_min", "grad_ratio_max")
TRAIN_COLUMNS = ("final_loss", "success_rate", "steps_to_success")


def median(values: Iterable[float]) -> float:
    return float(np.median(np.asarray(list(values), dtype=np.float64)))


def phase_rows(points: Sequence[SweepPoint], stats: Sequence[InitStats], axes: Sequence[GridAxis]) -> list[dict]:
    """One row per point: the grid values, medians over seeds of sigma_max, spectral_radius and
    grad_ratio, and grad_ratio's min and max over seeds. ``stats`` are in point-then-seed order."""
    rows, k = [], 0
    for pt in points:
        s = stats[k : k + len(pt.configs)]
        k += len(pt.configs)
        ratios = [x.grad_ratio for x in s]
        row = {a.field: v for a, v in zip(axes, pt.values, strict=True)}
        row.update(
            sigma_max=median(x.sigma_max for x in s),
            spectral_radius=median(x.spectral_radius for x in s),
            grad_ratio=median(ratios),
            grad_ratio_min=float(np.min(ratios)),
            grad_ratio_max=float(np.max(ratios)),
        )
        rows.append(row)
    return rows


def format_value(v) -> str:
    """CSV text of a cell: ints as ints, floats by repr (exact round trip), empty for None."""
    if v is None:
        return ""
    if isinstance(v, bool | int | np.integer):
        return str(int(v))
    return repr(float(v))


def rows_to_csv(rows: Sequence[dict], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([format_value(r.get(c)) for c in columns])
    return buf.getvalue()


class SweepFile:
    """The CSV a sweep writes, and resuming it.

    Rows are appended (and flushed) as points finish; at the end the file is rewritten with every row
    in grid order, so an interrupted and resumed sweep ends with the same file as an uninterrupted one.
    A sidecar ``<out>.sweep.json`` holds what the sweep is (base config, axes, seeds, training); a
    rerun with the same sidecar keeps the finished rows and skips their points; a different one is
    refused rather than mixed into the same file.
    """

    def __init__(self, path, columns: Sequence[str], spec: dict, key_columns: Sequence[str]):
        from pathlib import Path

        self.path = Path(path)
        self.meta = self.path.with_name(self.path.name + ".sweep.json")
        self.columns, self.spec, self.keys = list(columns), spec, list(key_columns)
        self.done: dict[tuple, dict] = {}

    def open(self) -> None:
        """Read finished rows (when the sidecar matches), then (re)write the file with them."""
        import json

        if self.path.exists() and self.meta.exists():
            try:
                old = json.loads(self.meta.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise RnnvizError(f"{self.meta} must be a sweep description (JSON), got {e}") from None
            if old != self.spec:
                raise RnnvizError(f"--out {self.path} holds a different sweep (see {self.meta.name}); "
                                  f"resuming needs the same preset, --set, --grid, --seeds and --train: "
                                  f"choose another --out or delete both files")
            try:
                with self.path.open(newline="", encoding="utf-8") as f:
                    reader = csv.reader(f)
                    header = next(reader, None)
                    if header != self.columns:
                        raise RnnvizError(f"--out {self.path} must have the columns {self.columns} to resume, "
                                          f"got {header}")
                    for cells in reader:
                        if len(cells) == len(self.columns):  # a line cut by the interrupt is dropped
                            row = dict(zip(self.columns, cells, strict=True))
                            self.done[tuple(row[k] for k in self.keys)] = row
            except OSError as e:
                raise RnnvizError(f"--out must be a readable file, got {str(self.path)!r} ({e.strerror})") from None
        try:
            self.meta.write_text(json.dumps(self.spec, indent=1), encoding="utf-8")
            self._write(list(self.done.values()))
        except OSError as e:
            raise RnnvizError(f"sweep output must be writable, got {str(self.path)!r} ({e.strerror})") from None

    def key(self, values: Sequence) -> tuple:
        return tuple(format_value(v) for v in values)

    def append(self, row: dict) -> None:
        text = rows_to_csv([row], self.columns).split("\n", 1)[1]
        with self.path.open("a", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
        self.done[tuple(format_value(row[k]) for k in self.keys)] = {c: format_value(row.get(c)) for c in
                                                                      self.columns}

    def finish(self, order: Sequence[tuple]) -> int:
        """Rewrite the file in grid order; returns the number of rows."""
        rows = [self.done[k] for k in order if k in self.done]
        self._write(rows)
        return len(rows)

    def _write(self, rows: Sequence[dict]) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in rows:
            w.writerow([r.get(c, "") for c in self.columns])
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(buf.getvalue(), encoding="utf-8")
        tmp.replace(self.path)

