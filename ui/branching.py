"""Rewind and branch in the control strip: "Branch from here", the run switcher and "Delete branch".

"Branch from here" branches the shown run at the step the page's scrubber shows (the newest step on a
page without one, or while the scrubber follows the newest), from the checkpoint at or before it, with
the branch knobs the popover holds (``rnnviz.branches.BRANCH_KNOBS``; the others would change shapes or
act only at step 0, so a branch cannot change them). The switcher picks which run every page shows;
the loss, gradient-norm and gradient-flow charts overlay the others. While a branch is shown, a branch
knob in the sidebar makes that branch again from its branch point (ui/sidebar.py); the other knobs are
off there. The same switcher shows the runs of a loaded file (read-only: no branching, no delete).
"""

from __future__ import annotations

import streamlit as st

from rnnviz import branches
from rnnviz.config import FIELDS
from rnnviz.errors import RnnvizError
from ui import state

#: The scrubber's session key on each page that has one (ui/widgets.py view_picker: ``{key}.step``).
SCRUB_KEYS = {"hidden_states": "hidden.step", "gates": "gates.step", "gradient_flow": "flow.step"}
#: The knobs the popover offers (the others of BRANCH_KNOBS are in the sidebar's "More settings").
POPOVER_KNOBS = ("lr", "clip", "clip_threshold", "optimizer", "batch_size")
ERROR_KEY = "cfg.error"  # the sidebar's (and the presentation strip's) error line: ui/sidebar.py
SWITCH_KEY = "run.switch"


def scrubbed_step(sess, page: str) -> int:
    """The step the page shows: its scrubber's value, else the newest step."""
    key = SCRUB_KEYS.get(page)
    value = st.session_state.get(key) if key else None
    newest = sess.current_step
    return newest if value is None else min(int(value), newest)


def knob_key(name: str, sess) -> str:
    """The popover knob's key: new for every shown run and config, so it starts at that run's value (a value
    set in ``st.session_state`` beforehand is lost while the popover was never opened)."""
    return f"branch.{name}.{sess.runs.active}.{hash(sess.config):x}"


def _knob(name: str, sess) -> None:
    """One branch knob in the popover, from its Field; starts at the shown run's value."""
    f = FIELDS[name]
    common = dict(value=getattr(sess.config, name), key=knob_key(name, sess), help=f.help)
    if f.kind == "choice":
        common["index"] = f.choices.index(common.pop("value"))
        st.selectbox(f.label, f.choices, format_func=f.choice_label, **common)
    elif f.kind == "int":
        st.number_input(f.label, int(f.lo), int(f.hi), step=1, **common)
    else:
        st.number_input(f.label, float(f.lo), float(f.hi), step=None, format="%g", **common)


def _on_branch(page: str) -> None:
    """Branch at the step the page's scrubber shows now (read at the click: the scrubber lives in the
    page's fragment, which reruns without this strip)."""
    sess = state.session()
    step = scrubbed_step(sess, page)
    changes = {n: st.session_state.get(knob_key(n, sess), getattr(sess.config, n)) for n in POPOVER_KNOBS}
    try:
        run = sess.branch(step, changes=changes)
    except RnnvizError as err:
        st.session_state[ERROR_KEY] = str(err)
        return
    st.session_state.pop(ERROR_KEY, None)
    st.toast(f"{run.name}: branched at step {step:,}, continues from the checkpoint at step {run.branch_step:,}",
             icon=":material/call_split:")


def branch_popover(sess, page: str) -> None:
    """"Branch from here": the step, where the branch continues from, the knobs, and the button."""
    runs = sess.runs
    full = len(runs.branches) >= branches.MAX_BRANCHES
    with st.popover("Branch from here", icon=":material/call_split:", key="branch.open",
                    help="Continue this run from the step shown under other knobs; both runs stay, drawn "
                         "together on the loss, gradient-norm and gradient-flow charts."):
        where = "the step the scrubber shows" if page in SCRUB_KEYS else "the newest step"
        st.markdown(f"Branch **{runs.current.name}** at {where}: the branch continues from the checkpoint at or "
                    f"before it (one every {sess.config.checkpoint_every:,} steps) under these knobs, and "
                    f"**{runs.current.name}** stays as it is.")
        for name in POPOVER_KNOBS:
            _knob(name, sess)
        st.caption("Model, task, init and seed stay: the branch keeps the weights it starts from.")
        st.button("Branch from here", key="branch.go", type="primary", on_click=_on_branch, args=(page,),
                  disabled=full or "play" in state.flags().locked, icon=":material/call_split:",
                  help=f"At most {branches.MAX_BRANCHES} branches: delete one first." if full else None)


def _on_switch() -> None:
    state.session().switch(st.session_state[SWITCH_KEY])


def _on_delete(name: str) -> None:
    state.session().delete_branch(name)


def run_switcher(sess) -> None:
    """Which run every page shows (only when there is more than one), and "Delete branch" for a live branch."""
    runs = sess.runs
    if len(runs) < 2:
        return
    st.session_state[SWITCH_KEY] = runs.active  # controlled: shows the run that is shown
    labels = {r.name: f"Shown: {r.label}" for r in runs}
    with st.container(width=250):
        st.selectbox("Run shown", runs.names, key=SWITCH_KEY, format_func=labels.get, on_change=_on_switch,
                     label_visibility="collapsed",
                     help="Which run the pages show; the charts of loss, gradient norm and gradient flow draw "
                          "the others too, each in its own colour and dash.")
    if sess.loaded is None and runs.current.parent is not None:
        st.button("Delete", key="branch.delete", on_click=_on_delete, args=(runs.active,),
                  icon=":material/delete:", width="content", help=f"Delete {runs.active}; the original stays.")


def strip_controls(sess, page: str) -> None:
    """The strip's branch controls for ``page`` (none on Compare, which has its own three runs)."""
    if page == "compare":
        return
    if sess.loaded is None and "play" not in state.flags().hidden:
        branch_popover(sess, page)
    run_switcher(sess)
