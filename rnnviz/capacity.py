"""A process-wide cap on how many sessions train at the same moment, with fair queuing.

A classroom server has a few cores and tens of students pressing play. Without a cap every
session trains at once, the cores thrash, and every tick (and redraw) slows for everyone. With
:class:`TrainingGate` at most ``slots`` sessions train at a time; the others wait their turn and keep
their place across ticks: the session that used the least slot time lately goes first (ties: first
come, first served), so a light session is not held up behind heavy ones and no session starves, and a
waiting session still redraws and can say "server busy, queued (n ahead)" instead of hanging.

A session that stops asking (tab closed, paused) drops out of the queue after ``stale_after``
seconds, so it can never block the others.

Pure Python (threading only); the app keeps one shared instance (``st.cache_resource``).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager

from rnnviz.errors import RnnvizError

SLOTS_ENV = "RNNVIZ_TRAINING_SLOTS"  # overrides the one-slot-per-core default
#: Slot time used is remembered with this half-life (s): who used least lately goes first.
USAGE_HALF_LIFE_SECONDS = 3.0
#: A holder yields to an asking session only when it used this much more slot time lately (s): sessions with
#: about equal use finish their ticks instead of handing the slot back and forth after every step.
YIELD_MARGIN_SECONDS = 0.3
STALE_AFTER_SECONDS = 5.0  # a queued session that has not asked again for this long has left


class ServerBusy(RnnvizError):
    """No training slot came free within an action's bounded wait: the action did nothing; try again
    (unlike other RnnvizErrors this says nothing about the input, so it is never remembered as a refusal)."""


def default_slots(environ: Mapping[str, str] = os.environ) -> int:
    """Training slots for this server: ``RNNVIZ_TRAINING_SLOTS`` when it is a positive integer, else one
    per core (``os.cpu_count()``): training is CPU-bound and every session trains on one thread."""
    text = str(environ.get(SLOTS_ENV, "")).strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    return max(1, os.cpu_count() or 1)


class TrainingGate:
    """At most ``slots`` owners inside at once; waiting owners are admitted in arrival order.

    ``acquire(owner, timeout)`` returns True when ``owner`` may train now (then ``release(owner)``),
    False when it is still queued after ``timeout`` seconds (its place is kept for the next call).
    """

    def __init__(self, slots: int | None = None, stale_after: float = STALE_AFTER_SECONDS,
                 clock=time.monotonic):
        slots = default_slots() if slots is None else slots
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 1:
            raise RnnvizError(f"training slots must be an integer >= 1, got {slots!r}")
        self.slots = slots
        self.stale_after = float(stale_after)
        self._clock = clock
        self._cond = threading.Condition()
        self._active: set[Hashable] = set()
        self._queue: OrderedDict[Hashable, float] = OrderedDict()  # owner -> last time it asked
        self._waiting: set[Hashable] = set()  # owners inside acquire() right now
        self._seen: dict[Hashable, float] = {}  # every owner -> last time it asked (for demand())
        self._entered: dict[Hashable, float] = {}  # owner inside -> when it entered
        self._usage: dict[Hashable, tuple[float, float]] = {}  # owner -> (slot seconds, decayed to time)

    # ------------------------------------------------------------------ entering and leaving
    def acquire(self, owner: Hashable, timeout: float = 0.0) -> bool:
        """Take a slot for ``owner`` (waiting up to ``timeout`` s); False leaves it queued in place."""
        deadline = self._clock() + max(0.0, timeout)
        with self._cond:
            if owner in self._active:
                raise RnnvizError(f"owner {owner!r} already holds a training slot")
            self._queue.setdefault(owner, self._clock())
            self._seen[owner] = self._clock()
            self._waiting.add(owner)
            try:
                while True:
                    now = self._clock()
                    self._queue[owner] = now  # still here: keep the place
                    self._drop_stale(now)
                    if self._admissible(owner, now):
                        del self._queue[owner]
                        self._active.add(owner)
                        self._entered[owner] = now
                        return True
                    remaining = deadline - now
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            finally:
                self._waiting.discard(owner)
                self._cond.notify_all()  # the order among waiters changed

    def release(self, owner: Hashable) -> None:
        with self._cond:
            if owner in self._active:
                now = self._clock()
                self._usage[owner] = (self.usage(owner, now) + now - self._entered.pop(owner, now), now)
            self._active.discard(owner)
            self._cond.notify_all()

    def usage(self, owner: Hashable, now: float | None = None) -> float:
        """Slot seconds ``owner`` used lately: each second held counts 2^(-age / USAGE_HALF_LIFE_SECONDS)."""
        now = self._clock() if now is None else now
        used, at = self._usage.get(owner, (0.0, now))
        return used * 0.5 ** (max(0.0, now - at) / USAGE_HALF_LIFE_SECONDS)

    def should_yield(self, owner: Hashable) -> bool:
        """True when ``owner`` holds a slot, none is free, and a session that used less slot time lately, by
        more than YIELD_MARGIN_SECONDS (counting ``owner``'s current hold), is asking: the holder stops after
        its current step, so a light session waits at most one step of a heavy one."""
        with self._cond:
            if owner not in self._active or len(self._active) < self.slots:
                return False
            now = self._clock()
            mine = self.usage(owner, now) + now - self._entered.get(owner, now) - YIELD_MARGIN_SECONDS
            return any(self.usage(o, now) < mine for o in self._waiting if o in self._queue)

    @contextmanager
    def slot(self, owner: Hashable, timeout: float = 0.0) -> Iterator[bool]:
        """``with gate.slot(owner, timeout) as admitted:`` a slot held for the block when ``admitted``,
        released on leaving it (also on an exception); not admitted: nothing is held."""
        admitted = self.acquire(owner, timeout)
        try:
            yield admitted
        finally:
            if admitted:
                self.release(owner)

    def leave(self, owner: Hashable) -> None:
        """Give up a place in the queue (the session paused or went away)."""
        with self._cond:
            self._queue.pop(owner, None)
            self._cond.notify_all()

    # ------------------------------------------------------------------ what a waiting session is told
    def position(self, owner: Hashable) -> int:
        """How many queued sessions are ahead of ``owner`` (0: next in line; -1: not queued)."""
        with self._cond:
            order = self._order(self._clock())
            return order.index(owner) if owner in order else -1

    def demand(self, window: float = STALE_AFTER_SECONDS) -> float:
        """Sessions that asked to train within the last ``window`` seconds, per slot (1.0 = fully used).

        The app stretches its redraw interval by this factor under load: a class of 20 on 2 slots
        redraws each page less often instead of starving everyone's training of CPU.
        """
        with self._cond:
            now = self._clock()
            for o in [o for o, t in self._seen.items() if now - t > window]:
                del self._seen[o]
            return len(self._seen) / self.slots

    @property
    def active(self) -> int:
        with self._cond:
            return len(self._active)

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    # ------------------------------------------------------------------ rules
    def _order(self, now: float) -> list[Hashable]:
        """The queue in admission order: least slot time used lately first, then longest queued (a
        light session, whose steps are cheap, is not held up behind heavy ones; equals take turns)."""
        arrival = {o: i for i, o in enumerate(self._queue)}
        return sorted(self._queue, key=lambda o: (round(self.usage(o, now), 3), arrival[o]))

    def _admissible(self, owner: Hashable, now: float) -> bool:
        """Free slots go to the first owners in :meth:`_order` that are asking now: ``owner`` enters if it
        is among the first ``free`` of them. A queued owner between two ticks (not asking) holds its place
        but does not hold a slot idle: it is first again as soon as it asks."""
        free = self.slots - len(self._active)
        if free <= 0:
            return False
        asking = [o for o in self._order(now) if o in self._waiting]
        return owner in asking[:free]

    def _drop_stale(self, now: float) -> None:
        stale = [o for o, seen in self._queue.items() if now - seen > self.stale_after]
        for o in stale:
            del self._queue[o]
        for o in [o for o, (_, at) in self._usage.items() if now - at > 20 * USAGE_HALF_LIFE_SECONDS]:
            del self._usage[o]  # forgotten: under a millionth of what it used
        if stale:
            self._cond.notify_all()
