"""The run controls, drawn by one helper: play / pause, step, ×10 and reset.

The sidebar draws them for the live run (keys ``ctl.*``) and the Compare page for its three cells
trained in lockstep (keys ``cmp.*``): same buttons, same rules, so Compare has no controls of its own.
Instructor flags apply to both: ``play`` hides or locks play, step and ×10 together; ``reset`` the
reset button. Callbacks look the session up when clicked (a config change may have replaced it).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui import state

#: Trainer states after which there is nothing left to train until a reset.
STOPPED = ("diverged", "finished")


def run_buttons(prefix: str, *, playing: bool, stopped: bool, on_play: Callable[[], None],
                on_step: Callable[[int], None], on_reset: Callable[[], None], play_label: str = "▶ Play",
                reset_label: str = "↺ Reset to step 0", reset_help: str | None = None) -> None:
    """Play / pause (one button), Step (1 step), ×10 and reset, keyed ``{prefix}.play`` etc."""
    flags = state.flags()
    if "play" not in flags.hidden:
        locked = "play" in flags.locked
        cols = st.columns([1.3, 1, 1])
        # "⏸" has no glyph in common fonts: the pause button uses a Material icon instead
        cols[0].button("Pause" if playing else play_label, key=f"{prefix}.play", on_click=on_play,
                       icon=":material/pause:" if playing else None,
                       type="primary", disabled=stopped or locked, width="stretch")
        cols[1].button("Step", key=f"{prefix}.step1", on_click=on_step, args=(1,),
                       disabled=stopped or playing or locked, help="Train one step", width="stretch")
        cols[2].button("×10", key=f"{prefix}.step10", on_click=on_step, args=(10,),
                       disabled=stopped or playing or locked, help="Train ten steps", width="stretch")
    if "reset" not in flags.hidden:
        st.button(reset_label, key=f"{prefix}.reset", on_click=on_reset, disabled="reset" in flags.locked,
                  width="stretch", help=reset_help)


# ---------------------------------------------------------------- the live run (sidebar)


def _live_play() -> None:
    sess = state.session()
    sess.pause() if sess.playing else sess.play()


def _live_step(n: int) -> None:
    state.session().step(n)


def _live_reset() -> None:
    state.session().reset()


def live_buttons(sess) -> None:
    """The sidebar's controls of the live run ``sess`` (a PlaySession)."""
    run_buttons("ctl", playing=sess.playing, stopped=sess.trainer.state in STOPPED, on_play=_live_play,
                on_step=_live_step, on_reset=_live_reset,
                reset_help="Same initial weights, same batches: the run repeats exactly.")


# ---------------------------------------------------------------- the three cells of Compare


def _compare_play() -> None:
    cmp = state.compare_session()
    cmp.pause() if cmp.playing else cmp.play()


def _compare_step(n: int) -> None:
    state.compare_session().step(n)


def _compare_reset() -> None:
    state.compare_session().reset()


def compare_buttons(cmp) -> None:
    """The Compare page's controls of its CompareSession ``cmp`` (all three cells at once)."""
    stopped = all(t.state in STOPPED for t in cmp.trainers.values())
    run_buttons("cmp", playing=cmp.playing, stopped=stopped, on_play=_compare_play, on_step=_compare_step,
                on_reset=_compare_reset, play_label="▶ Play all", reset_label="↺ Reset all to step 0",
                reset_help="The three cells start again from the same initial weights and batches.")
