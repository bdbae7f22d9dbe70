"""The live area of every page: a ``st.fragment`` that redraws the page, then trains a tick's worth.

While the run plays, the fragment reruns every ``TICK_SECONDS`` (``run_every``). Each rerun first
draws the page (``render``), then trains for at most ``TRAIN_BUDGET_SECONDS`` (``PlaySession.tick``),
so no chart sits faded as stale while training runs; what is drawn lags training by one tick.
Widgets inside ``render`` rerun only the fragment, so scrubbing a slider during play is cheap.

A server-wide :class:`rnnviz.capacity.TrainingGate` caps how many sessions train at once; a
session over the cap still redraws, says it is queued, and trains on a later tick in its turn.
The session holds the gate itself (``sess.gate``), for every piece of compute: ticks, Step, run
building, Compare and the Jacobian. The page is drawn from a snapshot of the run
(``PlaySession.reading``), without its lock, while a click handled by another script run
(``runner.fastReruns``) acts holding the lock: it waits for the tick, which stops after its current step,
instead of touching the trainer at the same time.
When the run stops by itself (diverged, paused by the watchdog, finished) the whole app reruns
once so the sidebar's play button flips back and the timer stops.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from rnnviz.config import MAX_STEP_SECONDS
from rnnviz.session import MAX_STEPS_PER_TICK, TICK_SECONDS, TRAIN_BUDGET_SECONDS, PlaySession
from ui import rooms, state
from ui.server import session_sweeper, sweep_closed_sessions, training_gate  # noqa: F401 - re-exported
from ui.text import md_escape

#: Under load a tick trains longer, in proportion to its stretched redraw interval, so a session keeps its
#: share of time training (TRAIN_BUDGET_SECONDS of every TICK_SECONDS) when the server redraws it less often;
#: but never past this fraction of its fair share of the slots (slots x interval / sessions asking), so the
#: sessions together ask for at most FAIR_FILL of the slot time there is. Measured with
#: ``benchmarks/load_server.py``: with the budget fixed at 0.3 s, a light session beside two heavy ones kept
#: 65% of its steps/s (0.3 s of every 0.75 s instead of every 0.5 s), and 10 private runs, asking 0.3 s per
#: 1.5 s (all of 2 slots' time), queued a third of their ticks and stood still up to 5.8 s; with a budget
#: stretched without the cap (0.6 s per 1.5 s) they stood still 5-6 s.
FAIR_FILL = 0.8
#: A tick trains at least this long (and at least one step) however full the server: a tick's own cost
#: (its slot, its cadence record, its redraw) stays a small part of it.
MIN_TICK_BUDGET_SECONDS = 0.1
#: The longest training budget of a tick: the fair share's cap at demands 1-3 (FAIR_FILL x TICK_SECONDS).
MAX_TICK_BUDGET_SECONDS = max(TRAIN_BUDGET_SECONDS, FAIR_FILL * TICK_SECONDS)
#: How long a tick waits for a training slot before it shows "queued" and just redraws: one whole hold of
#: a slot by another tick (its budget plus one step the cost rule allows), so a waiting session is still
#: asking when a slot frees (a shorter wait could fall between releases tick after tick and starve it).
SLOT_WAIT_SECONDS = 2 * MAX_TICK_BUDGET_SECONDS + MAX_STEP_SECONDS
#: Under load a tick may train more steps, in proportion to its stretched interval, up to this factor: the
#: stretch draws less often, it does not cap a light session's pace lower.
MAX_WORK_STRETCH = 2.0
#: Under load the redraw interval stretches with the demand per training slot, up to this factor:
#: drawing (server and browsers) then takes less of the CPU the queued sessions' training needs. At most 1.5 s,
#: so a tick that finds no slot leaves the step counter still for 3 s, not 5 (a redraw costs little since the
#: server stopped collecting garbage after each script run).
MAX_TICK_STRETCH = 3.0
#: A following student's redraw interval (s): the teacher's run is drawn from a snapshot and the figure cache.
FOLLOW_SECONDS = 1.5 * TICK_SECONDS
INTERVAL_KEY = "rnnviz.tick_interval"  # the run_every the live fragment was registered with


def tick_work(interval: float, demand: float) -> tuple[float, int]:
    """(train budget s, max steps) of a tick whose redraw interval is ``interval`` on a server whose
    :meth:`~rnnviz.capacity.TrainingGate.demand` (sessions asking per slot) is ``demand``.

    With the stretch k = interval / TICK_SECONDS (at least 1) and the fair share interval / demand:

        budget    = max(MIN_TICK_BUDGET_SECONDS, min(k * TRAIN_BUDGET_SECONDS, FAIR_FILL * interval / demand))
        max steps = MAX_STEPS_PER_TICK * min(k, MAX_WORK_STRETCH)

    So the sessions' asks add up to demand * budget / interval <= FAIR_FILL of the slot time (unless the
    class is so large that every tick is at MIN_TICK_BUDGET_SECONDS: then the queue shares out the rest), and
    a light session beside heavy ones trains the same share of its time as alone, within that."""
    k = max(1.0, interval / TICK_SECONDS)
    fair = FAIR_FILL * interval / max(demand, 1e-9)
    budget = max(MIN_TICK_BUDGET_SECONDS, min(k * TRAIN_BUDGET_SECONDS, fair))
    return budget, int(MAX_STEPS_PER_TICK * min(MAX_WORK_STRETCH, k))


def stretched_interval(demand: float) -> float:
    """Seconds between redraws at ``demand`` sessions asking per slot: TICK_SECONDS x demand, at least
    TICK_SECONDS and at most MAX_TICK_STRETCH times it."""
    return TICK_SECONDS * min(MAX_TICK_STRETCH, max(1.0, demand))


def tick_interval() -> float:
    """Seconds between redraws on this server now: TICK_SECONDS when it is quiet, longer when many sessions
    want to train at once (:func:`stretched_interval` of the gate's demand)."""
    return stretched_interval(training_gate().demand())


def _gated_tick(sess, notice):
    """Train this tick if a slot is free (waiting briefly); else say so and keep the place in line."""
    sess.gate = training_gate()
    budget, max_steps = tick_work(st.session_state.get(INTERVAL_KEY) or TICK_SECONDS, sess.gate.demand())
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
    """Step counter, steps/s (only while playing: a paused run has no rate), loss and run state, numbers
    to 3 significant figures; one compact line in the presentation view. A loud banner when the watchdog
    stopped the run."""
    trainer = sess.trainer
    hist = sess.history
    scal = hist.scalars if len(hist) else None
    metric_name = getattr(trainer.task, "metric_name", "metric") or "metric"
    state_text = "ready" if sess.current_step == 0 and not trainer.stop_reason else \
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
        shared_note(sess)
    reason = md_escape(trainer.reason)  # a loaded run's reason comes from its file: plain text only
    if trainer.state == "diverged":
        st.error(f"**The run diverged.** {reason}. Everything up to that step is kept: look at the "
                 "gradient norms, then lower ρ or the learning rate, or turn on clipping, and reset.",
                 icon=":material/error:")
    elif trainer.state == "paused" and trainer.reason:
        st.warning(f"Paused: {reason}.", icon=":material/pause_circle:")
    elif trainer.state == "finished":
        st.success(f"Finished: {reason}.", icon=":material/flag:")


def shared_note(sess) -> None:
    """Under the status bar, when others on this server are on the same listed run (not in a room)."""
    run = getattr(sess, "shared", None)
    others = run.watchers() - 1 if run is not None and run.key is not None and sess.loaded is None else 0
    if others > 0 and state.room() is None:
        st.caption(f"Shared run: {others} other session(s) on this server show this same run (same settings, seed "
                   "and data), trained once for all of you. Step, ×10, Reset or any setting gives you your own copy.")


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
    session_sweeper()
    sess = sess or state.session()
    student = isinstance(sess, PlaySession) and rooms.watching()  # redraws to follow the teacher, even paused
    # a student redraws at the quiet pace whatever the load: the drawing is of a snapshot from the figure cache,
    # and what stretches under load is training (a student's interval, fixed when they joined, stayed stretched)
    interval = FOLLOW_SECONDS if student else tick_interval() if sess.playing else None
    st.session_state[INTERVAL_KEY] = interval

    @st.fragment(run_every=interval)
    def area() -> None:
        # Draw first, then train: while a tick trains, every chart on the page has already been
        # redrawn, so none is shown faded as "stale" (training first left the lower charts greyed
        # out for most of each tick during play). What is drawn lags the training by one tick.
        if student:
            rooms.refresh()  # the teacher's run, page, play state: a rerun of the app when they moved
        notice = st.empty()  # "server busy, queued" while the tick waits for a training slot
        status = show_status and isinstance(sess, PlaySession)
        present = state.presenting()  # on a projector the key chart comes first, the status line below it
        # a PlaySession's page draws a snapshot of the run (training goes on meanwhile, and the students of a
        # room do not queue behind it or each other); Compare's lockstep runs are read holding their lock
        with sess.reading() if isinstance(sess, PlaySession) else sess.lock:
            if status and not present:
                status_bar(sess)
            render(sess)
            if status and present:
                status_bar(sess)
        # a following student only redraws: the teacher's ticks alone train the teacher's run, so their Pause
        # stops it exactly (a student's tick could otherwise train one more window before it heard of the pause)
        result = None if student and rooms.following() else _gated_tick(sess, notice)
        registered = st.session_state.get(INTERVAL_KEY)
        # the whole app, so the play button flips back and the timer stops: when this tick stopped the run, and
        # when the page was drawn as playing but the session no longer plays (it stopped in a tick of another
        # script run while this page was drawn: the strip showed a disabled Pause until the next click)
        if (result is not None and result.stopped) or (registered and not student and not sess.playing):
            st.rerun()
        # (not for a student: a whole-app rerun requested from this fragment can blank the page, see ui/rooms.py)
        if sess.playing and not student and registered and not 0.67 < tick_interval() / registered < 1.5:
            st.rerun()  # the load changed: register the fragment again with the new interval

    area()
