"""Rewind and branch: a run's named runs, the original and up to ``MAX_BRANCHES`` branches.

A branch answers "what if I had turned clipping on at step k?". It is made from a run ``parent`` at a
recorded step ``k``:

    c       = the parent's latest checkpoint at or before k       (Trainer.checkpoint_at)
    branch  = Trainer(config') restored from that checkpoint       (Trainer.start_at)
    history = the parent's steps 0..c-1, then the branch's own steps c, c+1, ...

so the branch trains step ``c`` again with the weights, optimizer state and batch stream the parent had
there, under ``config'``. With ``config' == parent config`` it repeats the parent exactly (bit-identical
scalars, records and weights: tests/test_branches.py).

Which knobs a branch may change (``BRANCH_KNOBS``): those read at every step that leave every array's
shape as it is: batch size, optimizer (a new optimizer starts with no state), lr, clipping and its
threshold, and the run fields record_every, max_steps, checkpoint_every, pause_grad_norm. Everything else
is refused with the reason (``branch_refusal``): the model's fields (cell, hidden_size, num_layers,
bidirectional) change the weights' shapes, the task's change the data and the recorded shapes, the init
fields and the seed act only at step 0 (a branch takes its weights from the checkpoint), and probe_size
changes the recorded probe tensors. To change those, start a fresh run (a knob on the original run).

Memory is bounded: at most ``MAX_BRANCHES`` branches, each history capped at ``BRANCH_HISTORY_BYTES``
(older records thinned like the live run's, ``RunHistory.max_bytes``), each trainer's checkpoints capped
by the trainer (``rnnviz.trainer.CHECKPOINT_BUDGET_BYTES``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.config import FIELDS
from rnnviz.errors import RnnvizError
from rnnviz.recording import RunHistory

__all__ = ["MAX_BRANCHES", "BRANCH_HISTORY_BYTES", "ORIGINAL", "BRANCH_KNOBS", "NamedRun", "Runs",
           "branch_refusal", "check_branch_config", "changed_knobs", "history_prefix", "MAX_NAME_CHARS"]

#: At most this many branches besides the original (each a trainer, its checkpoints and a history).
MAX_BRANCHES = 4
#: Each branch's history is capped at this many bytes (older records thinned; scalars are never dropped).
BRANCH_HISTORY_BYTES = 64 * 2**20
#: The name of the run every branch comes from.
ORIGINAL = "original"
#: Longest run name (names come from files too).
MAX_NAME_CHARS = 40
#: The knobs a branch may change: read at every step, no array changes shape (module docstring).
BRANCH_KNOBS = ("batch_size", "optimizer", "lr", "clip", "clip_threshold", "record_every", "max_steps",
                "checkpoint_every", "pause_grad_norm")
#: Why a knob outside BRANCH_KNOBS cannot change on a branch, by its field group (rnnviz/fields.py).
_WHY = {
    "model": "it changes the shapes of the weights the branch takes from the checkpoint",
    "task": "it changes the data and the shapes of what is recorded",
    "init": "it acts only at step 0, and a branch takes its weights from the checkpoint",
    "run": "it changes the shapes of the recorded probe tensors",
}


def branch_refusal(name: str) -> str:
    """Why knob ``name`` cannot change on a branch ("" when it can)."""
    if name in BRANCH_KNOBS:
        return ""
    group = FIELDS[name].group
    return f"{name} cannot change on a branch: {_WHY.get(group, 'a branch continues the same network')}"


def changed_knobs(before, after) -> list[str]:
    """The fields (in table order) whose values differ between two configs."""
    return [n for n in FIELDS if getattr(before, n) != getattr(after, n)]


def check_branch_config(parent_config, config, step: int) -> None:
    """RnnvizError unless ``config`` differs from ``parent_config`` only in BRANCH_KNOBS and leaves
    steps after the branch point ``step`` to train (``max_steps > step``)."""
    refused = [n for n in changed_knobs(parent_config, config) if n not in BRANCH_KNOBS]
    if refused:
        raise RnnvizError(branch_refusal(refused[0]) + "; start a fresh run from the original to change it")
    if config.max_steps <= step:
        raise RnnvizError(f"max_steps must be above the branch point {step} to train the branch, "
                          f"got {config.max_steps}")


def history_prefix(history: RunHistory, step: int, config, max_bytes: int | None = None) -> RunHistory:
    """A new history with the steps of ``history`` before ``step`` (scalars, records, the probe tensors
    still kept), for ``config``; ``history`` itself is not changed."""
    meta, arrays = history.to_arrays()
    n = int(np.searchsorted(arrays["scalar/step"], step, side="left"))
    r = int(np.searchsorted(arrays["rec/step"], step, side="left"))
    kept = arrays["full/ordinal"] < r
    out = {}
    for key, a in arrays.items():
        if key.startswith("scalar/"):
            out[key] = a[:n]
        elif key.startswith(("rec/", "param/")):
            out[key] = a[:r]
        elif key.startswith("full/"):
            out[key] = a[kept]
        else:
            out[key] = a
    if not r:
        meta = {**meta, "light": [], "heavy": [], "param_blocks": [], "gate_names": []}
        out = {k: v for k, v in out.items() if not k.startswith(("rec/", "param/", "full/"))}
        out["rec/step"] = arrays["rec/step"][:0]
        out["full/ordinal"] = arrays["full/ordinal"][:0]
    elif not kept.any():
        meta = {**meta, "heavy": []}
        out = {k: v for k, v in out.items() if not k.startswith("full/") or k == "full/ordinal"}
    meta = {**meta, "status": {"state": "paused", "reason": "", "diverged_step": None}}
    prefix = RunHistory.from_arrays(meta, out, config=config)
    prefix.max_bytes = max_bytes
    return prefix


@dataclass
class NamedRun:
    """One run of a session: ``trainer`` (a Trainer, or a RecordedRun when browsing a file), its ``name``,
    the run it branched from (``parent``, None for the original), the checkpoint step it continues from
    (``branch_step``, 0 for the original) and its ``slot`` (0 the original, 1..MAX_BRANCHES: its colour
    and dash on the overlaid charts, kept while it lives)."""

    name: str
    trainer: object
    parent: str | None = None
    branch_step: int = 0
    slot: int = 0

    @property
    def config(self):
        return self.trainer.config

    @property
    def history(self) -> RunHistory:
        return self.trainer.history

    @property
    def label(self) -> str:
        """The legend's words: the name, and for a branch where it starts and what it changed."""
        return self.name if self.parent is None else f"{self.name} (from step {self.branch_step})"


