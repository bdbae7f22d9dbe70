"""Does a light session keep its pace while others run the heaviest configs the rules allow?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/load_light_vs_heavy.py [--seconds 20]

In-process, no browsers: one thread per session drives a :class:`rnnviz.session.PlaySession` through
one shared :class:`rnnviz.capacity.TrainingGate` exactly as ``ui/live.py`` does: a play tick every
``tick_interval()`` (TICK_SECONDS, stretched by the gate's demand per slot), each tick waiting up to
``SLOT_WAIT_SECONDS`` for a slot and training for at most ``tick_work(interval)``; a x10 press is
``PlaySession.step(10)`` (one slot per budget's worth of steps). Drawing is not simulated: the figure
is the training pace only.

Scenarios, each for ``--seconds``, measured one after another in one run:
1. the light session alone (the default config, playing);
2. the light session + two sessions on the heaviest allowed config playing;
3. the light session + two heavy sessions playing + a third heavy session pressing x10 again and again.
Printed: the light session's steps/s in each, and the ratio to scenario 1 (target >= 0.70).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rnnviz.capacity import TrainingGate  # noqa: E402
from rnnviz.config import ExperimentConfig, step_seconds  # noqa: E402
from rnnviz.session import TICK_SECONDS, PlaySession  # noqa: E402
from rnnviz.trainer import limit_threads  # noqa: E402
from ui.live import MAX_TICK_STRETCH, SLOT_WAIT_SECONDS, tick_work  # noqa: E402  (the app's own pacing)


def heaviest_config() -> ExperimentConfig:
    """Among the heaviest allowed configs of every cell (bench_cost.heaviest), the one the rule rates highest."""
    from bench_cost import heaviest

    configs = [c for cell in ("rnn_tanh", "lstm", "gru") for c in heaviest(cell)]
    return max(configs, key=lambda c: step_seconds(c.to_dict()))


def player(sess: PlaySession, gate: TrainingGate, stop: threading.Event) -> None:
    """The live fragment's loop: tick, then wait for the (load-stretched) redraw interval."""
    sess.play()
    while not stop.is_set():
        t0 = time.perf_counter()
        interval = TICK_SECONDS * min(MAX_TICK_STRETCH, max(1.0, gate.demand()))  # as ui.live.tick_interval
        sess.tick(*tick_work(interval), wait=SLOT_WAIT_SECONDS)
        stop.wait(max(0.0, interval - (time.perf_counter() - t0)))


def presser(sess: PlaySession, stop: threading.Event) -> None:
    """A student pressing x10 as soon as the previous x10 is done."""
    while not stop.is_set():
        sess.step(10)
        stop.wait(0.1)


def run(seconds: float, heavy_players: int, heavy_pressers: int, heavy: ExperimentConfig) -> float:
    gate = TrainingGate()
    light = PlaySession(ExperimentConfig(), gate=gate)
    others = [PlaySession(heavy, gate=gate) for _ in range(heavy_players + heavy_pressers)]
    stop = threading.Event()
    threads = [threading.Thread(target=player, args=(light, gate, stop))]
    threads += [threading.Thread(target=player, args=(s, gate, stop)) for s in others[:heavy_players]]
    threads += [threading.Thread(target=presser, args=(s, stop)) for s in others[heavy_players:]]
    for t in threads:
        t.start()
    time.sleep(2.0)  # warm-up: everyone is in the queue
    start_step, t0 = light.current_step, time.perf_counter()
    time.sleep(seconds)
    rate = (light.current_step - start_step) / (time.perf_counter() - t0)
    stop.set()
    for t in threads:
        t.join()
    heavy_steps = sum(s.current_step for s in others)
    print(f"  light {rate:6.1f} steps/s; heavy sessions trained {heavy_steps} steps in all", flush=True)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    limit_threads(1)
    heavy = heaviest_config()
    print(f"slots: {TrainingGate().slots}; heavy config: cell={heavy.cell} H={heavy.hidden_size} "
          f"T={heavy.seq_len} N={heavy.batch_size} layers={heavy.num_layers} D={heavy.directions} "
          f"P={heavy.probe_size} (rule's estimate {step_seconds(heavy.to_dict()):.2f} s/step)")
    print("1. light alone")
    alone = run(args.seconds, 0, 0, heavy)
    print("2. light + 2 heavy playing")
    two = run(args.seconds, 2, 0, heavy)
    print("3. light + 2 heavy playing + 1 heavy pressing x10")
    three = run(args.seconds, 2, 1, heavy)
    print(f"\nlight session keeps {two / alone:.0%} (2 heavy playing) and {three / alone:.0%} "
          f"(2 playing + 1 pressing x10) of its steps/s alone (target >= 70%)")


if __name__ == "__main__":
    main()
