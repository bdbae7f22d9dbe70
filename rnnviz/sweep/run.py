"""A whole sweep (:func:`run_sweep`): plan, resume, the step-0 columns, training, the file in grid order."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence

from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.sweep.grid import GridAxis, SweepPoint, plan
from rnnviz.sweep.step0 import init_stats
from rnnviz.sweep.table import PHASE_COLUMNS, TRAIN_COLUMNS, SweepFile, format_value, phase_rows
from rnnviz.sweep.training import local_results, ray_results, train_columns

__all__ = ["run_sweep", "sweep_spec"]


def sweep_spec(base: ExperimentConfig, axes: Sequence[GridAxis], seeds: int, train: int | None,
               success: float) -> dict:
    """What a sweep is, for the resume check (JSON-ready)."""
    return {"format": "rnnviz-sweep", "version": 1, "config": base.to_dict(),
            "grid": {a.field: [format_value(v) for v in a.values] for a in axes}, "seeds": seeds,
            "train": train, "success": success if train else None}


def run_sweep(base: ExperimentConfig, axes: Sequence[GridAxis], seeds: int, out, *, train: int | None = None,
              success: float = 0.5, workers: int = 1, ray: str | None = None, data=None,
              progress: Callable[[int, int], None] | None = None,
              on_row: Callable[[dict], None] | None = None) -> tuple[int, int]:
    """Plan, skip the points already in ``out`` (resume), compute the rest, write ``out`` in grid order.

    Without ``train``: the batched step-0 columns (:func:`init_stats`). With ``train`` (steps): also
    trains every remaining point x seed (:func:`train_one`) on ``workers`` processes, or on Ray when
    ``ray`` is an address or ``"local"``, and writes each point's row as soon as its seeds are done.
    ``progress(done, total)`` counts configs (runs with ``train``); ``on_row(row)`` sees every new row.
    Returns (rows written, points computed now).
    """
    if not isinstance(success, int | float) or not (0 < success and math.isfinite(success)):
        raise RnnvizError(f"--success must be a number > 0 (a fraction of the task's baseline loss), got {success!r}")
    points = plan(base, axes, seeds)
    names = [a.field for a in axes]
    columns = names + list(PHASE_COLUMNS) + (list(TRAIN_COLUMNS) if train else [])
    f = SweepFile(out, columns, sweep_spec(base, axes, seeds, train, success), names)
    f.open()
    order = [f.key(p.values) for p in points]
    left = [i for i, k in enumerate(order) if k not in f.done]
    todo = [points[i] for i in left]
    configs = [c for p in todo for c in p.configs]
    total = len(configs)  # configs, each one run when training

    def tick(done):
        if progress is not None:
            progress(done, total)

    # The step-0 columns of every point, in one batched call whatever was done before: float32 rounding in
    # the batched kernels can depend on which configs share a batch (last-bit differences, far inside the
    # 1e-6 contract), and a resumed sweep must end with the same file as an uninterrupted one.
    every = [c for p in points for c in p.configs]
    stats = init_stats(every, data, progress=None if train else (lambda n: tick(n * total // len(every))))
    every_row = phase_rows(points, stats, axes)
    rows = [every_row[i] for i in left]
    if not train:
        for row in rows:
            f.append(row)
            if on_row is not None:
                on_row(row)
        return f.finish(order), len(todo)

    _train_points(todo, rows, train, success, data, (workers, ray), f, tick, on_row)
    return f.finish(order), len(todo)


def _train_points(todo: Sequence[SweepPoint], rows: list[dict], train: int, success: float, data,
                  where: tuple[int, str | None], f: SweepFile, tick: Callable[[int], None],
                  on_row: Callable[[dict], None] | None) -> None:
    """Train every config of every point in ``todo`` (on ``workers`` processes, or Ray at ``ray``: ``where``)
    and append each point's row (its step-0 row in ``rows`` + the training columns) once its seeds are done."""
    workers, ray = where
    jobs = [(c, train, success, data) for p in todo for c in p.configs]
    owner = [i for i, p in enumerate(todo) for _ in p.configs]  # job -> point
    results: dict[int, list] = {i: [None] * len(p.configs) for i, p in enumerate(todo)}
    first_job = {}
    for j, i in enumerate(owner):
        first_job.setdefault(i, j)
    stream = ray_results(jobs, ray, workers) if ray else local_results(jobs, workers)
    with contextlib.closing(stream):  # an interrupt stops the pool / Ray at once; finished rows stay
        for k, (j, res) in enumerate(stream, start=1):
            i = owner[j]
            results[i][j - first_job[i]] = res
            tick(k)
            if all(r is not None for r in results[i]):
                row = {**rows[i], **train_columns(results[i], success)}
                f.append(row)
                if on_row is not None:
                    on_row(row)