class Runs:
    """The original run and its branches, in creation order; one is ``active`` (what the pages show).

    Pure bookkeeping: building a branch's trainer is :func:`make_branch` (the session runs it inside a
    training slot).
    """

    def __init__(self, trainer, name: str = ORIGINAL):
        self._runs: dict[str, NamedRun] = {name: NamedRun(name, trainer)}
        self.active = name

    # -- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self):
        return iter(self._runs.values())

    def __getitem__(self, name: str) -> NamedRun:
        if name not in self._runs:
            raise RnnvizError(f"run must be one of {', '.join(self._runs)}, got {name!r}")
        return self._runs[name]

    @property
    def names(self) -> list[str]:
        return list(self._runs)

    @property
    def current(self) -> NamedRun:
        return self._runs[self.active]

    @property
    def original(self) -> NamedRun:
        return next(iter(self._runs.values()))

    @property
    def branches(self) -> list[NamedRun]:
        return [r for r in self._runs.values() if r.parent is not None]

    def others(self) -> list[NamedRun]:
        """Every run but the active one (what the charts overlay)."""
        return [r for r in self._runs.values() if r.name != self.active]

    # -- changing --------------------------------------------------------------------------
    def next_name(self) -> str:
        k = 1
        while f"branch {k}" in self._runs:
            k += 1
        return f"branch {k}"

    def check_room(self) -> None:
        """RnnvizError when there are MAX_BRANCHES branches already."""
        if len(self.branches) >= MAX_BRANCHES:
            raise RnnvizError(f"a run has at most {MAX_BRANCHES} branches, got {MAX_BRANCHES} already; "
                              f"delete one first")

    def add(self, run: NamedRun) -> NamedRun:
        """Add a branch (``run.parent`` set), give it the first free slot, and make it active."""
        self.check_room()
        check_name(run.name)
        if run.name in self._runs:
            raise RnnvizError(f"run names must be unique, got {run.name!r} twice")
        if run.parent not in self._runs:
            raise RnnvizError(f"a branch's parent must be one of {', '.join(self._runs)}, got {run.parent!r}")
        used = {r.slot for r in self._runs.values()}
        run.slot = min(s for s in range(1, MAX_BRANCHES + 1) if s not in used)
        self._runs[run.name] = run
        self.active = run.name
        return run

    def replace(self, name: str, trainer) -> None:
        """The branch ``name`` now runs ``trainer`` (its knobs changed: made again from its branch point)."""
        self[name].trainer = trainer

    def switch(self, name: str) -> NamedRun:
        self.active = self[name].name
        return self.current

    def delete(self, name: str) -> None:
        """Delete a branch (never the original). A branch of it stays: its history is its own; its
        parent becomes the deleted branch's parent. Deleting the active run shows the original."""
        run = self[name]
        if run.parent is None:
            raise RnnvizError(f"only a branch can be deleted, got the original run {name!r}")
        del self._runs[name]
        for r in self._runs.values():
            if r.parent == name:
                r.parent = run.parent
        if self.active == name:
            self.active = self.original.name

    # -- what the charts overlay -----------------------------------------------------------
    def overlay(self, field: str) -> dict:
        """Keyword arguments of ``plots.loss_curve`` / ``plots.grad_norm_curve`` that overlay the other runs'
        scalar ``field`` ("loss", "grad_norm"); nothing when there is no other run."""
        others = self.overlay_scalars(field)
        return dict(others=others, run_label=self.current.label, slot=self.current.slot) if others else {}

    def overlay_at(self, step: int, layer: int = 0, direction: int = 0) -> dict:
        """Keyword arguments of ``plots.gradient_flow`` that overlay the other runs' ||dL/dh_t|| at ``step``."""
        others = self.overlay_flow(step, layer, direction)
        return dict(others=others, run_label=self.current.label, slot=self.current.slot) if others else {}

    def overlay_scalars(self, field: str) -> dict[str, tuple[int, np.ndarray, np.ndarray]]:
        """label -> (slot, steps, values of scalar ``field``) for every run but the active one."""
        out = {}
        for r in self.others():
            scal = r.history.scalars
            if len(r.history):
                out[r.label] = (r.slot, scal["step"], scal[field])
        return out

    def overlay_flow(self, step: int, layer: int = 0, direction: int = 0) -> dict[str, tuple[int, np.ndarray]]:
        """label -> (slot, ||dL/dh_t|| (L,)) at each other run's record at or before ``step``."""
        out = {}
        for r in self.others():
            rec = r.history.record_at(int(step))
            if rec is not None and rec.grad_norms is not None:
                label = r.label if rec.step == step else f"{r.label}, step {rec.step}"
                out[label] = (r.slot, np.asarray(rec.grad_norms[layer, direction]))
        return out


