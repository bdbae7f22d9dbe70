"""Runs and figures shared between sessions of one server (issue 13, part 1).

Pure Python (no Streamlit, no torch at import). Four pieces:

- :func:`run_key` — what makes two runs the same: the whole config (seed included) and a content digest
  of the data (:func:`data_digest`), so two different CSVs or texts never share a run, and the same
  bytes uploaded twice do.
- :class:`SharedRun` and :class:`RunRegistry` — one run trained once server-wide and read by every
  session on it. The registry builds a key's run once, however many sessions ask at the same moment,
  and frees a run nobody is on (:meth:`RunRegistry.sweep`). ``rnnviz.session.PlaySession(registry=...)``
  decides who trains and when a session gets a private copy, by the rules below.
- :class:`RunLock` — a run's one lock (with the count of actions waiting for it), which the lock of every
  session on the run points at.
- :class:`FigureCache` — a figure for the same (run, step, view) is built and serialised once and its
  JSON served to every session that shows it; least recently used entries go first, bounded in bytes.

How ``rnnviz.session.PlaySession(registry=...)`` uses a :class:`RunRegistry` (issue 13): a session
created for a config and data joins the registry's run for them (:func:`run_key`: the whole
config, seed included, and a digest of the data), built once server-wide, at whatever step it has reached.
The rules:

- Reading: every session on a run reads its one history; each keeps its own view (page, scrubber, probe
  sequence live in the page's widgets) and its own ``playing``.
- Training: the run trains while at least one session on it is playing and ticks it. Ticks hold the run's
  lock, and the first tick in a window of ``session.TICK_WINDOW_SECONDS`` trains it (one tick's budget, in one
  training slot whose gate owner is the run, not the session); the others in that window only read. So a
  run shared by 30 sessions trains at the pace of one, and never in two threads at once.
- Changing: any action that changes the run (Step, x10, Reset, "try it myself" = :meth:`PlaySession.branch`) first gives
  the session a private copy of the run at its current step (copy-on-write; Reset then goes back to step 0
  of the copy); a knob or preset (:meth:`PlaySession.set_config`) builds a private run at step 0, exactly as without
  sharing. Nothing a session does changes a run it does not own; Play/Pause change only whether this
  session ticks. Private runs are wrapped as unlisted SharedRuns owned by their session, so a room's
  followers can be on the leader's run (:meth:`PlaySession.follow`, rnnviz/rooms.py).
- Locking: the session's guard points at the run's (``RunLock.target``): actions, ticks and drawing of every
  session on a run hold the run's lock, so no reader sees a half-appended record.
- Memory: a run is joined only while a session on it is connected (a run everyone left or closed is not
  joined: the next visitor starts afresh at step 0); ``RunRegistry.sweep(ttl)`` unlists it once none has been on it for
  ``ttl`` (the server sweeps right after Streamlit drops sessions at their TTL), and it is freed with its
  last session.

Thread safety: the registry and the cache hold their own short locks (never while building or
training). A run's own lock is ``run.guard`` (the lock the sessions on it hold for every action and
while drawing), so no reader sees a half-appended record.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

#: The figure cache's default bound: serialised Plotly JSON kept for every session to reuse.
FIGURE_CACHE_BYTES = 64 * 2**20

_ids = itertools.count(1)


def data_digest(data) -> str:
    """A content digest of a run's data: ``"none"`` (the task's own data), else SHA-256 over the bytes.

    A NumPy array (CSV series) is hashed with its dtype and shape; a ``str`` (char-LM text) as UTF-8.
    Equal content gives equal digests whatever object holds it; any other type is refused.
    """
    if data is None:
        return "none"
    h = hashlib.sha256()
    if isinstance(data, str):
        h.update(b"text\0")
        h.update(data.encode("utf-8", "surrogatepass"))
        return "text:" + h.hexdigest()
    import numpy as np

    if isinstance(data, np.ndarray):
        a = np.ascontiguousarray(data)
        h.update(f"array\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
        return "array:" + h.hexdigest()
    from rnnviz.errors import RnnvizError

    raise RnnvizError(f"run data must be None, a str or a NumPy array, got {type(data).__name__}")


def run_key(config, data=None) -> tuple[str, str]:
    """(the full config as JSON, data digest): sessions whose keys are equal share one run."""
    return config.to_json(), data_digest(data)


class RunLock:
    """A lock plus a count of actions waiting for it (a training tick yields to them).

    A session on a shared run points its guard at the run's (``target``): every action and every
    drawing of any session on the run then holds the run's one lock. :meth:`action` and :meth:`hold`
    re-check the target after acquiring, so an action that moves the session to another run meanwhile
    never leaves a caller holding the old run's lock while it touches the new run.
    """

    def __init__(self):
        self._lock = threading.RLock()
        self._count = threading.Lock()
        self._waiting = 0
        self.target: RunLock | None = None

    def _current(self) -> RunLock:
        return self.target._current() if self.target is not None else self

    @property
    def lock(self) -> threading.RLock:
        return self._current()._lock

    @property
    def waiting(self) -> int:
        return self._current()._waiting

    @contextlib.contextmanager
    def hold(self):
        """Hold the lock in force (no waiting count: a tick or a drawing, not an action)."""
        while True:
            g = self._current()
            g._lock.acquire()
            if g is self._current():
                break
            g._lock.release()
        try:
            yield
        finally:
            g._lock.release()

    @contextlib.contextmanager
    def action(self):
        while True:
            g = self._current()
            with g._count:
                g._waiting += 1
            try:
                g._lock.acquire()
            finally:
                with g._count:
                    g._waiting -= 1
            if g is self._current():
                break
            g._lock.release()
        try:
            yield
        finally:
            g._lock.release()


@dataclass(eq=False)
class SharedRun:
    """One trained run and who is on it.

    ``key`` is its :func:`run_key` while the registry lists it (anyone opening the same link joins it),
    None for a run that is not listed (a private run, or one a room leader owns). ``owner`` is the one
    session allowed to change it in place (None: nobody; every change then copies it). ``guard`` is the
    run's lock (a :class:`RunLock`), ``rate`` its steps/s, ``last_tick`` when (``time.monotonic``)
    a play-loop tick last started training it: one tick window trains it once, whoever ticks.
    """

    trainer: object
    config: object
    data: object
    guard: object
    rate: object
    key: tuple[str, str] | None = None
    owner: object = None
    last_tick: float = -1e9
    id: int = field(default_factory=lambda: next(_ids))
    members: weakref.WeakSet = field(default_factory=weakref.WeakSet)

    @property
    def name(self) -> str:
        """The run's name for the training gate: a shared run is one owner there, whoever ticks it."""
        return f"run-{self.id}"

    def watchers(self) -> int:
        """How many live sessions are on this run now."""
        return len(self.members)


