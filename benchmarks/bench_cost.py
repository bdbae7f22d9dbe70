"""The config's step-cost rule against the clock: is the heaviest allowed config at most 0.3 s per step?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cost.py          # check the heaviest allowed configs
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cost.py --fit    # re-fit the rule's coefficients

Time is the step's CPU time on its thread (one torch thread: the step runs there), i.e. what it costs on
a core of its own, as each training slot is one core; wall time is printed beside it (it also holds the
waits for a core when other jobs share the machine).

``rnnviz.config.step_seconds`` estimates one recorded training step (record_every=1, the default) from
four terms (see its docstring): the recurrent multiply-adds, the element-wise gate work, the per-timestep
cost of the recording trace, and the W_hh spectra. ``--fit`` measures a grid of configs that vary every
term on its own and fits the four coefficients (non-negative least squares on relative error); the
default run builds, for every cell, the heaviest configs the rule allows along each axis (longest,
widest, deepest and bidirectional, biggest batch, biggest probe) and times them.

Each config: Trainer built, step 0 trained (warm-up), then the median of ``--repeat`` steps, one
torch thread (as a session trains in the app). The machine is shared: run it when it is quiet, and
read the medians, not a single step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from rnnviz import config as cfgmod  # noqa: E402
from rnnviz.config import FIELDS, ExperimentConfig, step_cost_terms  # noqa: E402
from rnnviz.errors import RnnvizError  # noqa: E402
from rnnviz.trainer import Trainer, limit_threads  # noqa: E402

BASE = dict(task="adding", max_steps=100_000, optimizer="adam", clip="norm")
GRID = [  # (cell, H, seq_len, batch, layers, bidirectional, probe): each term varied on its own
    (c, H, L, N, Lyr, bi, P)
    for c in ("rnn_tanh", "lstm", "gru")
    for (H, L, N, Lyr, bi, P) in (
        (8, 100, 1, 1, False, 1), (8, 1000, 1, 1, False, 1), (8, 300, 1, 3, True, 1),
        (32, 300, 128, 1, False, 1), (32, 300, 1, 1, False, 16), (64, 100, 32, 1, False, 4),
        (128, 50, 8, 1, False, 1), (256, 20, 1, 1, False, 1), (256, 20, 1, 2, True, 1),
        (128, 200, 32, 1, False, 4), (64, 500, 64, 1, False, 1), (256, 50, 64, 1, False, 1),
    )
]


def seconds_per_step(config: ExperimentConfig, repeat: int) -> tuple[float, float]:
    """Median (CPU seconds of this thread, wall seconds) of one step. With one torch thread the step runs
    on this thread, so its CPU time is what the step costs on a core of its own; the wall time also holds
    the waits for a core when other jobs share the machine."""
    trainer = Trainer(config)
    trainer.step(1)
    cpu, wall = [], []
    for _ in range(repeat):
        c0, t0 = time.thread_time(), time.perf_counter()
        trainer.step(1)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - t0)
    return statistics.median(cpu), statistics.median(wall)


def unchecked(**fields) -> ExperimentConfig:
    """A config built past the cost rule (for fitting only: the grid includes configs it refuses)."""
    saved = cfgmod.RULES
    cfgmod.RULES = tuple(r for r in saved if r.name != "step_work")
    try:
        return ExperimentConfig(**BASE, **fields)
    finally:
        cfgmod.RULES = saved


def fit(repeat: int) -> None:
    rows, ys = [], []
    for cell, H, L, N, Lyr, bi, P in GRID:
        cfg = unchecked(cell=cell, hidden_size=H, seq_len=L, batch_size=N, num_layers=Lyr, bidirectional=bi,
                        probe_size=P)
        s, wall = seconds_per_step(cfg, repeat)
        terms = step_cost_terms(cfg.to_dict())
        rows.append([terms[k] for k in cfgmod.STEP_COST_TERMS])
        ys.append(s)
        print(f"{cell:8s} H={H:3d} L={L:4d} N={N:3d} Lyr={Lyr} D={2 if bi else 1} P={P:2d}: {s * 1e3:8.1f} ms "
              f"(wall {wall * 1e3:.0f} ms)", flush=True)
    X, y = np.asarray(rows, float), np.asarray(ys)
    w = X / y[:, None]  # relative error: a 10 ms config counts as much as a 1 s one
    coef = _nnls(w, np.ones_like(y))
    pred = X @ coef
    print("\ncoefficients (seconds per unit):")
    for k, c in zip(cfgmod.STEP_COST_TERMS, coef, strict=True):
        print(f"  {k:12s} {c:.3e}")
    ratio = pred / y
    print(f"predicted / measured: median {np.median(ratio):.2f}, min {ratio.min():.2f}, max {ratio.max():.2f}")


def _nnls(A: np.ndarray, b: np.ndarray, iters: int = 20_000) -> np.ndarray:
    """Non-negative least squares by projected gradient on column-scaled A (4 unknowns: plenty)."""
    scale = np.linalg.norm(A, axis=0)
    scale[scale == 0] = 1.0
    As = A / scale
    x = np.maximum(np.linalg.lstsq(As, b, rcond=None)[0], 0.0)
    step = 1.0 / np.linalg.norm(As, 2) ** 2
    for _ in range(iters):
        x = np.maximum(x - step * (As.T @ (As @ x - b)), 0.0)
    return x / scale


def heaviest(cell: str) -> list[ExperimentConfig]:
    """For one cell, the biggest allowed config along each axis (others at defaults or minimal)."""
    out = []
    axes = [
        dict(seq_len=FIELDS["seq_len"].hi),
        dict(hidden_size=FIELDS["hidden_size"].hi),
        dict(hidden_size=FIELDS["hidden_size"].hi, num_layers=3, bidirectional=True),
        dict(num_layers=3, bidirectional=True, seq_len=FIELDS["seq_len"].hi),
        dict(batch_size=FIELDS["batch_size"].hi),
        dict(probe_size=FIELDS["probe_size"].hi, hidden_size=128),
    ]
    for axis in axes:
        best = _largest_allowed(cell, axis)
        if best is not None:
            out.append(best)
    return out


def _largest_allowed(cell: str, axis: dict) -> ExperimentConfig | None:
    """Shrink the other size knobs (seq_len, then hidden_size, then batch) until the rule allows ``axis``."""
    fields = dict(BASE, cell=cell, probe_size=1, batch_size=32, seq_len=100, hidden_size=64)
    fields.update(axis)
    for knob in ("seq_len", "hidden_size", "batch_size", "seq_len"):
        if knob in axis:
            continue
        lo, hi = int(FIELDS[knob].lo), int(fields[knob])
        while lo < hi:  # the largest value of this knob the rule allows, the rest fixed
            mid = (lo + hi + 1) // 2
            try:
                ExperimentConfig(**{**fields, knob: mid})
                lo = mid
            except RnnvizError:
                hi = mid - 1
        try:
            return ExperimentConfig(**{**fields, knob: lo})
        except RnnvizError:
            fields[knob] = lo
    return None


def check(repeat: int) -> float:
    worst = 0.0
    for cell in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        for cfg in heaviest(cell):
            s, wall = seconds_per_step(cfg, repeat)
            worst = max(worst, s)
            est = cfgmod.step_seconds(cfg.to_dict())
            print(f"{cell:8s} H={cfg.hidden_size:3d} T={cfg.seq_len:4d} N={cfg.batch_size:3d} "
                  f"Lyr={cfg.num_layers} D={cfg.directions} P={cfg.probe_size:2d}: measured {s * 1e3:6.0f} ms, "
                  f"rule's estimate {est * 1e3:6.0f} ms (wall {wall * 1e3:.0f} ms)", flush=True)
    target = cfgmod.MAX_STEP_SECONDS * 1e3
    print(f"\nheaviest allowed config: {worst * 1e3:.0f} ms per step (target <= {target:.0f} ms)")
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", action="store_true", help="measure the grid and fit the rule's coefficients")
    ap.add_argument("--repeat", type=int, default=3, help="timed steps per config (median)")
    args = ap.parse_args()
    limit_threads(1)
    fit(args.repeat) if args.fit else check(args.repeat)


if __name__ == "__main__":
    main()
