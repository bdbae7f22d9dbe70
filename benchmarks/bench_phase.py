"""Benchmark: what the Phase diagram page computes, as it computes it.

1. The default grid at initialisation (16 rho x 10 seq_len x 3 seeds = 480 configs for a preset with
   init=scaled) computed in the page's slices (``PhaseJob``, about ``SLICE_SECONDS`` of estimated compute
   per training slot) against the same configs in one batched ``init_stats`` call: the price of letting
   other sessions in between slices. The two are run INTERLEAVED (``--repeats`` rounds after a warm-up),
   medians of wall and CPU time (``time.process_time``) side by side with the ratio.
2. The training tab's default grid (6 x 4 points, one seed, K = 30 steps): wall and CPU time of one run,
   and the longest slice (the most a training slot is held at a time).

    python benchmarks/bench_phase.py [--preset vanishing-tanh] [--repeats 3] [--no-train]

Wall times depend on the machine's load: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from rnnviz.config import PRESETS  # noqa: E402
from rnnviz.sweep import init_stats  # noqa: E402
from rnnviz.sweep.phase import SLICE_SECONDS, AxisChoice, PhaseJob, phase_grid  # noqa: E402
from rnnviz.trainer import limit_threads  # noqa: E402
from ui.phase import SEQ_LEN_RANGE, TAB_DEFAULTS  # noqa: E402  (the page's defaults; ui.phase imports streamlit)


def page_grid(base, tab: str):
    d = TAB_DEFAULTS[tab]
    return phase_grid(base, AxisChoice("rho", 0.5, 2.0, d["y"]), AxisChoice("seq_len", *SEQ_LEN_RANGE, d["x"]),
                      d["seeds"], d.get("steps", 0) if tab == "train" else 0)


def sliced(grid) -> tuple[float, float, float, int]:
    """(wall, cpu, longest slice in cpu seconds, slices) of the page's way."""
    job = PhaseJob(grid)
    w0, c0, longest, n = time.perf_counter(), time.process_time(), 0.0, 0
    while not job.done:
        s = time.process_time()
        job.run_next()
        longest, n = max(longest, time.process_time() - s), n + 1
    return time.perf_counter() - w0, time.process_time() - c0, longest, n


def one_call(grid) -> tuple[float, float]:
    configs = [c for p in grid.points() for c in p.configs]
    w0, c0 = time.perf_counter(), time.process_time()
    init_stats(configs)
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="vanishing-tanh")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-train", action="store_true")
    args = ap.parse_args()
    limit_threads(1)
    base = PRESETS[args.preset].config
    grid = page_grid(base, "init")
    print(f"load average {os.getloadavg()[0]:.1f}; {args.preset}, grid at init {grid.shape[0]} x {grid.shape[1]} "
          f"x {grid.seeds} seeds; slice budget {SLICE_SECONDS} s (estimated)")
    sliced(grid)  # warm-up
    runs_s, runs_o = [], []
    for r in range(args.repeats):
        for way in ((0, 1) if r % 2 == 0 else (1, 0)):
            (runs_s if way == 0 else runs_o).append(sliced(grid) if way == 0 else one_call(grid))
    ws, cs = statistics.median(r[0] for r in runs_s), statistics.median(r[1] for r in runs_s)
    wo, co = statistics.median(r[0] for r in runs_o), statistics.median(r[1] for r in runs_o)
    print(f"at init, page slices ({runs_s[0][3]} slices, longest {max(r[2] for r in runs_s):.2f} s cpu): "
          f"wall {ws:.2f} s, cpu {cs:.2f} s")
    print(f"at init, one batched call:  wall {wo:.2f} s, cpu {co:.2f} s")
    print(f"slices / one call: wall x{ws / wo:.2f}, cpu x{cs / co:.2f}")
    if not args.no_train:
        tg = page_grid(base, "train")
        w, c, longest, n = sliced(tg)
        print(f"training tab {tg.shape[0]} x {tg.shape[1]} x {tg.seeds} seed, K = {tg.steps}: wall {w:.1f} s, "
              f"cpu {c:.1f} s, {n} slices, longest {longest:.2f} s cpu")


if __name__ == "__main__":
    main()