class RunRegistry:
    """The server's listed runs, keyed by :func:`run_key`.

    ``get_or_build(key, build)`` returns the listed run while someone watches it (:meth:`in_use`: a live
    session on it whose browser is connected, ``alive``; a run everyone left or closed is not joined:
    whoever comes next starts afresh at step 0), else builds it (``build() -> SharedRun``) once:
    concurrent callers for the same key wait for the first build instead of training a copy each.
    A failed build raises in every waiting caller and lists nothing. ``sweep(ttl)`` unlists the runs
    with no live session on them for ``ttl`` seconds (the session TTL): the run's memory goes with its
    last session.
    """

    def __init__(self, alive: Callable[[object], bool] | None = None):
        self._lock = threading.Lock()
        self.alive = alive or (lambda session: True)  # the server: is this session's browser connected?
        self._runs: dict[tuple[str, str], SharedRun] = {}
        self._building: dict[tuple[str, str], threading.Event] = {}
        self._empty_since: dict[int, float] = {}
        self.builds = 0  # runs built (a measure: one per key however many sessions open it)

    def get_or_build(self, key: tuple[str, str], build: Callable[[], SharedRun]) -> SharedRun:
        while True:
            with self._lock:
                run = self._runs.get(key)
                if run is not None and self.in_use(run):
                    return run
                if run is not None:  # nobody is on it any more: a newcomer starts the run afresh
                    del self._runs[key]
                    self._empty_since.pop(run.id, None)
                event = self._building.get(key)
                if event is None:
                    event = self._building[key] = threading.Event()
                    mine = True
                else:
                    mine = False
            if not mine:
                event.wait()
                continue  # listed now (or the build failed: then this caller builds)
            try:
                run = build()
                run.key = key
                with self._lock:
                    self._runs[key] = run
                    self.builds += 1
                return run
            finally:
                with self._lock:
                    del self._building[key]
                event.set()

    def in_use(self, run: SharedRun) -> bool:
        """Someone watches ``run``: a live session on it whose browser is connected (``alive``)."""
        return any(self.alive(s) for s in list(run.members))

    def get(self, key: tuple[str, str]) -> SharedRun | None:
        with self._lock:
            return self._runs.get(key)

    def unlist(self, run: SharedRun) -> None:
        """Stop offering ``run`` to new sessions (its sessions keep it)."""
        with self._lock:
            if run.key is not None and self._runs.get(run.key) is run:
                del self._runs[run.key]
            self._empty_since.pop(run.id, None)

    def runs(self) -> list[SharedRun]:
        with self._lock:
            return list(self._runs.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)

    def clear(self) -> None:
        """Unlist every run (their sessions keep them): the next visitor of any link starts afresh."""
        with self._lock:
            self._runs.clear()
            self._empty_since.clear()

    def sweep(self, ttl: float, now: float | None = None) -> int:
        """Unlist every run that has had no live session for ``ttl`` seconds; returns how many went."""
        now = time.monotonic() if now is None else now
        gone = []
        with self._lock:
            for key, run in list(self._runs.items()):
                if self.in_use(run):
                    self._empty_since.pop(run.id, None)
                    continue
                since = self._empty_since.setdefault(run.id, now)
                if now - since >= ttl:
                    del self._runs[key]
                    self._empty_since.pop(run.id, None)
                    gone.append(run)
        return len(gone)


