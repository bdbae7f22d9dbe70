"""A learner's live run: the config, its trainer(s), and the pacing of the play loop.

Pure Python (no Streamlit), so the app's tick can be tested and benchmarked headless.
The app keeps one :class:`PlaySession` per browser session in ``st.session_state``; its
play loop is a ``st.fragment(run_every=TICK_SECONDS)`` that calls :meth:`PlaySession.tick`
then redraws. A tick trains for at most ``train_budget`` seconds, so a redraw is never
starved and a click during play takes effect on the next tick.

:class:`CompareSession` trains RNN, LSTM and GRU in lockstep on the same task, seed and
batches (the same config except ``cell``), for the Compare page.

A PlaySession can also *browse a saved run* (:meth:`PlaySession.load`): ``history``, ``config`` and
``trainer`` then describe the loaded recording (``trainer`` is a :class:`RecordedRun`, no weights),
play/step/reset are refused, and :meth:`PlaySession.unload` (or any :meth:`set_config`) returns to
the live run, which was kept as it was.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError

TICK_SECONDS = 0.5  # redraw twice a second while playing
TRAIN_BUDGET_SECONDS = 0.3  # of each tick, the time spent training (the rest draws)
MAX_STEPS_PER_TICK = 64  # bounds a tick on tiny models (keeps frames meaningful)
COMPARE_CELLS = ("rnn_tanh", "lstm", "gru")


@dataclass
class TickResult:
    """What one tick of the play loop did."""

    steps: int  # training steps taken in this tick
    seconds: float  # wall time spent training
    stopped: str | None = None  # why play stopped (diverged, paused by watchdog, finished), else None


@dataclass
class _Rate:
    """Steps per second over the last few ticks (what the step counter shows)."""

    window: deque = field(default_factory=lambda: deque(maxlen=8))

    def add(self, steps: int, seconds: float) -> None:
        if steps:
            self.window.append((steps, seconds))

    @property
    def per_second(self) -> float:
        steps = sum(s for s, _ in self.window)
        seconds = sum(t for _, t in self.window)
        return steps / seconds if seconds > 0 else 0.0

    def clear(self) -> None:
        self.window.clear()


def _train_for(trainers, budget: float, max_steps: int, record: str = "every") -> tuple[int, float]:
    """Step every trainer once per round until the budget or max_steps is spent.

    ``record``: "every" when stepping by hand (each step recorded), "cadence" while playing (a record
    whenever the display can use a new frame; rnnviz.trainer explains both).

    A paused trainer resumes (the user asked for steps); one that diverges, finishes or is
    paused by its watchdog during the loop drops out of it.
    """
    start = time.perf_counter()
    steps = 0
    live = [t for t in trainers if t.state in ("ready", "running", "paused")]
    while live and steps < max_steps:
        for t in live:
            t.step(1, record=record)
        steps += 1
        live = [t for t in live if not t.stop_reason]
        if time.perf_counter() - start >= budget:
            break
    return steps, time.perf_counter() - start


class RecordedRun:
    """Stands in for the Trainer while a saved run is browsed: its recording, no weights.

    Has what the pages and the status bar read from a trainer: ``state`` (the recorded
    diverged/finished/paused, else ``"loaded"``), ``reason``, ``step_count``, ``task``, ``history``.
    """

    def __init__(self, history, name: str = "run"):
        if history.config is None:
            raise RnnvizError("a loaded run must carry its config, got none")
        if not len(history):
            raise RnnvizError("a loaded run must hold at least one recorded step, got 0")
        self.history = history
        self.name = name
        self.config = history.config
        status = history.status or {}
        recorded = str(status.get("state", ""))
        self.reason = str(status.get("reason", "") or "")
        stopped = recorded in ("diverged", "finished") or (recorded == "paused" and self.reason)
        self.state = recorded if stopped else "loaded"
        self.step_count = int(history.steps[-1]) + 1
        self.task = _recorded_task(self.config, history)


@dataclass
class _TaskInfo:
    """What the pages show of a task whose data is not in the run file (csv, charlm on own data)."""

    name: str
    title: str
    kind: str
    metric_name: str
    baseline_loss: float | None
    text: str

    def describe(self) -> str:
        return self.text


def _recorded_task(config: ExperimentConfig, history):
    from rnnviz.tasks import TASK_CLASSES, make_task

    cls = TASK_CLASSES[config.task]
    if not cls.uses_data:
        try:
            return make_task(config)  # synthetic tasks: the same task the run was trained on
        except RnnvizError:
            pass
    n_in = int(history.probe["x"].shape[-1]) if "x" in (history.probe or {}) else 0
    baseline = math.log(n_in) if config.task == "charlm" and n_in > 1 else None
    text = (f"{cls.title}, recorded on data that a run file does not store (the numbers are as "
            f"recorded; {n_in} input feature(s) per step).")
    return _TaskInfo(config.task, cls.title, cls.kind, cls.metric_name, baseline, text)


class PlaySession:
    """One learner's run: config -> trainer, with play/pause/step/reset and a paced tick.

    ``loaded`` is None while training live, else the :class:`RecordedRun` being browsed.
    """

    def __init__(self, config: ExperimentConfig | None = None, data=None):
        self._config = config or ExperimentConfig()
        self.data = data
        self.playing = False
        self.rate = _Rate()
        self.loaded: RecordedRun | None = None
        self._trainer = self._build(self._config, data)

    @staticmethod
    def _build(config: ExperimentConfig, data):
        from rnnviz.trainer import Trainer

        trainer = Trainer(config, data=data)
        trainer.step(1)  # step 0: the untrained network, shown at once
        return trainer

    # -- what the pages read (the loaded run while browsing one) ---------------------------
    @property
    def config(self) -> ExperimentConfig:
        return self.loaded.config if self.loaded else self._config

    @property
    def trainer(self):
        return self.loaded if self.loaded else self._trainer

    @property
    def history(self):
        return self.trainer.history

    @property
    def live_config(self) -> ExperimentConfig:
        return self._config

    # -- controls ---------------------------------------------------------------------
    def set_config(self, config: ExperimentConfig, data=None) -> bool:
        """Use a new config (and data); rebuild the run at step 0 if anything changed.

        Ends browsing a loaded run. If the new run cannot be built (e.g. the data is too short for
        ``seq_len``) the RnnvizError propagates and the session is left exactly as it was.
        """
        if config == self._config and data is self.data:
            if self.loaded is None:
                return False
            self.unload()
            return True
        trainer = self._build(config, data)  # may raise: then nothing changed
        self._config, self.data, self._trainer = config, data, trainer
        self.loaded = None
        self.playing = False
        self.rate.clear()
        return True

    def load(self, history, name: str = "run") -> None:
        """Browse a saved run (from :func:`rnnviz.io.load_run`); the live run waits untouched."""
        self.loaded = RecordedRun(history, name)
        self.playing = False
        self.rate.clear()

    def unload(self) -> None:
        """Back to the live run, where it was."""
        self.loaded = None
        self.rate.clear()

    def _check_live(self, what: str) -> None:
        if self.loaded is not None:
            raise RnnvizError(f"{what} needs the live run; a loaded run is read-only, got the loaded "
                              f"run {self.loaded.name!r} (go back to live training first)")

    def play(self) -> None:
        if self.loaded is None and self._trainer.state in ("ready", "running", "paused"):
            self.playing = True

    def pause(self) -> None:
        self.playing = False

    def step(self, n: int = 1) -> TickResult:
        """Train exactly n steps (stops early on divergence or the end of the run)."""
        self._check_live("step")
        if n < 1:
            raise RnnvizError(f"steps must be >= 1, got {n}")
        steps, seconds = _train_for([self._trainer], budget=float("inf"), max_steps=n)
        self.rate.add(steps, seconds)
        return TickResult(steps, seconds, self._stop_reason())

    def reset(self) -> None:
        """Back to the exact initial weights and batches; step 0 recorded again at once."""
        self._check_live("reset")
        self._trainer.reset()
        self._trainer.step(1)
        self.playing = False
        self.rate.clear()

    @property
    def current_step(self) -> int:
        """The newest trained (and shown) step; 0 right after a reset."""
        return self.trainer.step_count - 1

    def tick(self, budget: float = TRAIN_BUDGET_SECONDS, max_steps: int = MAX_STEPS_PER_TICK) -> TickResult:
        """One play-loop tick: train for up to ``budget`` seconds; stop playing if the run stopped."""
        if not self.playing or self.loaded is not None:
            return TickResult(0, 0.0, None)
        steps, seconds = _train_for([self._trainer], budget, max_steps, record="cadence")
        self.rate.add(steps, seconds)
        reason = self._stop_reason()
        if reason:
            self.playing = False
        return TickResult(steps, seconds, reason)

    def _stop_reason(self) -> str | None:
        return self._trainer.stop_reason or None

    def jacobian(self, layer: int = 0, direction: int = 0, sample: int = 0):
        """Measured ||dh_T/dh_t||_2 (and ||dc_T/dc_t||_2 for LSTM) at the current weights, on a probe
        sequence: the quantity the Pascanu bound (gamma sigma_max)^(T-t) bounds."""
        from rnnviz.jacobian import jacobian_norms

        self._check_live("the measured Jacobian (it needs the weights)")
        return jacobian_norms(self._trainer.model.rnn, self._trainer.probe.x, layer=layer,
                              direction=direction, sample=sample)


class CompareSession:
    """RNN, LSTM and GRU trained in lockstep on the same task, seed and batches."""

    def __init__(self, base: ExperimentConfig, data=None, cells=COMPARE_CELLS):
        self.base = base
        self.data = data
        self.cells = tuple(cells)
        self.playing = False
        self.rate = _Rate()
        from rnnviz.trainer import Trainer

        self.trainers = {c: Trainer(self._config_for(base, c), data=data) for c in self.cells}
        for t in self.trainers.values():
            t.step(1)  # step 0 of each cell, shown at once

    @staticmethod
    def _config_for(base: ExperimentConfig, cell: str) -> ExperimentConfig:
        changes = {"cell": cell}
        if cell != "lstm":
            changes["forget_bias"] = "default"
        if base.init == "identity" and cell != "rnn_relu":
            changes["init"] = "default"
        return base.replace(**changes)

    def matches(self, base: ExperimentConfig, data=None) -> bool:
        return base == self.base and data is self.data

    def step(self, n: int = 1) -> TickResult:
        steps, seconds = _train_for(list(self.trainers.values()), float("inf"), n)
        self.rate.add(steps, seconds)
        return TickResult(steps, seconds, None)

    def tick(self, budget: float = TRAIN_BUDGET_SECONDS, max_steps: int = MAX_STEPS_PER_TICK) -> TickResult:
        if not self.playing:
            return TickResult(0, 0.0, None)
        steps, seconds = _train_for(list(self.trainers.values()), budget, max_steps, record="cadence")
        self.rate.add(steps, seconds)
        if steps == 0:
            self.playing = False
            return TickResult(0, seconds, "all runs stopped")
        return TickResult(steps, seconds, None)

    def reset(self) -> None:
        for t in self.trainers.values():
            t.reset()
            t.step(1)
        self.playing = False
        self.rate.clear()
