"""Does a light session keep its pace while others run the heaviest configs the rules allow?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/load_light_vs_heavy.py [--seconds 20]

In-process, no browsers: one thread per session drives a :class:`rnnviz.session.PlaySession` through
one shared :class:`rnnviz.capacity.TrainingGate` exactly as ``ui/live.py`` does: a play tick every
``tick_interval()`` (TICK_SECONDS, stretched by the gate's demand per slot), each tick waiting up to
``SLOT_WAIT_SECONDS`` for a slot and training for at most ``tick_work(interval, demand)``; a x10 press is
``PlaySession.step(10)`` (one slot per budget's worth of steps). Drawing is not simulated: the figure
is the training pace only.

Scenarios, in windows of ``--seconds`` that alternate for ``--rounds`` rounds (so the machine's other
load hits all alike):
1. the light session alone (the default config, playing);
2. the light session + two sessions on the heaviest allowed config playing;
3. the light session + two heavy sessions playing + a third heavy session pressing x10 again and again.
Printed: the light session's steps/s in each window, and the ratio of the medians to scenario 1
(target >= 0.70).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rnnviz.capacity import TrainingGate  # noqa: E402
from rnnviz.config import ExperimentConfig, step_seconds  # noqa: E402
from rnnviz.session import PlaySession  # noqa: E402
from rnnviz.trainer import limit_threads  # noqa: E402
from ui.live import SLOT_WAIT_SECONDS, stretched_interval, tick_work  # noqa: E402  (the app's own pacing)


def heaviest_config() -> ExperimentConfig:
    """Among the heaviest allowed configs of every cell (bench_cost.heaviest), the one the rule rates highest."""
    from bench_cost import heaviest

    configs = [c for cell in ("rnn_tanh", "lstm", "gru") for c in heaviest(cell)]
    return max(configs, key=lambda c: step_seconds(c.to_dict()))


def player(sess: PlaySession, gate: TrainingGate, stop: threading.Event) -> None:
    """The live fragment's loop: tick (if playing), then wait for the (load-stretched) redraw interval."""
    while not stop.is_set():
        t0 = time.perf_counter()
        demand = gate.demand()
        interval = stretched_interval(demand)  # as ui.live.tick_interval
        sess.tick(*tick_work(interval, demand), wait=SLOT_WAIT_SECONDS)
        stop.wait(max(0.0, interval - (time.perf_counter() - t0)))


def presser(sess: PlaySession, active: threading.Event, stop: threading.Event) -> None:
    """A student pressing x10 as soon as the previous x10 is done (while ``active``)."""
    while not stop.is_set():
        if active.is_set():
            sess.step(10)
        stop.wait(0.1)


SCENARIOS = ("alone", "2 heavy playing", "2 heavy playing + 1 pressing x10")


def run(seconds: float, rounds: int, heavy: ExperimentConfig, settle: float) -> dict[str, list[float]]:
    """Every session runs all along; the scenarios alternate window by window (the heavy sessions
    paused or playing, the presser idle or pressing), so a change in the machine's other load hits
    every scenario alike. Returns the light session's steps/s per scenario, one value per round."""
    gate = TrainingGate()
    light = PlaySession(ExperimentConfig(max_steps=100_000), gate=gate)  # never finishes within the run
    players = [PlaySession(heavy, gate=gate) for _ in range(2)]
    pressing, stop = threading.Event(), threading.Event()
    press = PlaySession(heavy, gate=gate)
    threads = [threading.Thread(target=player, args=(s, gate, stop)) for s in (light, *players)]
    threads.append(threading.Thread(target=presser, args=(press, pressing, stop)))
    light.play()
    for t in threads:
        t.start()
    rates: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    try:
        for r in range(rounds):
            for k, name in enumerate(SCENARIOS):
                for p in players:
                    p.play() if k >= 1 else p.pause()
                pressing.set() if k == 2 else pressing.clear()
                time.sleep(settle)  # the queue and the gate's usage memory (its half-life) follow the new load
                start, t0 = light.current_step, time.perf_counter()
                time.sleep(seconds)
                rates[name].append((light.current_step - start) / (time.perf_counter() - t0))
                print(f"  round {r + 1} {name:34s} light {rates[name][-1]:6.1f} steps/s", flush=True)
    finally:
        stop.set()
        pressing.clear()
        for t in threads:
            t.join()
    print(f"  heavy sessions trained {sum(s.current_step for s in (*players, press))} steps in all")
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="measured seconds per scenario window")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--settle", type=float, default=10.0, help="unmeasured seconds after each switch")
    args = ap.parse_args()
    limit_threads(1)
    heavy = heaviest_config().replace(max_steps=100_000)
    print(f"slots: {TrainingGate().slots}; heavy config: cell={heavy.cell} H={heavy.hidden_size} "
          f"T={heavy.seq_len} N={heavy.batch_size} layers={heavy.num_layers} D={heavy.directions} "
          f"P={heavy.probe_size} (rule's estimate {step_seconds(heavy.to_dict()):.2f} s/step)")
    rates = run(args.seconds, args.rounds, heavy, args.settle)
    med = {name: statistics.median(v) for name, v in rates.items()}
    alone = med["alone"]
    print()
    for name in SCENARIOS[1:]:
        per_round = [x / a for x, a in zip(rates[name], rates["alone"], strict=True)]
        print(f"{name:34s}: light keeps {med[name] / alone:.0%} of its steps/s alone (median "
              f"{med[name]:.1f} vs {alone:.1f}; per round {', '.join(f'{q:.0%}' for q in per_round)}); target >= 70%")


if __name__ == "__main__":
    main()
