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

Concurrency (one training thread per session, always): Streamlit may start a new script run for a click
while the previous run is still inside :meth:`PlaySession.tick` (``runner.fastReruns``), so two threads
can reach one session. Every action that touches the trainer (tick, step, reset, set_config, load,
unload, play, pause, the Jacobian) holds the session's lock; an action that arrives while a tick
trains makes the tick stop after its current step (``_train_for``'s ``interrupted``), waits for the
lock, and is then applied exactly once. The pages read the run while holding the same lock
(:attr:`PlaySession.lock`), so they never see a half-appended step.

Shared runs (``PlaySession(registry=...)``, issue 13): sessions on the same config and data read one run
trained once; the rules (who trains, copy-on-write, locking, freeing) are in rnnviz/shared.py's docstring.

Compute budget: a session given a :class:`rnnviz.capacity.TrainingGate` (``gate=``) trains, builds
runs and computes the Jacobian only while holding one of the server's training slots, and holds it
for a bounded amount of work each time (one tick's budget, one run build, one capped Jacobian).
"""


from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rnnviz import branches
from rnnviz.capacity import ServerBusy
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.rate import StepRate
from rnnviz.shared import RunLock as _Guard
from rnnviz.views import FrozenTrainer, RecordedRun

TICK_SECONDS = 0.5  # redraw twice a second while playing
TRAIN_BUDGET_SECONDS = 0.3  # of each tick, the time spent training (the rest draws)
MAX_STEPS_PER_TICK = 64  # bounds a tick on tiny models (keeps frames meaningful)
#: A shared run trains at most once per this many seconds of ticks, whichever of its sessions ticks first.
TICK_WINDOW_SECONDS = 0.8 * TICK_SECONDS
COMPARE_CELLS = ("rnn_tanh", "lstm", "gru")
#: How long a blocking action (build a run, Step outside the play loop, the Jacobian) waits for a slot.
COMPUTE_WAIT_SECONDS = 30.0
#: A live run's history is capped at this many bytes: older records are thinned (RunHistory.max_bytes).
LIVE_HISTORY_BYTES = 256 * 2**20


@dataclass
class TickResult:
    """What one tick of the play loop did."""

    steps: int  # training steps taken in this tick
    seconds: float  # wall time spent training
    stopped: str | None = None  # why play stopped (diverged, paused by watchdog, finished), else None
    queued: bool = False  # the server's training slots were all busy: nothing trained, the place is kept


def _train_for(trainers, budget: float, max_steps: int, *, resume: bool = True,
               interrupted: Callable[[], bool] = lambda: False, record: str = "every") -> tuple[int, float]:
    """Step every trainer once per round until the budget or max_steps is spent, or ``interrupted()``.

    ``record``: "every" when stepping by hand (each step recorded), "cadence" while playing (a record
    whenever the display can use a new frame; rnnviz.trainer explains both).

    ``resume=True`` (the user asked for steps): a trainer paused by its watchdog trains again.
    ``resume=False`` (the play loop of several runs): it stays paused. A trainer that diverges,
    finishes or is paused by its watchdog during the loop drops out of it.
    """
    start = time.perf_counter()
    steps = 0
    live = [t for t in trainers
            if t.state not in ("diverged", "finished") and (resume or not t.stop_reason)]
    while live and steps < max_steps:
        for t in live:
            t.step(1, record=record)
        steps += 1
        live = [t for t in live if not t.stop_reason]
        if time.perf_counter() - start >= budget or interrupted():
            break
    return steps, time.perf_counter() - start


def _yield(guard: _Guard | None, gate, owner) -> bool:
    """Stop training after the current step: an action waits for the session (``guard``), or a session
    that used less of the server lately waits for this one's slot (``gate.should_yield``)."""
    return (guard is not None and guard.waiting > 0) or (gate is not None and gate.should_yield(owner))


def queued_text(what: str, others: int) -> str:
    """What a session waiting for a training slot is told (``others``: runs training or queued ahead)."""
    return (f"Queued: the server is busy with {others} other run(s); {what} starts when a slot frees "
            f"(up to {COMPUTE_WAIT_SECONDS:g} s).")  # short: a toast shows about 110 characters


@contextlib.contextmanager
def _compute(gate, owner, what: str, notify: Callable[[str], None] | None = None):
    """Hold a training slot for a bounded piece of blocking work (no gate: run at once), waiting up to
    ``COMPUTE_WAIT_SECONDS`` for it in the server's first-come-first-served line; when no slot is free
    at once, ``notify(queued_text(...))`` says so before the wait (the app shows it as a toast)."""
    if gate is None:
        yield
        return
    timeout = COMPUTE_WAIT_SECONDS
    admitted = gate.acquire(owner, 0.0)
    if not admitted:
        if notify is not None:
            notify(queued_text(what, gate.active + max(gate.position(owner), 0)))
        admitted = gate.acquire(owner, timeout)  # the place in line was kept
    if not admitted:
        gate.leave(owner)  # the action is given up: it no longer holds a place in line
        raise ServerBusy(f"{what} must wait for one of the server's {gate.slots} training slot(s), "
                         f"got none free within {timeout:g} s (the server is busy); try again")
    try:
        yield
    finally:
        gate.release(owner)


class PlaySession:
    """One learner's run: config -> trainer, with play/pause/step/reset and a paced tick.

    ``loaded`` is None while training live, else the :class:`RecordedRun` being browsed.
    ``gate`` (a :class:`rnnviz.capacity.TrainingGate`, or None for no cap) is the server's compute budget.
    ``journal`` keeps the last ``journal`` actions as applied, in order: ``(name, value)`` with the steps
    trained (tick, step), the config (set_config) or None; a headless replay of it rebuilds the run.
    """

    def __init__(self, config: ExperimentConfig | None = None, data=None, *, gate=None, journal: int = 0,
                 registry=None, notify: Callable[[str], None] | None = None):
        self._guard = _Guard()
        self._reading = threading.local()  # .trainer: the FrozenTrainer a drawing thread reads (reading())
        self.gate = gate
        self.notify = notify  # told "queued: ..." when an action must wait for a training slot
        self.owner = f"session-{id(self):x}"
        self._token = object()  # a SharedRun this session owns has owner=_token (no reference to the session)
        self._config = config or ExperimentConfig()
        self.data = data
        self.playing = False
        self.rate = StepRate()
        self.loaded: RecordedRun | None = None
        self.journal: deque = deque(maxlen=journal)
        self._jacobians: dict = {}  # (trainer id, step, layer, direction, sample) -> JacobianNorms
        self.registry = registry  # an rnnviz.shared.RunRegistry: runs shared server-wide (None: all private)
        self.shared = None  # the rnnviz.shared.SharedRun this session is on (with ``registry``), else None
        self._loaded_runs: branches.Runs | None = None  # a loaded file's runs while browsing it
        if registry is None:
            self._trainer = self._build(self._config, data)
            self._runs = branches.Runs(self._trainer)  # the original and its branches; _trainer is the shown one
        else:
            from rnnviz.shared import run_key

            self._join(registry.get_or_build(run_key(self._config, data),
                                         lambda: self._wrap(self._build(self._config, data), None, data)))

    # -- shared runs (rnnviz/shared.py; the rules are in this module's docstring) -------------------
    def _wrap(self, trainer, owner, data):
        from rnnviz.shared import SharedRun

        return SharedRun(trainer=trainer, config=trainer.config, data=data, guard=_Guard(),
                         rate=StepRate(), owner=owner)

    def _join(self, run) -> None:
        """Read (and tick) ``run`` from now on: its trainer, its lock, its rate."""
        if self.shared is not None:
            self.shared.members.discard(self)
        self.shared = run
        run.members.add(self)
        self._trainer, self._config, self.data = run.trainer, run.config, run.data
        self._guard.target = run.guard
        self.rate = run.rate
        self._runs = branches.Runs(run.trainer)  # a run joined or copied has no branches (branching owns it)

    def _own(self) -> None:
        """Before changing the run: a run this session does not own becomes a private copy of it, at its
        current step (copy-on-write; called holding the run's lock, so the copy is consistent)."""
        run = self.shared
        if run is None or run.owner is self._token:
            return
        import copy

        with _compute(self.gate, self.owner, "copying the shared run", self.notify):
            trainer = copy.deepcopy(run.trainer)
        self._join(self._wrap(trainer, self._token, run.data))
        self.playing = False

    def _private(self, trainer) -> None:
        """Use a freshly built ``trainer`` as this session's own run."""
        if self.registry is None:
            self._trainer = trainer
            self._runs = branches.Runs(trainer)  # a new experiment: the old run's branches go with it
        else:
            self._join(self._wrap(trainer, self._token, self.data))

    def follow(self, run) -> None:
        """Show ``run`` (a room leader's run), read-only: any change this session makes copies it first."""
        if self.shared is run:
            return  # already on it: no action (an action would make a tick training the run stop early)
        with self._action():
            if self.shared is not run:
                self._join(run)
                self.loaded = None
                self._jacobians = {}

    def try_it_myself(self) -> None:
        """A private copy of the run at its current step ("try it myself" in a room); paused."""
        with self._action():
            self._own()
            self.playing = False
            self._log("try_it_myself")

    def _build(self, config: ExperimentConfig, data):
        from rnnviz.trainer import Trainer

        with _compute(self.gate, self.owner, "building the run", self.notify):
            trainer = Trainer(config, data=data)
            trainer.history.max_bytes = LIVE_HISTORY_BYTES
            trainer.step(1)  # step 0: the untrained network, shown at once
        return trainer

    @property
    def lock(self) -> threading.RLock:
        """The run's lock: every action and every training tick of any session on the run holds it."""
        return self._guard.lock

    # -- drawing while the run trains ------------------------------------------------------
    @contextlib.contextmanager
    def reading(self):
        """Draw the run as it is at this moment, without its lock: inside the block, this thread's
        ``trainer``, ``history`` and ``current_step`` are a snapshot (:class:`FrozenTrainer`, taken in
        microseconds), so training goes on meanwhile and no step appended, rewound or thinned later shows
        up half-way through a drawing. Thirty students drawing one run neither wait for its training tick
        nor for each other (holding the lock to draw made them queue behind both). An action called from
        inside the block (a button) acts on the live run, holding the lock as always."""
        frozen = None if self.loaded is not None else FrozenTrainer(self._trainer)
        before = getattr(self._reading, "trainer", None)
        self._reading.trainer = frozen
        try:
            yield self
        finally:
            self._reading.trainer = before

    @contextlib.contextmanager
    def weights(self):
        """The live trainer, holding the run's lock (no step changes the weights meanwhile), for drawing
        that needs the network itself (the opened cell, saliency, sampled text): yields the trainer."""
        with self._action(hold=True):
            yield self.trainer

    @contextlib.contextmanager
    def _action(self, hold: bool = False):
        """Hold the run's lock (``hold``: as a training tick, which actions make yield; else as an action,
        which a tick yields to); inside, this thread acts on the live run, not a drawing's snapshot. A drawing
        that acted then reads a fresh snapshot: what it did shows (a lesson steps until step N is reached)."""
        frozen = getattr(self._reading, "trainer", None)
        self._reading.trainer = None
        try:
            with self._guard.hold() if hold else self._guard.action():
                yield
        finally:
            self._reading.trainer = frozen if frozen is None else FrozenTrainer(self._trainer)

    def _log(self, name: str, value=None) -> None:
        if self.journal.maxlen:
            self.journal.append((name, value))

    # -- what the pages read (the loaded run while browsing one) ---------------------------
    @property
    def config(self) -> ExperimentConfig:
        return self.loaded.config if self.loaded else self._config

    @property
    def trainer(self):
        """The loaded run while one is browsed; else the live trainer (inside :meth:`reading`, its snapshot)."""
        if self.loaded:
            return self.loaded
        return getattr(self._reading, "trainer", None) or self._trainer

    @property
    def history(self):
        return self.trainer.history

    @property
    def live_config(self) -> ExperimentConfig:
        return self._config

    # -- controls ---------------------------------------------------------------------
    def set_config(self, config: ExperimentConfig, data=None, *, keep_playing: bool = False) -> bool:
        """Use a new config (and data); rebuild the run at step 0 if anything changed.

        Ends browsing a loaded run. If the new run cannot be built (e.g. the data is too short for
        ``seq_len``) the RnnvizError propagates and the session is left exactly as it was.
        ``keep_playing``: a run that was playing plays on from step 0 of the new config (a knob turned
        mid-play), else the new run waits at step 0.
        """
        with self._action():
            playing = keep_playing and self.playing
            if config == self._config and data is self.data:
                self._log("set_config", config)
                if self.loaded is None:
                    return False
                self.loaded = None
                self.rate.clear()
                return True
            trainer = self._build(config, data)  # may raise: then nothing changed
            self._config, self.data = config, data
            self._private(trainer)
            self.loaded = None
            self._stop()
            if playing:
                self._play_on()
            self._log("set_config", config)
            return True

    def load(self, history, name: str = "run", branches_saved=()) -> None:
        """Browse a saved run (from :func:`rnnviz.io.load_run`); the live run waits untouched.
        ``branches_saved``: its branches (``rnnviz.io.load_runs(...)[1:]``), which :meth:`switch` shows."""
        with self._action():
            self.loaded = RecordedRun(history, name)
            self._loaded_runs = branches.Runs(self.loaded, branches.ORIGINAL)
            for b in branches_saved:
                self._loaded_runs.add(branches.NamedRun(b.name, RecordedRun(b.history, f"{name}, {b.name}"),
                                                        parent=b.parent, branch_step=b.branch_step))
            self._loaded_runs.switch(branches.ORIGINAL)
            self._stop()
            self._log("load")

    def unload(self) -> None:
        """Back to the live run, where it was."""
        with self._action():
            self.loaded = self._loaded_runs = None
            self.rate.clear()
            self._log("unload")

    # -- rewind and branch (rnnviz/branches.py) ------------------------------------------------
    @property
    def runs(self) -> branches.Runs:
        """The named runs the pages show: the live run and its branches, or a loaded file's runs."""
        return self._loaded_runs if self.loaded is not None and self._loaded_runs is not None else self._runs

    def branch(self, step: int, changes: dict | None = None, name: str | None = None) -> branches.NamedRun:
        """Branch the shown run at recorded step ``step`` (from its checkpoint at or before it), with the
        knobs ``changes`` (BRANCH_KNOBS only), and show the branch. The other runs wait where they are."""
        with self._action():
            self._check_live("branching")
            self._own()  # a shared run is copied first: branching never changes a run others read
            parent = self._runs.current
            config = parent.config.replace(**(changes or {}))
            name = name or self._runs.next_name()
            self._runs.check_room()  # before any compute
            with _compute(self.gate, self.owner, "branching the run", self.notify):
                trainer, start = branches.make_branch(parent, step, config, self.data)
            run = self._runs.add(branches.NamedRun(name, trainer, parent=parent.name, branch_step=start))
            self._show(run)
            self._log("branch", (step, changes, name))
            return run

    def set_branch_config(self, config: ExperimentConfig, *, keep_playing: bool = False) -> None:
        """New knobs for the shown branch: it is made again from its branch point under ``config``
        (RnnvizError for a knob a branch cannot change; the branch is then left as it was).
        ``keep_playing``: as in :meth:`set_config`, a playing branch plays on from its branch point."""
        with self._action():
            playing = keep_playing and self.playing
            self._check_live("changing a branch")
            self._own()
            run = self._runs.current
            if run.parent is None:
                raise RnnvizError(f"set_branch_config needs a branch to be shown, got the original run {run.name!r}")
            if config == run.config:
                return
            parent = self._runs[run.parent]
            branches.check_branch_config(parent.config, config, run.branch_step)
            with _compute(self.gate, self.owner, "branching the run", self.notify):
                trainer, _ = branches.make_branch(parent, run.branch_step, config, self.data)
            self._runs.replace(run.name, trainer)
            self._show(run)
            if playing:
                self._play_on()
            self._log("set_branch_config", config)

    def switch(self, name: str) -> None:
        """Show run ``name`` (the original or a branch) on every page; the others wait where they are.
        While a saved file is browsed: show its run ``name``."""
        with self._action():
            if self.loaded is not None:
                self.loaded = self.runs.switch(name).trainer
            else:
                self._show(self._runs.switch(name))
            self._log("switch", name)

    def delete_branch(self, name: str) -> None:
        """Delete a branch (never the original); deleting the shown one shows the original."""
        with self._action():
            self._check_live("deleting a branch")
            self._runs.delete(name)
            self._show(self._runs.current)
            self._log("delete_branch", name)

    def _show(self, run: branches.NamedRun) -> None:
        self._trainer, self._config = run.trainer, run.config
        self._stop()

    def _stop(self) -> None:
        self.playing = False
        self.rate.clear()
        self._jacobians = {}

    def _play_on(self) -> None:
        """Play the run just rebuilt (the caller holds the guard), unless it already stopped at step 0."""
        if self._trainer.state not in ("diverged", "finished"):
            self.playing = True
            self.rate.start()

    def _check_live(self, what: str) -> None:
        if self.loaded is not None:
            raise RnnvizError(f"{what} needs the live run; a loaded run is read-only, got the loaded "
                              f"run {self.loaded.name!r} (go back to live training first)")

    def play(self) -> None:
        with self._action():
            if self.loaded is None and self._trainer.state not in ("diverged", "finished"):
                if not self.playing:
                    self.rate.start()
                self.playing = True
            self._log("play")

    def pause(self) -> None:
        """Stop playing; a tick training right now stops after its current step, before this returns."""
        with self._action():
            self.playing = False
            self._log("pause")

    def step(self, n: int = 1) -> TickResult:
        """Train exactly n steps (stops early on divergence or the end of the run).

        With a gate, one slot is held per ``TRAIN_BUDGET_SECONDS`` of training, so x10 on a heavy model
        lets the other sessions train in between."""
        with self._action():
            self._check_live("step")
            if not isinstance(n, int) or n < 1:
                raise RnnvizError(f"steps must be >= 1, got {n}")
            self._own()
            done, seconds = 0, 0.0
            while done < n:
                with _compute(self.gate, self.owner, "training a step", self.notify if done == 0 else None):
                    k, t = _train_for([self._trainer], TRAIN_BUDGET_SECONDS if self.gate else math.inf,
                                      n - done, interrupted=lambda: _yield(None, self.gate, self.owner))
                done, seconds = done + k, seconds + t
                if k == 0 or self._trainer.stop_reason:
                    break
            self.rate.add(done, seconds)
            self._log("step", done)
            return TickResult(done, seconds, self._stop_reason())

    def reset(self) -> None:
        """Back to the exact initial weights and batches; step 0 recorded again at once."""
        with self._action():
            self._check_live("reset")
            self._own()
            with _compute(self.gate, self.owner, "resetting the run", self.notify):
                self._trainer.reset()
                self._trainer.step(1)
            self._stop()
            self._log("reset")

    def compute(self, what: str, fn: Callable, *args):
        """``fn(*args)`` inside one of the server's training slots (waiting up to COMPUTE_WAIT_SECONDS,
        saying so via ``notify``, then ServerBusy): bounded work that is not the run's, such as parsing an
        upload. The session's lock is not held: the live run plays on meanwhile."""
        with _compute(self.gate, f"{self.owner}:compute", what, self.notify):  # a tick may hold self.owner's
            return fn(*args)

    @property
    def current_step(self) -> int:
        """The newest trained (and shown) step; 0 right after a reset."""
        return self.trainer.step_count - 1

    def tick(self, budget: float = TRAIN_BUDGET_SECONDS, max_steps: int = MAX_STEPS_PER_TICK, *,
             wait: float = 0.0) -> TickResult:
        """One play-loop tick: train for up to ``budget`` seconds while playing, waiting up to ``wait`` s
        for a training slot (else ``queued``, nothing trained); stop playing if the run stopped.

        Yields at once to an action (pause, reset, ...) that arrives while it trains: the tick stops
        after its current step, so the action is applied before the next one."""
        early = self._read_tick()  # a shared run trained in this window by another session: no lock needed
        if early is not None:
            return early
        with self._action(hold=True):
            if not self.playing or self.loaded is not None:
                self._log("tick", 0)
                return TickResult(0, 0.0, None)
            run, owner = self.shared, self.gate_owner()
            if run is not None:  # a shared run trains once per tick window, whichever session ticks first
                early = self._read_tick()
                if early is not None:
                    return early
                run.last_tick = time.monotonic()  # claimed: the others in this window read without the lock
            gate = self.gate
            with contextlib.nullcontext(True) if gate is None else gate.slot(owner, wait) as admitted:
                if not admitted:
                    self._log("tick", 0)
                    return TickResult(0, 0.0, None, queued=True)
                steps, seconds = _train_for([self._trainer], budget, max_steps, record="cadence",
                                            interrupted=lambda: _yield(self._guard, gate, owner))
            self.rate.add(steps, seconds)
            self._log("tick", steps)
            reason = self._stop_reason()
            if reason:
                self.playing = False
            return TickResult(steps, seconds, reason)

    def gate_owner(self) -> str:
        """Who a tick of this session is at the training gate: the run's name while others watch the run
        (a run shared by 30 trains as one), else this session (as its builds and Steps are), so a run
        alone never counts twice in the server's demand."""
        run = self.shared
        return run.name if run is not None and run.watchers() > 1 else self.owner

    def _read_tick(self) -> TickResult | None:
        """A tick of a session on a shared run whose window another session has claimed: nothing to train,
        so it returns at once without taking the run's lock (which the training tick holds). None: tick."""
        run = self.shared
        if run is None or not self.playing or run.watchers() < 2 \
                or time.monotonic() - run.last_tick >= TICK_WINDOW_SECONDS:
            return None  # alone on a run, a session ticks at its own pace, as before sharing
        reason = self._trainer.stop_reason if self._trainer.state in ("diverged", "finished") else ""
        self.playing = not reason
        self._log("tick", 0)
        return TickResult(0, 0.0, reason or None)

    def _stop_reason(self) -> str | None:
        return self._trainer.stop_reason or None

    def jacobian(self, layer: int = 0, direction: int = 0, sample: int = 0):
        """Measured ||dh_T/dh_t||_2 (and ||dc_T/dc_t||_2 for LSTM) at the current weights, on a probe
        sequence: the quantity the Pascanu bound (gamma sigma_max)^(T-t) bounds.

        Computed once per (step, layer, direction, sample) and cached; its cost is capped (see
        :func:`rnnviz.jacobian.jacobian_norms`, ``max_work``) and it runs in a training slot."""
        from rnnviz.jacobian import jacobian_norms

        with self._action():
            self._check_live("the measured Jacobian (it needs the weights)")
            trainer = self._trainer
            key = (id(trainer), trainer.step_count, layer, direction, sample)
            if key not in self._jacobians:
                with _compute(self.gate, self.owner, "the measured Jacobian", self.notify):
                    value = jacobian_norms(trainer.model.rnn, trainer.probe.x, layer=layer,
                                           direction=direction, sample=sample)
                self._jacobians = {k: v for k, v in self._jacobians.items() if k[:2] == key[:2]}
                self._jacobians[key] = value
            return self._jacobians[key]

