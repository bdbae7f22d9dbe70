"""The steps/s the status bar shows: steps per wall-clock second over the last few seconds of ticks.

Counting training seconds only (the time inside ``PlaySession.tick``) overstated what the class sees
by the drawing and waiting between ticks (23-63 shown while the step counter moved 4-14 per second).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

#: The steps/s the status bar shows is measured over the ticks of about this many recent wall-clock seconds.
RATE_WINDOW_SECONDS = 5.0


@dataclass
class StepRate:
    """Steps per wall-clock second over the last ``window`` seconds: what the class sees the step counter do.

    rate = (steps trained in ticks that ended in (anchor, last]) / (last - anchor), where ``last`` is
    the end of the newest tick and ``anchor`` the end of the newest tick older than the window (or the
    start of the first tick's training): the time between ticks (drawing, waiting for a slot, the
    browser) counts, not only the seconds spent training. ``clock`` is injectable for tests.
    """

    window: float = RATE_WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    ticks: deque = field(default_factory=deque)  # (end time, steps) of the ticks after the anchor
    anchor: float | None = None

    def add(self, steps: int, seconds: float) -> None:
        """A tick (or Step) that trained ``steps`` steps in ``seconds`` s of training, ending now."""
        now = self.clock()
        if self.anchor is None:
            self.anchor = now - seconds
        self.ticks.append((now, steps))
        while len(self.ticks) > 1 and self.ticks[0][0] < now - self.window:
            self.anchor = self.ticks.popleft()[0]

    @property
    def per_second(self) -> float:
        if not self.ticks:
            return 0.0
        span = self.ticks[-1][0] - self.anchor
        return sum(s for _, s in self.ticks) / span if span > 0 else 0.0

    def clear(self) -> None:
        self.ticks.clear()
        self.anchor = None

    def start(self) -> None:
        """Play was pressed: measure from now (the wait for the first tick counts too)."""
        self.clear()
        self.anchor = self.clock()
