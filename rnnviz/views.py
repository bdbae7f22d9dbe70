"""What the pages read in place of a live Trainer: a saved run being browsed (:class:`RecordedRun`: its
recording, no weights) and one moment of a live run while it trains on (:class:`FrozenTrainer`, what
``rnnviz.session.PlaySession.reading`` hands a drawing). Both have the trainer's reading side: ``history``,
``state``, ``reason``, ``stop_reason``, ``step_count``, ``task``, ``config``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.recording import MUTATION


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

    @property
    def stop_reason(self) -> str:
        """As :attr:`rnnviz.trainer.Trainer.stop_reason`: the recorded reason when the run had stopped."""
        return self.reason if self.state in ("paused", "diverged", "finished") else ""


@dataclass
class _TaskInfo:
    """What the pages show of a task whose data is not in the run file (csv, charlm on own data)."""

    name: str
    title: str
    kind: str
    metric_name: str
    baseline_loss: float | None
    text: str
    input_names: tuple[str, ...] = ()  # the data's own words are not in the file: the strip says x1, x2, ...
    symbols: tuple[str, ...] = ()

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


class FrozenTrainer:
    """A live trainer as one drawing sees it (:meth:`PlaySession.reading`): its history a snapshot
    (:meth:`rnnviz.recording.RunHistory.snapshot`) and its step counter and state taken at the same moment;
    anything else (task, config, probe) is the live trainer's, which training does not change."""

    def __init__(self, trainer):
        with MUTATION:  # the trainer appends a step and moves its counter under it: both or neither
            self.history = trainer.history.snapshot()
            self.step_count, self.state, self.reason = trainer.step_count, trainer.state, trainer.reason
            self.stop_reason = trainer.stop_reason
        self._live = trainer

    def __getattr__(self, name):
        return getattr(self._live, name)
