"""The live area of every page: a ``st.fragment`` that redraws the page, then trains a tick's worth.

While the run plays, the fragment reruns every ``TICK_SECONDS`` (``run_every``). Each rerun first
draws the page (``render``), then trains for at most ``TRAIN_BUDGET_SECONDS`` (``PlaySession.tick``),
so no chart sits faded as stale while training runs; what is drawn lags training by one tick.
Widgets inside ``render`` rerun only the fragment, so scrubbing a slider during play is cheap.

A server-wide :class:`rnnviz.capacity.TrainingGate` caps how many sessions train at once; a
session over the cap still redraws, says it is queued, and trains on a later tick in its turn.
The session holds the gate itself (``sess.gate``), for every piece of compute: ticks, Step, run
building, Compare and the Jacobian. The page is drawn while holding the session's lock, so a click
handled by another script run (``runner.fastReruns``) waits for the tick, which stops after its
current step, instead of touching the trainer at the same time.
When the run stops by itself (diverged, paused by the watchdog, finished) the whole app reruns
once so the sidebar's play button flips back and the timer stops.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
import time
from collections.abc import Callable

import streamlit as st

from rnnviz.capacity import TrainingGate
from rnnviz.config import MAX_STEP_SECONDS
from rnnviz.session import MAX_STEPS_PER_TICK, TICK_SECONDS, TRAIN_BUDGET_SECONDS, PlaySession
from ui import state
from ui.share import md_escape

#: How long a tick waits for a training slot before it shows "queued" and just redraws: one whole hold of
#: a slot by another tick (its budget plus one step the cost rule allows), so a waiting session is still
#: asking when a slot frees (a shorter wait could fall between releases tick after tick and starve it).
SLOT_WAIT_SECONDS = 2 * TRAIN_BUDGET_SECONDS + MAX_STEP_SECONDS
#: Under load a tick trains longer, in proportion to its stretched interval, up to this factor: the stretch
#: draws less often, it does not train less (a light session keeps its pace while heavy ones queue).
MAX_WORK_STRETCH = 2.0
#: Under load the redraw interval stretches with the demand per training slot, up to this factor:
#: drawing (server and browsers) then stops eating the CPU the queued sessions' training needs.
MAX_TICK_STRETCH = 8.0
INTERVAL_KEY = "rnnviz.tick_interval"  # the run_every the live fragment was registered with
#: How often closed tabs' sessions are looked for (they go once server.disconnectedSessionTTL has passed).
SWEEP_SECONDS = 10.0

_LOG = logging.getLogger(__name__)


@st.cache_resource
def training_gate() -> TrainingGate:
    """The server-wide cap on sessions training at once (RNNVIZ_TRAINING_SLOTS, default one per core)."""
    return TrainingGate()


@st.cache_resource
def session_sweeper() -> threading.Thread | None:
    """Free closed tabs' sessions (and their runs) once their TTL has passed, without waiting for a new
    connection: Streamlit keeps a disconnected session in a TTL cache that only drops expired entries
    when it is written to or its length is asked, i.e. when someone else connects. Every SWEEP_SECONDS
    this thread asks (under the session manager's own lock), then collects the freed runs' cycles and
    hands the freed heap back to the system. One per server; None if the runtime is not Streamlit's."""
    try:
        from streamlit.runtime import Runtime

        manager = Runtime.instance()._session_mgr
        lock, cache = manager._storage_lock, manager._session_storage._cache
    except Exception:  # noqa: BLE001 - a test harness or another Streamlit: nothing to sweep
        _LOG.info("rnnviz: no session storage to sweep", exc_info=True)
        return None

    def sweep() -> None:
        while True:
            time.sleep(SWEEP_SECONDS)
            try:
                sweep_closed_sessions(lock, cache)
            except Exception:  # noqa: BLE001 - the sweeper must never die
                _LOG.warning("rnnviz: session sweep failed", exc_info=True)

    thread = threading.Thread(target=sweep, name="rnnviz-session-sweeper", daemon=True)
    thread.start()
    return thread


def sweep_closed_sessions(lock, cache) -> int:
    """One sweep: the TTL cache of disconnected sessions drops its expired entries (on a length query);
    then their runs' reference cycles are collected and the heap trimmed. Returns how many went."""
    with lock:
        before = len(getattr(cache, "_data", ()))  # expired entries too, until the line below
        after = len(cache)
    if after < before:
        gc.collect()
        _trim_heap()
    return before - after


def _trim_heap() -> None:
    """glibc keeps freed memory for reuse; ``malloc_trim(0)`` returns what it can to the system."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def tick_work(interval: float) -> tuple[float, int]:
    """(train budget s, max steps) of a tick whose redraw interval is ``interval``: the 0.5 s tick's
    TRAIN_BUDGET_SECONDS and MAX_STEPS_PER_TICK scaled with the stretch, at most MAX_WORK_STRETCH times."""
    k = min(MAX_WORK_STRETCH, max(1.0, interval / TICK_SECONDS))
    return TRAIN_BUDGET_SECONDS * k, int(MAX_STEPS_PER_TICK * k)


def tick_interval() -> float:
    """Seconds between redraws: TICK_SECONDS when the server is quiet, longer when many sessions
    want to train at once (demand per slot, capped at MAX_TICK_STRETCH)."""
    return TICK_SECONDS * min(MAX_TICK_STRETCH, max(1.0, training_gate().demand()))


def _gated_tick(sess, notice):
    """Train this tick if a slot is free (waiting briefly); else say so and keep the place in line."""
    sess.gate = training_gate()
    budget, max_steps = tick_work(st.session_state.get(INTERVAL_KEY) or TICK_SECONDS)
    result = sess.tick(budget, max_steps, wait=SLOT_WAIT_SECONDS)
    if result.queued:
        gate = sess.gate
        ahead = max(gate.position(sess.owner), 0) + gate.active
        notice.info(f"Server busy: {ahead} other run(s) are training; yours is queued and keeps its place.",
                    icon=":material/hourglass_top:")
        return None
    return result

STATE_TEXT = {"ready": "ready", "running": "paused", "paused": "paused", "diverged": "diverged",
              "finished": "finished"}


def status_bar(sess: PlaySession) -> None:
    """Step counter, steps/s, loss and run state; a loud banner when the watchdog stopped the run."""
    trainer = sess.trainer
    hist = sess.history
    scal = hist.scalars if len(hist) else None
    cols = st.columns(5)
    cols[0].metric("Step", f"{sess.current_step:,}")
    cols[1].metric("Steps / s", f"{sess.rate.per_second:.1f}" if sess.playing or sess.rate.per_second else "–")
    cols[2].metric("Loss", _fmt(scal["loss"][-1]) if scal is not None else "–")
    metric_name = getattr(trainer.task, "metric_name", "metric") or "metric"
    cols[3].metric(metric_name.capitalize(), _fmt(scal["metric"][-1]) if scal is not None else "–")
    state_text = "ready" if sess.current_step == 0 and not trainer.stop_reason else \
        STATE_TEXT.get(trainer.state, trainer.state)
    cols[4].metric("State", "▶ playing" if sess.playing else state_text)
    reason = md_escape(trainer.reason)  # a loaded run's reason comes from its file: plain text only
    if trainer.state == "diverged":
        st.error(f"**The run diverged.** {reason}. Everything up to that step is kept: look at the "
                 "gradient norms, then lower ρ or the learning rate, or turn on clipping, and reset.",
                 icon=":material/error:")
    elif trainer.state == "paused" and trainer.reason:
        st.warning(f"Paused: {reason}.", icon=":material/pause_circle:")
    elif trainer.state == "finished":
        st.success(f"Finished: {reason}.", icon=":material/flag:")


def _fmt(v) -> str:
    v = float(v)
    if v != v:
        return "nan"
    if abs(v) == float("inf"):
        return "inf"
    return f"{v:.4g}"


def live(render: Callable, *, sess=None, show_status: bool = True) -> None:
    """Run ``render(sess)`` inside the play loop's fragment.

    ``sess`` is the session whose ``tick()`` trains (the page's live run by default; the
    Compare page passes its CompareSession).
    """
    session_sweeper()
    sess = sess or state.session()
    interval = tick_interval() if sess.playing else None
    st.session_state[INTERVAL_KEY] = interval

    @st.fragment(run_every=interval)
    def area() -> None:
        # Draw first, then train: while a tick trains, every chart on the page has already been
        # redrawn, so none is shown faded as "stale" (training first left the lower charts greyed
        # out for most of each tick during play). What is drawn lags the training by one tick.
        notice = st.empty()  # "server busy, queued" while the tick waits for a training slot
        with sess.lock:  # no step is appended while the page reads the run
            if show_status and isinstance(sess, PlaySession):
                status_bar(sess)
            render(sess)
        result = _gated_tick(sess, notice)
        if result is not None and result.stopped:
            st.rerun()  # the whole app: the play button flips back and the timer stops
        registered = st.session_state.get(INTERVAL_KEY)
        if sess.playing and registered and not 0.67 < tick_interval() / registered < 1.5:
            st.rerun()  # the load changed: register the fragment again with the new interval

    area()
