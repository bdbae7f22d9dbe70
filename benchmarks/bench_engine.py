"""Engine benchmark: Trainer.step speed against a plain torch loop, and the run history's memory.

    .venv/bin/python benchmarks/bench_engine.py            # full: speed + a real 5,000-step run
    .venv/bin/python benchmarks/bench_engine.py --quick    # speed + 500 real steps, memory extrapolated

Speed, per cell at the default size (H=64, L=100, batch 32, probe 4, Adam, norm clipping, 1 thread):
four loops measured interleaved round by round (so machine noise hits all alike); each round runs
each loop for ``--seconds`` of wall time (so a round of the cadence loop holds several records);
median over rounds of ms/step:

- ``plain``: model(x) -> task.loss -> backward -> clip_grad_norm_ -> Adam step on one fixed batch
  (the same model class and sizes, no recording at all);
- ``by hand``: Trainer.step(1), a full record every step (as Step and x10 do: one trace of the
  training batch and the probe stacked, W_hh spectra, float16 copies into the history);
- ``playing``: Trainer.step(1, record="cadence"), as the play loop calls it: a record at most every
  0.25 s of training (rnnviz.trainer.RECORD_INTERVAL_SECONDS), the other steps plain;
- ``no records``: Trainer.step(1) with record_every=10**4 (the engine's bookkeeping only).

The ratios trainer / plain are printed side by side, with the load average before and after.

Memory: RunHistory.nbytes (allocated arrays) after a 5,000-step LSTM run with record_every=1, plus the
checkpoints' bytes. ``--quick`` runs 500 real steps and extrapolates to 5,000 by appending synthetic
records with the real shapes and dtypes (labelled as such).
"""

from __future__ import annotations

import argparse
import os
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


def bench_speed(cells, rounds: int, seconds: float) -> None:
    print(f"speed: H=64, L=100, batch 32, probe 4, Adam, clip norm, {torch.get_num_threads()} thread(s); "
          f"{rounds} interleaved rounds x {seconds:g} s per loop; median ms/step; "
          f"load average before {_load()}")
    print(f"{'cell':8s} {'plain':>7s} {'by hand':>8s} {'playing':>8s} {'no rec':>7s} "
          f"{'by hand/plain':>14s} {'playing/plain':>14s} {'records/s playing':>18s}")
    for cell in cells:
        cfg = ExperimentConfig(cell=cell, **DEFAULT)
        plain = plain_loop(cfg)
        hand, play, norec = Trainer(cfg), Trainer(cfg), Trainer(cfg.replace(record_every=10_000))
        loops = {"plain": plain, "hand": lambda t=hand: t.step(1),
                 "play": lambda t=play: t.step(1, record="cadence"), "norec": lambda t=norec: t.step(1)}
        for f in loops.values():  # warm up (allocator, first-call costs)
            for _ in range(3):
                f()
        times: dict[str, list[float]] = {k: [] for k in loops}
        played = records = 0
        play_seconds = 0.0
        for _ in range(rounds):
            for name, f in loops.items():
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < seconds:
                    f()
                    n += 1
                elapsed = time.perf_counter() - t0
                times[name].append(elapsed / n * 1e3)
                if name == "play":
                    played, play_seconds = played + n, play_seconds + elapsed
        records = len(play.history.recorded_steps()) - _count_before(play, played)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{cell:8s} {med['plain']:7.2f} {med['hand']:8.2f} {med['play']:8.2f} {med['norec']:7.2f} "
              f"{med['hand'] / med['plain']:14.2f} {med['play'] / med['plain']:14.2f} "
              f"{records / play_seconds:18.1f}")
    print(f"load average after {_load()} (1, 5, 15 min; 2 cores)")


def _count_before(trainer: Trainer, last_steps: int) -> int:
    """Records among the steps trained before the last ``last_steps`` (the warm-up's)."""
    first = trainer.step_count - last_steps
    return int((trainer.history.recorded_steps() < first).sum())


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


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
    p.add_argument("--no-memory", action="store_true", help="speed only")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=1.0, help="wall time per loop per round")
    p.add_argument("--cells", default="lstm,rnn_tanh,gru")
    args = p.parse_args()
    limit_threads(1)
    bench_speed(args.cells.split(","), args.rounds, args.seconds)
    if not args.no_memory:
        bench_memory(500 if args.quick else 5000, 5000)


if __name__ == "__main__":
    main()