def check_name(name) -> str:
    """A run name: one line of 1..MAX_NAME_CHARS printable characters."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS or not name.isprintable():
        shown = f"{len(name)} characters" if isinstance(name, str) else type(name).__name__
        raise RnnvizError(f"a run name must be 1..{MAX_NAME_CHARS} printable characters, got {shown}")
    return name


def make_branch(parent: NamedRun, step: int, config=None, data=None,
                *, max_bytes: int | None = BRANCH_HISTORY_BYTES):
    """Build the trainer of a branch of ``parent`` from its checkpoint at or before ``step`` under
    ``config`` (default: the parent's). Returns ``(trainer, checkpoint step)``; RnnvizError when
    ``config`` changes a knob a branch cannot change or ``parent`` has no weights (a loaded run)."""
    from rnnviz.trainer import Trainer

    source = parent.trainer
    if not hasattr(source, "checkpoint_at"):
        raise RnnvizError(f"branching needs a live run's checkpoints, got the loaded run {parent.name!r} "
                          f"(a file holds the recording, not the weights)")
    if not isinstance(step, int | np.integer) or step < 0:
        raise RnnvizError(f"branch step must be an integer >= 0, got {step!r}")
    config = config or parent.config
    ck = source.checkpoint_at(int(step))
    check_branch_config(parent.config, config, ck.step)
    trainer = Trainer(config, data=data)
    trainer.start_at(ck, history_prefix(source.history, ck.step, config, max_bytes))
    return trainer, ck.step
