"""Training sweeps (``--train``): one Trainer run per point x seed (:func:`train_one`), on a spawn process
pool or on Ray, and the per-point columns of the results (:func:`train_columns`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.sweep.table import median

__all__ = ["TrainResult", "train_one", "train_columns", "local_results", "ray_results", "RAY_PIN"]


@dataclass(frozen=True)
class TrainResult:
    """One training run: the loss of its last step, the first step whose loss was at or below the
    success level (None if none), the steps trained and the trainer's final state."""

    final_loss: float
    first_success_step: int | None
    steps: int
    state: str
    baseline_loss: float


def train_one(config: ExperimentConfig, steps: int, success: float, data=None) -> TrainResult:
    """Train ``config`` for ``steps`` steps exactly as ``python -m rnnviz train`` does (rnnviz.trainer;
    the watchdog's pause is ignored, a divergence stops the run). Success level = ``success`` x the
    task's baseline loss; the loss of step s is the one measured on step s's batch before its update.
    Deterministic: the same arguments give the same result in any process."""
    from rnnviz.trainer import Trainer

    config = config.replace(max_steps=steps)
    trainer = Trainer(config, data)
    level = success * trainer.task.baseline_loss
    first = None
    while trainer.step_count < steps:
        for rec in trainer.step(min(100, steps - trainer.step_count)):
            if first is None and rec.loss <= level:
                first = rec.step
        if trainer.state in ("diverged", "finished"):
            break
    losses = trainer.history.scalars["loss"]
    final = float(losses[-1]) if len(losses) else math.nan
    return TrainResult(final, first, trainer.step_count, trainer.state, float(trainer.task.baseline_loss))


def _train_job(config: ExperimentConfig, steps: int, success: float, data) -> TrainResult:
    """A pool or Ray task: one torch thread, then train_one."""
    from rnnviz.trainer import limit_threads

    limit_threads(1)
    return train_one(config, steps, success, data)


def _succeeded(r: TrainResult, success: float) -> bool:
    """Not diverged, and the last step's loss at or below success x baseline."""
    return r.state != "diverged" and math.isfinite(r.final_loss) and r.final_loss <= success * r.baseline_loss


def train_columns(results: Sequence[TrainResult], success: float) -> dict:
    """Per point: final_loss = median over seeds of the last step's loss (nan if any seed's is nan);
    success_rate = fraction of seeds that did not diverge and whose final loss <= success x baseline;
    steps_to_success = median over seeds of the first step at or below that level, a seed that never
    got there counting as infinitely late (None, an empty cell, when at least half the seeds never did)."""
    firsts = [math.inf if r.first_success_step is None else r.first_success_step for r in results]
    med = median(firsts)
    return dict(
        final_loss=median(r.final_loss for r in results),
        success_rate=sum(_succeeded(r, success) for r in results) / len(results),
        steps_to_success=None if math.isinf(med) else med,
    )


def local_results(jobs, workers: int):
    """(index, TrainResult) as runs finish: in this process for one worker, else a spawn process pool."""
    if workers <= 1:
        for i, job in enumerate(jobs):
            yield i, _train_job(*job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(_train_job, *job): i for i, job in enumerate(jobs)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: The Ray version the optional extra pins (pyproject [project.optional-dependencies] cluster).
RAY_PIN = "ray==2.60.0"


def ray_results(jobs, address: str, workers: int):
    """(index, TrainResult) as Ray tasks finish. ``address="local"`` starts a local Ray with
    ``workers`` CPUs; otherwise ``ray.init(address=address)`` joins a running cluster (every node
    needs rnnviz installed: ``pip install -e .[cluster]``)."""
    try:
        import ray
    except ImportError:
        raise RnnvizError(f"--ray needs the optional Ray extra (pip install -e .[cluster], i.e. {RAY_PIN}), "
                          f"got no module named 'ray'") from None
    import os
    from pathlib import Path

    import rnnviz

    started = not ray.is_initialized()
    if started:
        if address == "local":
            root = str(Path(rnnviz.__file__).resolve().parents[1])  # workers import this checkout's rnnviz
            path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_train_job)
        refs = {remote.remote(*job): i for i, job in enumerate(jobs)}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                yield refs[ref], ray.get(ref)
    finally:
        if started:
            ray.shutdown()

