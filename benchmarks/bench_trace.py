"""Benchmark: trace(...) vs a plain fused forward + loss.backward() on the same input.

For each cell at the classroom size (N=32, L=100, I=8, H=64, 1 layer, float32) and at
L=500, the two are run INTERLEAVED (alternating, many repeats) and their medians and
ratio printed, plus the memory (nbytes) of one Trace at the default size.

    python benchmarks/bench_trace.py [--quick] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from rnnviz import cells  # noqa: E402
from rnnviz.trace import trace  # noqa: E402

CELLS = ("rnn_tanh", "lstm", "gru")
TARGET = {"rnn_tanh": 1.3, "rnn_relu": 1.3, "lstm": 1.3, "gru": 2.0}


def make(cell: str, I: int, H: int) -> nn.Module:
    c = cells.get(cell)
    return getattr(nn, c.torch_class)(I, H, batch_first=True, **c.torch_kwargs)


def bench(cell: str, N: int, L: int, I: int, H: int, repeats: int):
    """Median seconds of (trace, plain) run alternately, and the Trace."""
    torch.manual_seed(0)
    module, head = make(cell, I, H), nn.Linear(H, 1)
    x = torch.randn(N, L, I)  # (N, L, I)
    y = torch.randn(N, L, 1)

    def loss_fn(output, h_n):
        return (head(output) - y).square().mean()

    def plain():
        loss_fn(*module(x)).backward()

    def traced():
        return trace(module, x, loss_fn)

    times = {"trace": [], "plain": []}
    for k in range(repeats + 2):  # two warm-up rounds
        for name, fn in (("trace", traced), ("plain", plain)) if k % 2 else (("plain", plain), ("trace", traced)):
            module.zero_grad(set_to_none=True)
            head.zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            fn()
            if k >= 2:
                times[name].append(time.perf_counter() - t0)
    return statistics.median(times["trace"]), statistics.median(times["plain"]), traced()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repeats (a smoke run)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, float32, N=32 I=8 H=64, 1 layer")
    print(f"{'cell':9} {'L':>4} {'trace ms':>9} {'plain ms':>9} {'ratio':>6} {'target':>6}  Trace nbytes")
    for L in (100, 500):
        repeats = (5 if args.quick else 40) if L == 100 else (3 if args.quick else 12)
        for cell in CELLS:
            t_trace, t_plain, tr = bench(cell, 32, L, 8, 64, repeats)
            mem = f"{tr.nbytes / 2**20:.1f} MiB" if L == 100 else ""
            print(f"{cell:9} {L:4d} {t_trace * 1e3:9.2f} {t_plain * 1e3:9.2f} {t_trace / t_plain:6.2f} "
                  f"{TARGET[cell]:6.1f}  {mem}", flush=True)


if __name__ == "__main__":
    main()