class FigureCache:
    """Serialised figures (Plotly JSON text) shared by every session, least recently used out first.

    ``get(key, build)``: the cached text for ``key`` (a hashable: run id, step, chart key, view
    parameters), else ``build()`` once, even when many threads ask for it at the same moment (they
    wait for the first). Entries are kept while their total ``size`` is at most ``max_bytes`` (an entry
    larger than that is served but not kept); ``size(value)`` defaults to the length of the text, or of
    a tuple's first item (``(spec, height)``). ``builds`` counts the builds, ``hits`` the reuses.
    :meth:`expire` drops what nobody has read lately (the server's sweeper calls it), so a class that has
    left gives the memory back instead of leaving up to ``max_bytes`` of stale figures behind.
    """

    def __init__(self, max_bytes: int = FIGURE_CACHE_BYTES, size: Callable[[object], int] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._used: dict[Hashable, float] = {}  # key -> when it was last built or read
        self.max_bytes = int(max_bytes)
        self.size = size or (lambda v: len(v if isinstance(v, str) else v[0]))
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, str] = OrderedDict()
        self._building: dict[Hashable, threading.Event] = {}
        self.nbytes = 0
        self.builds = 0
        self.hits = 0

    def get(self, key: Hashable, build: Callable[[], str]) -> str:
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    self._used[key] = self._clock()
                    self.hits += 1
                    return self._items[key]
                event = self._building.get(key)
                mine = event is None
                if mine:
                    event = self._building[key] = threading.Event()
            if not mine:
                event.wait()
                with self._lock:
                    if key in self._items:
                        self._items.move_to_end(key)
                        self._used[key] = self._clock()
                        self.hits += 1
                        return self._items[key]
                continue  # too large to keep, or the build failed: build it here
            try:
                text = build()
                with self._lock:
                    self.builds += 1
                    self._put(key, text)
                return text
            finally:
                with self._lock:
                    del self._building[key]
                event.set()

    def _put(self, key: Hashable, value) -> None:
        size = self.size(value)
        if size > self.max_bytes:
            return
        self._items[key] = value
        self._used[key] = self._clock()
        self.nbytes += size
        while self.nbytes > self.max_bytes:
            old_key, old = self._items.popitem(last=False)
            self._used.pop(old_key, None)
            self.nbytes -= self.size(old)

    def expire(self, max_age: float) -> int:
        """Drop every figure not built or read for ``max_age`` seconds; returns the bytes freed."""
        freed = 0
        with self._lock:
            cutoff = self._clock() - max_age
            while self._items:
                key = next(iter(self._items))  # least recently used first
                if self._used.get(key, cutoff) > cutoff:
                    break
                freed += self.size(self._items.pop(key))
                self._used.pop(key, None)
            self.nbytes -= freed
        return freed

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._used.clear()
            self.nbytes = 0
