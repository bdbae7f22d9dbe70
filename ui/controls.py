"""The one control strip at the top of every page: play / pause, step, ×10 and reset (one helper,
``run_buttons``), plus, in the presentation view, the preset and the page's main knobs.

There is exactly one play control on every page, in both views: the strip. It drives the live run
(keys ``ctl.*``), except on Compare, where the same strip drives its three cells trained in lockstep
(keys ``cmp.*``): same buttons, same rules, so Compare has no second Play and cannot show a Pause
while its runs sit at step 0.
Instructor flags apply to both: ``play`` hides or locks play, step and ×10 together; ``reset`` the
reset button. Callbacks look the session up when clicked (a config change may have replaced it).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from rnnviz.capacity import ServerBusy
from rnnviz.config import FIELDS
from ui import branching, state
from ui.server import wait_notice

#: Trainer states after which there is nothing left to train until a reset.
STOPPED = ("diverged", "finished")


def run_buttons(prefix: str, *, playing: bool, stopped: bool, on_play: Callable[[bool], None],
                on_step: Callable[[int], None], on_reset: Callable[[], None], play_label: str = "▶ Play",
                reset_label: str = "↺ Reset", reset_help: str | None = None) -> None:
    """Play / pause (one button), Step (1 step), ×10 and reset, keyed ``{prefix}.play`` etc.

    Each button is as wide as its words (``width="content"``), so no label is ever cut to "Pa…".
    ``on_play(play)`` gets True for a click on Play, False for a click on Pause.
    """
    flags = state.flags()
    playing = playing and not stopped  # a run that stopped while a tick trained it: nothing plays any more
    if "play" not in flags.hidden:
        locked = "play" in flags.locked
        # "⏸" has no glyph in common fonts: the pause button uses a Material icon instead
        # the click says what it was (pause or play), not "toggle": a click that reaches the server late,
        # after a rerun changed the state, still does what its label said (a Pause never starts the run)
        st.button("Pause" if playing else play_label, key=f"{prefix}.play", on_click=on_play, args=(not playing,),
                  icon=":material/pause:" if playing else None,
                  type="primary", disabled=stopped or locked, width="content")
        st.button("Step", key=f"{prefix}.step1", on_click=on_step, args=(1,),
                  disabled=stopped or playing or locked, help="Train one step", width="content")
        st.button("×10", key=f"{prefix}.step10", on_click=on_step, args=(10,),
                  disabled=stopped or playing or locked, help="Train ten steps", width="content")
    if "reset" not in flags.hidden:
        st.button(reset_label, key=f"{prefix}.reset", on_click=on_reset, disabled="reset" in flags.locked,
                  width="content", help=reset_help)


# ---------------------------------------------------------------- the live run (sidebar)


def _live_play(play: bool) -> None:
    sess = state.session()
    sess.play() if play else sess.pause()


def _unless_busy(action: Callable[[], object]) -> None:
    """Run a button's action; when the server stayed busy for the whole bounded wait, say so (the action
    did nothing) instead of failing the page."""
    try:
        action()
    except ServerBusy as err:
        wait_notice(f"{err}.")


def _live_step(n: int) -> None:
    _unless_busy(lambda: state.session().step(n))


def _live_reset() -> None:
    _unless_busy(state.session().reset)
    state.write_current_url()


def live_buttons(sess) -> None:
    """The sidebar's controls of the live run ``sess`` (a PlaySession)."""
    run = sess.runs.current
    where = "step 0" if run.parent is None else f"where {run.name} branched (step {run.branch_step:,})"
    run_buttons("ctl", playing=sess.playing, stopped=sess.trainer.state in STOPPED, on_play=_live_play,
                on_step=_live_step, on_reset=_live_reset,
                reset_help=f"Back to {where}: same weights, same batches, so the run repeats exactly.")


# ---------------------------------------------------------------- the three cells of Compare


def _compare_play(play: bool) -> None:
    cmp = state.compare_session()
    cmp.play() if play else cmp.pause()


def _compare_step(n: int) -> None:
    _unless_busy(lambda: state.compare_session().step(n))


def _compare_reset() -> None:
    _unless_busy(state.compare_session().reset)


def compare_buttons(cmp) -> None:
    """The Compare page's controls of its CompareSession ``cmp`` (all three cells at once)."""
    stopped = all(t.state in STOPPED for t in cmp.trainers.values())
    run_buttons("cmp", playing=cmp.playing, stopped=stopped, on_play=_compare_play, on_step=_compare_step,
                on_reset=_compare_reset, play_label="▶ Play all", reset_label="↺ Reset all",
                reset_help="The three cells start again from the same initial weights and batches.")


# ---------------------------------------------------------------- the strip


#: The page's one or two main knobs, shown in the presentation view's strip (url path -> field names).
PAGE_KNOBS: dict[str, tuple[str, ...]] = {
    "playground": ("cell", "lr"),
    "hidden_states": ("cell", "seq_len"),
    "gates": ("cell", "forget_bias"),
    "gradient_flow": ("cell", "rho"),
    "compare": ("task", "seq_len"),
    "phase_diagram": ("cell", "init"),
}
PRESENT_TOGGLE = "ui.present"
#: Widths (px) of the strip's select boxes and knobs: wide enough for "Sequence length / lag T".
STRIP_WIDGET_WIDTH = 200


def _on_present() -> None:
    state.set_presenting(bool(st.session_state[PRESENT_TOGGLE]))


def present_toggle() -> None:
    """The presentation-view switch (``?view=present``), the same on every page."""
    st.session_state[PRESENT_TOGGLE] = state.presenting()
    st.toggle("Presentation view", key=PRESENT_TOGGLE, on_change=_on_present, width="content",
              help="For a projector: no sidebar, this strip holds the controls, the key chart comes first "
                   "and fits a 1280x720 screen. The link keeps it (view=present).")


def strip(page: str) -> None:
    """The control strip of ``page`` (a url path in ``ui.frame.PAGE_TABLE``), drawn above the page."""
    from ui import sidebar  # the knob helpers (sidebar imports state only: no cycle at import time)

    sess = state.session()
    present = state.presenting()
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small", key="control-strip"):
        if page == "compare" and sess.loaded is None:
            compare_buttons(state.compare_session())
        elif sess.loaded is None:
            live_buttons(sess)
        branching.strip_controls(sess, page)
        if present:
            with st.container(width=STRIP_WIDGET_WIDTH + 40):
                sidebar.preset_picker()
            for name in PAGE_KNOBS.get(page, ()):
                with st.container(width=STRIP_WIDGET_WIDTH + 80 if FIELDS[name].exact_input else STRIP_WIDGET_WIDTH):
                    sidebar.knobs((name,))
        present_toggle()
    if present:
        if sess.loaded is not None:
            sidebar.render_loaded(sess)
        sidebar.config_error()
