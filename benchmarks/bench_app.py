"""The play loop's tick, measured headless: train for the tick's budget, then build the Playground's
figures and serialise them as Streamlit does (``fig.to_json()``).

Reports, per cell at the default classroom size (the app's default config with the cell changed),
medians over several ticks, after a warm-up and again after 1,000 steps of history:
  - train ms and steps per tick (PlaySession.tick, budget TRAIN_BUDGET_SECONDS),
  - draw ms (the three Playground figures built and serialised),
  - with period = max(TICK_SECONDS, train + draw): steps/s = steps / period, redraws/s = 1 / period.
Target (issue 4): >= 20 steps/s while the charts redraw >= 2 times a second.

    .venv/bin/python benchmarks/bench_app.py [--ticks 15] [--cells rnn_tanh,lstm,gru]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz import plots  # noqa: E402
from rnnviz.config import ExperimentConfig  # noqa: E402
from rnnviz.session import TICK_SECONDS, TRAIN_BUDGET_SECONDS, PlaySession  # noqa: E402
from rnnviz.trainer import limit_threads  # noqa: E402


def playground_figures(sess: PlaySession) -> list:
    """The figures pages/playground.py draws each tick (same builders, same inputs)."""
    hist, task, config = sess.history, sess.trainer.task, sess.config
    scal = hist.scalars
    threshold = config.clip_threshold if config.clip == "norm" else None
    rec = hist.record_at(int(scal["step"][-1]))
    return [
        plots.loss_curve(scal["step"], scal["loss"], scal["metric"], task.metric_name, task.baseline_loss,
                         hist.status.get("diverged_step")),
        plots.grad_norm_curve(scal["step"], scal["grad_norm"], scal["grad_norm_clipped"], scal["clipped"],
                              threshold),
        plots.gradient_flow(rec.grad_norms, step=rec.step),
    ]


def measure(sess: PlaySession, ticks: int) -> dict:
    train_ms, steps, draw_ms = [], [], []
    for _ in range(ticks):
        result = sess.tick()
        train_ms.append(result.seconds * 1e3)
        steps.append(result.steps)
        t0 = time.perf_counter()
        for fig in playground_figures(sess):
            fig.to_json()
        draw_ms.append((time.perf_counter() - t0) * 1e3)
    train, draw, n = statistics.median(train_ms), statistics.median(draw_ms), statistics.median(steps)
    period = max(TICK_SECONDS, (train + draw) / 1e3)  # the fragment reruns every TICK_SECONDS at best
    return dict(train=train, steps=n, draw=draw, steps_per_s=n / period, redraws_per_s=1 / period)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ticks", type=int, default=15)
    ap.add_argument("--cells", default="rnn_tanh,lstm,gru")
    args = ap.parse_args(argv)
    limit_threads(1)
    print(f"tick = {TICK_SECONDS} s, training budget {TRAIN_BUDGET_SECONDS} s; 1 torch thread; medians of "
          f"{args.ticks} ticks; default config (T=50, H=64, batch 32, record every step)")
    print(f"{'cell':9} {'history':>8} {'train ms':>9} {'steps':>6} {'draw ms':>8} {'steps/s':>8} {'redraws/s':>9}")
    for cell in args.cells.split(","):
        sess = PlaySession(ExperimentConfig(cell=cell))
        sess.play()
        sess.tick()  # warm-up
        for label in ("short", "1000"):
            if label == "1000":
                sess.step(1000 - sess.current_step)
                sess.play()
            m = measure(sess, args.ticks)
            print(f"{cell:9} {label:>8} {m['train']:9.0f} {m['steps']:6.0f} {m['draw']:8.0f} "
                  f"{m['steps_per_s']:8.1f} {m['redraws_per_s']:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
