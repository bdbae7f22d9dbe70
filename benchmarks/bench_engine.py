"""Engine benchmark: Trainer.step speed against a plain torch loop, and the run history's memory.

    .venv/bin/python benchmarks/bench_engine.py            # full: speed + a real 5,000-step run
    .venv/bin/python benchmarks/bench_engine.py --quick    # speed + 500 real steps, memory extrapolated

Speed, per cell at the default size (H=64, L=100, batch 32, probe 4, Adam, norm clipping, 1 thread):
three loops measured interleaved round by round (so machine noise hits all alike), median ms/step:

- ``plain``: model(x) -> task.loss -> backward -> clip_grad_norm_ -> Adam step on one fixed batch
  (the same model class and sizes, no recording at all);
- ``trainer, record_every=1``: Trainer.step(1), a full record every step (trace of the training
  batch, forward trace of the probe, W_hh spectra, float16 copies into the history);
- ``trainer, no records``: Trainer.step(1) with record_every=10**4 (the engine's bookkeeping only).

Memory: RunHistory.nbytes (allocated arrays) after a 5,000-step LSTM run with record_every=1, plus the
checkpoints' bytes. ``--quick`` runs 500 real steps and extrapolates to 5,000 by appending synthetic
records with the real shapes and dtypes (labelled as such).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from rnnviz.config import ExperimentConfig  # noqa: E402
from rnnviz.models import build_model  # noqa: E402
from rnnviz.recording import StepRecord  # noqa: E402
from rnnviz.tasks import make_task  # noqa: E402
from rnnviz.trainer import Trainer, limit_threads  # noqa: E402

DEFAULT = dict(task="adding", seq_len=100, hidden_size=64, batch_size=32, probe_size=4, optimizer="adam",
               clip="norm", clip_threshold=1.0, record_every=1, max_steps=100_000)


def plain_loop(config: ExperimentConfig):
    """A plain training step on one fixed batch: what any torch user would write."""
    task = make_task(config)
    model = build_model(config, task.input_size, task.output_size)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    batch = task.sample(config.batch_size, torch.Generator().manual_seed(0))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = task.loss(model(batch.x), batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_threshold)
        opt.step()
        return loss.item()

    return step


def bench_speed(cells, rounds: int, per_round: int) -> None:
    print(f"speed: H=64, L=100, batch 32, probe 4, Adam, clip norm, {torch.get_num_threads()} thread(s); "
          f"{rounds} interleaved rounds x {per_round} steps; median ms/step")
    print(f"{'cell':8s} {'plain':>8s} {'trainer rec=1':>14s} {'no records':>11s} {'ratio rec/plain':>16s} "
          f"{'steps/s rec=1':>14s}")
    for cell in cells:
        cfg = ExperimentConfig(cell=cell, **DEFAULT)
        plain = plain_loop(cfg)
        rec = Trainer(cfg)
        norec = Trainer(cfg.replace(record_every=10_000))
        loops = {"plain": plain, "rec": lambda t=rec: t.step(1), "norec": lambda t=norec: t.step(1)}
        for f in loops.values():  # warm up (allocator, first-call costs)
            for _ in range(3):
                f()
        times: dict[str, list[float]] = {k: [] for k in loops}
        for _ in range(rounds):
            for name, f in loops.items():
                t0 = time.perf_counter()
                for _ in range(per_round):
                    f()
                times[name].append((time.perf_counter() - t0) / per_round * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{cell:8s} {med['plain']:8.2f} {med['rec']:14.2f} {med['norec']:11.2f} "
              f"{med['rec'] / med['plain']:16.2f} {1e3 / med['rec']:14.1f}")


def bench_memory(steps: int, target: int) -> None:
    cfg = ExperimentConfig(cell="lstm", **DEFAULT)
    t = Trainer(cfg)
    t0 = time.perf_counter()
    t.step(steps)
    dt = time.perf_counter() - t0
    h = t.history
    ck_bytes = sum(c.nbytes for c in t._checkpoints)
    print(f"\nmemory: LSTM H=64, L=100, P=4, record_every=1: {steps} real steps in {dt:.1f} s "
          f"({steps / dt:.1f} steps/s)")
    print(f"  real      {steps:6d} steps: history {h.nbytes / 2**20:7.1f} MB  ({len(h.full_steps())} of "
          f"{len(h.recorded_steps())} records with probe tensors, K={h.keep_latest}); "
          f"checkpoints {len(t._checkpoints)} = {ck_bytes / 2**20:.1f} MB")
    if target > steps:
        template = h.record_at(int(h.steps[-1]), full=True)
        for s in range(steps, target):
            h.append(StepRecord(**{**template.__dict__, "step": s}))
        print(f"  EXTRAPOLATED to {target} steps (synthetic records with the real shapes and dtypes "
              f"appended): history {h.nbytes / 2**20:7.1f} MB ({len(h.full_steps())} full records)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="500 real steps for memory, extrapolated to 5,000")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--per-round", type=int, default=20)
    p.add_argument("--cells", default="lstm,rnn_tanh,gru")
    args = p.parse_args()
    limit_threads(1)
    bench_speed(args.cells.split(","), args.rounds, args.per_round)
    bench_memory(500 if args.quick else 5000, 5000)


if __name__ == "__main__":
    main()
