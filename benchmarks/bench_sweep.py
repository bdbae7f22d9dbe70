"""Benchmark: the batched phase-diagram sweep vs the same grid done with one trace per config.

Default grid: the issue's example, vanishing-tanh (H=64, N=32, adding) with rho 0.5..2.0 (20 values)
x seq_len 10..200 (20 values) x 3 seeds = 1,200 configs. The two ways are run INTERLEAVED (alternating
order, ``--repeats`` rounds after one warm-up round of the batched sweep) in one process with one
torch thread, and their medians of wall time and of CPU time (``time.process_time``) are printed side
by side with the ratio. Both produce the same numbers: the script checks that every grad_ratio,
sigma_max and spectral_radius agree to 1e-6 relative (they are bit-identical on this machine).

    python benchmarks/bench_sweep.py [--quick] [--repeats 3] [--cell rnn_tanh]

The wall time depends on what else runs on the machine: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from rnnviz.analysis import gradient_ratio, spectra  # noqa: E402
from rnnviz.config import PRESETS  # noqa: E402
from rnnviz.models import build_model  # noqa: E402
from rnnviz.sweep import InitStats, init_stats, parse_axis, plan  # noqa: E402
from rnnviz.tasks import make_task  # noqa: E402
from rnnviz.trace import trace  # noqa: E402
from rnnviz.trainer import limit_threads  # noqa: E402

GOAL_SECONDS = 10.0


def one_trace_per_config(configs) -> list[InitStats]:
    """The loop the batched sweep replaces: build the app's model and first batch, trace, measure."""
    out = []
    for c in configs:
        task = make_task(c)
        model = build_model(c, task.input_size, task.output_size)
        batch = task.sample(c.batch_size, torch.Generator().manual_seed(c.seed))
        tr = trace(model.rnn, batch.x, lambda o, h, m=model, t=task, b=batch: t.loss(m.head(o), b))
        H = c.hidden_size
        sv, ev = spectra(model.rnn.weight_hh_l0.detach().numpy().reshape(-1, H, H))  # per gate block
        out.append(InitStats(float(sv[:, 0].max()), float(np.abs(ev[:, 0]).max()),
                             gradient_ratio(tr.grad_norms[0, 0])))
    return out


def timed(fn, configs):
    w0, c0 = time.perf_counter(), time.process_time()
    res = fn(configs)
    return time.perf_counter() - w0, time.process_time() - c0, res


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-6 * abs(b)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 5 x 5 grid with 2 seeds (a smoke run)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cell", default="rnn_tanh", choices=("rnn_tanh", "rnn_relu", "lstm", "gru"))
    args = ap.parse_args()
    limit_threads(1)
    n, seeds = (5, 2) if args.quick else (20, 3)
    base = PRESETS["vanishing-tanh"].config.replace(cell=args.cell)
    axes = [parse_axis(f"rho=0.5:2.0:{n}"), parse_axis(f"seq_len=10:200:{n}")]
    configs = [c for p in plan(base, axes, seeds) for c in p.configs]
    print(f"grid {n} rho x {n} seq_len x {seeds} seeds = {len(configs)} configs, cell {args.cell}, "
          f"H={base.hidden_size}, N={base.batch_size}, 1 torch thread; {os.cpu_count()} CPUs, "
          f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    timed(init_stats, configs)  # warm-up
    runs = {"batched": [], "per-config trace": []}
    results = {}
    for k in range(args.repeats):
        order = (("batched", init_stats), ("per-config trace", one_trace_per_config))
        for name, fn in order if k % 2 == 0 else order[::-1]:
            wall, cpu, res = timed(fn, configs)
            runs[name].append((wall, cpu))
            results[name] = res
            print(f"  round {k + 1}: {name:<17} wall {wall:6.2f} s  cpu {cpu:6.2f} s", flush=True)
    b, t = results["batched"], results["per-config trace"]
    bad = [i for i, (x, y) in enumerate(zip(b, t, strict=True))
           if not (same(x.grad_ratio, y.grad_ratio) and same(x.sigma_max, y.sigma_max)
                   and same(x.spectral_radius, y.spectral_radius))]
    exact = sum(x.grad_ratio == y.grad_ratio or (math.isnan(x.grad_ratio) and math.isnan(y.grad_ratio))
                for x, y in zip(b, t, strict=True))
    med = {name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for name, r in runs.items()}
    (bw, bc), (tw, tc) = med["batched"], med["per-config trace"]
    print(f"median of {args.repeats}:      batched wall {bw:.2f} s (cpu {bc:.2f} s)   "
          f"per-config trace wall {tw:.2f} s (cpu {tc:.2f} s)")
    print(f"speed-up (per-config / batched): wall x{tw / bw:.1f}, cpu x{tc / bc:.1f}")
    print(f"agreement: {len(configs) - len(bad)}/{len(configs)} configs within 1e-6, "
          f"{exact}/{len(configs)} grad_ratios bit-identical")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not args.quick:
        verdict = "meets" if bw < GOAL_SECONDS else "misses"
        print(f"goal: 20 x 20 x 3 in under {GOAL_SECONDS:.0f} s wall: {verdict} it ({bw:.2f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
