"""The live area of every page: a ``st.fragment`` that redraws the page, then trains a tick's worth.

While the run plays, the fragment reruns every ``TICK_SECONDS`` (``run_every``). Each rerun first
draws the page (``render``), then trains for at most ``TRAIN_BUDGET_SECONDS`` (``PlaySession.tick``),
so no chart sits faded as stale while training runs; what is drawn lags training by one tick.
Widgets inside ``render`` rerun only the fragment, so scrubbing a slider during play is cheap.

A server-wide :class:`rnnviz.capacity.TrainingGate` caps how many sessions train at once; a
session over the cap still redraws, says it is queued, and trains on a later tick in its turn.
When the run stops by itself (diverged, paused by the watchdog, finished) the whole app reruns
once so the sidebar's play button flips back and the timer stops.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import streamlit as st

from rnnviz.capacity import DEFAULT_SLOTS, TrainingGate
from rnnviz.session import TICK_SECONDS, PlaySession
from ui import state
from ui.share import md_escape

#: How long a tick waits for a training slot before it shows "queued" and just redraws.
SLOT_WAIT_SECONDS = 0.2
#: Under load the redraw interval stretches with the demand per training slot, up to this factor:
#: drawing (server and browsers) then stops eating the CPU the queued sessions' training needs.
MAX_TICK_STRETCH = 8.0
INTERVAL_KEY = "rnnviz.tick_interval"  # the run_every the live fragment was registered with


@st.cache_resource
def training_gate() -> TrainingGate:
    """The server-wide cap on sessions training at once (RNNVIZ_TRAINING_SLOTS, default one per core)."""
    slots = os.environ.get("RNNVIZ_TRAINING_SLOTS", "")
    return TrainingGate(slots=int(slots) if slots.isdigit() and int(slots) > 0 else DEFAULT_SLOTS)


def tick_interval() -> float:
    """Seconds between redraws: TICK_SECONDS when the server is quiet, longer when many sessions
    want to train at once (demand per slot, capped at MAX_TICK_STRETCH)."""
    return TICK_SECONDS * min(MAX_TICK_STRETCH, max(1.0, training_gate().demand()))


def _gated_tick(sess, notice):
    """Train this tick if a slot is free (waiting briefly); else say so and keep the place in line."""
    if not sess.playing:
        return sess.tick()  # nothing to train: the tick only reports
    gate, owner = training_gate(), id(sess)
    if not gate.acquire(owner, timeout=SLOT_WAIT_SECONDS):
        ahead = max(gate.position(owner), 0) + gate.active
        notice.info(f"Server busy: {ahead} other run(s) are training; yours is queued and keeps its place.",
                    icon=":material/hourglass_top:")
        return None
    try:
        return sess.tick()
    finally:
        gate.release(owner)

STATE_TEXT = {"ready": "ready", "running": "paused", "paused": "paused", "diverged": "diverged",
              "finished": "finished"}


def status_bar(sess: PlaySession) -> None:
    """Step counter, steps/s (only while playing: a paused run has no rate), loss and run state, numbers
    to 3 significant figures; one compact line in the presentation view. A loud banner when the watchdog
    stopped the run."""
    trainer = sess.trainer
    hist = sess.history
    scal = hist.scalars if len(hist) else None
    metric_name = getattr(trainer.task, "metric_name", "metric") or "metric"
    state_text = "ready" if sess.current_step == 0 and trainer.state == "running" else \
        STATE_TEXT.get(trainer.state, trainer.state)
    items = (("Step", f"{sess.current_step:,}"),
             ("Steps / s", f"{sess.rate.per_second:.3g}" if sess.playing else "–"),
             ("Loss", fmt(scal["loss"][-1]) if scal is not None else "–"),
             (metric_name.split(" (")[0].capitalize(), fmt(scal["metric"][-1]) if scal is not None else "–"),
             ("State", "▶ playing" if sess.playing else state_text))
    if state.presenting():
        st.markdown(" · ".join(f"{label} **{value}**" for label, value in items))
    else:
        for col, (label, value) in zip(st.columns(5), items, strict=True):
            col.metric(label, value, help=metric_name if label not in ("Step", "Steps / s", "Loss", "State")
                       else None)
    reason = md_escape(trainer.reason)  # a loaded run's reason comes from its file: plain text only
    if trainer.state == "diverged":
        st.error(f"**The run diverged.** {reason}. Everything up to that step is kept: look at the "
                 "gradient norms, then lower ρ or the learning rate, or turn on clipping, and reset.",
                 icon=":material/error:")
    elif trainer.state == "paused" and trainer.reason:
        st.warning(f"Paused: {reason}.", icon=":material/pause_circle:")
    elif trainer.state == "finished":
        st.success(f"Finished: {reason}.", icon=":material/flag:")


def fmt(v) -> str:
    """A number to 3 significant figures ("0.000701", "7.05e+06"), "nan"/"inf" as words."""
    v = float(v)
    if v != v:
        return "nan"
    if abs(v) == float("inf"):
        return "inf" if v > 0 else "-inf"
    return f"{v:.3g}"


def live(render: Callable, *, sess=None, show_status: bool = True) -> None:
    """Run ``render(sess)`` inside the play loop's fragment.

    ``sess`` is the session whose ``tick()`` trains (the page's live run by default; the
    Compare page passes its CompareSession).
    """
    sess = sess or state.session()
    interval = tick_interval() if sess.playing else None
    st.session_state[INTERVAL_KEY] = interval

    @st.fragment(run_every=interval)
    def area() -> None:
        # Draw first, then train: while a tick trains, every chart on the page has already been
        # redrawn, so none is shown faded as "stale" (training first left the lower charts greyed
        # out for most of each tick during play). What is drawn lags the training by one tick.
        notice = st.empty()  # "server busy, queued" while the tick waits for a training slot
        status = show_status and isinstance(sess, PlaySession)
        present = state.presenting()  # on a projector the key chart comes first, the status line below it
        if status and not present:
            status_bar(sess)
        render(sess)
        if status and present:
            status_bar(sess)
        result = _gated_tick(sess, notice)
        if result is not None and (result.stopped or (result.steps and not sess.playing)):
            # the whole app: the play button flips back and the timer stops; also when pause was pressed
            # while this tick trained (the page drawn before the tick would otherwise stay one tick behind)
            st.rerun()
        registered = st.session_state.get(INTERVAL_KEY)
        if sess.playing and registered and not 0.67 < tick_interval() / registered < 1.5:
            st.rerun()  # the load changed: register the fragment again with the new interval

    area()
