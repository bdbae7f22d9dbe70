"""Training sweeps on Ray (the optional `cluster` extra, in requirements-dev.txt): a local Ray with two CPUs
gives the same file as a local run (in-process here; the process pool gives that same file too,
tests/test_sweep.py), since every run is deterministic.

Without Ray installed this module is skipped, visibly; under CI=true a skip fails the run (tests/conftest.py)."""

from __future__ import annotations

import csv

import pytest

from rnnviz.config import ExperimentConfig
from rnnviz.sweep import GridAxis, run_sweep
from rnnviz.trainer import limit_threads

ray = pytest.importorskip("ray", reason="the optional Ray extra is not installed (pip install -e .[cluster])")

TINY = ExperimentConfig(task="adding", seq_len=8, hidden_size=8, batch_size=8, optimizer="adam", lr=0.02,
                        record_every=5)


def test_ray_local_gives_the_local_results(tmp_path):
    previous = limit_threads(1)
    try:
        axes = [GridAxis("lr", (0.002, 0.05)), GridAxis("seq_len", (6, 12))]
        local, on_ray = tmp_path / "local.csv", tmp_path / "ray.csv"
        seen = []
        assert run_sweep(TINY, axes, 2, local, train=25, success=0.8, workers=1) == (4, 4)
        assert run_sweep(TINY, axes, 2, on_ray, train=25, success=0.8, workers=2, ray="local",
                         progress=lambda done, total: seen.append((done, total))) == (4, 4)
        assert seen[-1] == (8, 8) and [d for d, _ in seen] == sorted(d for d, _ in seen)  # streamed back
        assert on_ray.read_text() == local.read_text()  # identical success rates, losses and steps
        with open(on_ray, newline="") as f:
            rates = [r[-2] for r in list(csv.reader(f))[1:]]
        assert len(rates) == 4
        assert not ray.is_initialized()  # the local Ray it started is shut down
    finally:
        limit_threads(previous)
