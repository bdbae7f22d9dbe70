"""Cells trained in lockstep for the Compare page: :class:`CompareSession` (RNN, LSTM and GRU on one task,
seed and batches). It paces and gates its training as :class:`rnnviz.session.PlaySession` does, with the same
helpers (one lock for every action, compute through the server's training gate)."""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable

from rnnviz.config import ExperimentConfig
from rnnviz.rate import StepRate
from rnnviz.session import (
    COMPARE_CELLS,
    MAX_STEPS_PER_TICK,
    TRAIN_BUDGET_SECONDS,
    TickResult,
    _compute,
    _Guard,
    _train_for,
    _yield,
)


class CompareSession:
    """RNN, LSTM and GRU trained in lockstep on the same task, seed and batches.

    Like :class:`PlaySession`: one lock for every action, compute through ``gate``. A run paused by
    its watchdog (``pause_grad_norm``) stays paused while the others play; Play all or Step resumes it.
    """

    def __init__(self, base: ExperimentConfig, data=None, cells=COMPARE_CELLS, *, gate=None,
                 notify: Callable[[str], None] | None = None):
        self._guard = _Guard()
        self.gate = gate
        self.notify = notify  # told "queued: ..." when an action must wait for a training slot
        self.owner = f"compare-{id(self):x}"
        self.base = base
        self.data = data
        self.cells = tuple(cells)
        self.playing = False
        self._resume = False  # the first tick after Play all resumes runs paused by their watchdog
        self.rate = StepRate()
        from rnnviz.trainer import Trainer

        self.trainers = {}
        for c in self.cells:  # one slot per run built: bounded work per acquisition
            with _compute(gate, self.owner, "building the runs to compare", notify if c == self.cells[0] else None):
                t = Trainer(self._config_for(base, c), data=data)
                t.step(1)  # step 0 of each cell, shown at once
            self.trainers[c] = t

    @property
    def lock(self) -> threading.RLock:
        return self._guard.lock

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

    def play(self) -> None:
        with self._guard.action():
            if not self.playing:
                self.rate.start()
            self.playing, self._resume = True, True

    def pause(self) -> None:
        with self._guard.action():
            self.playing = False

    def step(self, n: int = 1) -> TickResult:
        """n steps of every run (a run paused by its watchdog resumes: the user asked)."""
        with self._guard.action():
            done, seconds = 0, 0.0
            while done < n:
                with _compute(self.gate, self.owner, "training the compared runs", self.notify if done == 0 else None):
                    k, t = _train_for(list(self.trainers.values()),
                                      TRAIN_BUDGET_SECONDS if self.gate else math.inf, n - done)
                done, seconds = done + k, seconds + t
                if k == 0:
                    break
            self.rate.add(done, seconds)
            return TickResult(done, seconds, None)

    def tick(self, budget: float = TRAIN_BUDGET_SECONDS, max_steps: int = MAX_STEPS_PER_TICK, *,
             wait: float = 0.0) -> TickResult:
        with self.lock:
            if not self.playing:
                return TickResult(0, 0.0, None)
            gate = self.gate
            with contextlib.nullcontext(True) if gate is None else gate.slot(self.owner, wait) as admitted:
                if not admitted:
                    return TickResult(0, 0.0, None, queued=True)
                steps, seconds = _train_for(list(self.trainers.values()), budget, max_steps, resume=self._resume,
                                            record="cadence",
                                            interrupted=lambda: _yield(self._guard, gate, self.owner))
            self._resume = False
            self.rate.add(steps, seconds)
            if steps == 0:
                self.playing = False
                return TickResult(0, seconds, "all runs stopped")
            return TickResult(steps, seconds, None)

    def reset(self) -> None:
        with self._guard.action():
            for t in self.trainers.values():
                with _compute(self.gate, self.owner, "resetting the compared runs", self.notify):
                    t.reset()
                    t.step(1)
            self.playing = False
            self.rate.clear()
