"""The cell opened up, under the Hidden-states and Gates heatmaps: pick (t, unit) with two number boxes or
by clicking a heatmap cell, see that unit's equations with the live numbers (``rnnviz.equations``) and its
cell diagram, and walk dL/dh_t back through time one step per click (``rnnviz.plots.backward_walk``).

The equations need the weights, so they are computed from the live run's current weights (float64, on
the probe sequence shown); a loaded run has none and gets the walk only (its gradient curves are recorded).
"""

from __future__ import annotations

import streamlit as st

from rnnviz import equations, plots
from ui import state, widgets

#: The click layer is added only up to this many heatmap cells (one invisible marker each: about 10 bytes a
#: cell on the wire); bigger grids, and any grid while training plays, keep the number boxes.
CLICK_POINTS = 20_000


def _keys(page: str) -> dict[str, str]:
    return {k: f"{page}.cell.{k}" for k in ("open", "t", "unit", "walk", "back", "home")}


def chart(fig, key: str, page: str, **kwargs) -> None:
    """``widgets.chart`` of a heatmap whose cells can be clicked: a click sets the (t, unit) boxes."""
    keys = _keys(page)

    def picked() -> None:
        points = (st.session_state.get(key) or {}).get("selection", {}).get("points", [])
        if points:
            st.session_state[keys["t"]] = int(points[0]["x"])
            st.session_state[keys["unit"]] = int(points[0]["y"])
            st.session_state[keys["open"]] = True

    # While training plays the chart is resent twice a second: no click layer then (it about doubles the bytes),
    # and the figure may come from the shared cache (``share``: one build for every session on the run).
    if state.session().playing:
        widgets.chart(fig, key, **kwargs)
    else:
        kwargs.pop("share", None)
        widgets.chart(plots.click_layer(fig, CLICK_POINTS), key, on_select=picked, **kwargs)


def _forward(sess, sample: int):
    """The float64 forward trace of the current weights on probe sequence ``sample`` alone (x (1, L, I)),
    computed once per trained step and sequence."""
    trainer = sess.trainer
    token = (id(trainer), trainer.step_count, sample)
    memo = st.session_state.get("cellview.trace")
    if memo is None or memo[0] != token:
        x = trainer.probe.x[sample:sample + 1]
        memo = (token, x, equations.forward_trace(trainer.model.rnn, x))
        st.session_state["cellview.trace"] = memo
    return memo[1], memo[2]


def panel(sess, view, page: str) -> None:
    """A toggle that opens the cell: the equations tab and the backward-walk tab."""
    keys = _keys(page)
    if not st.toggle("Open the cell: the equations of one unit with the live numbers, and the gradient walked "
                     "back through time", key=keys["open"]):
        return
    eq_tab, walk_tab = st.tabs(["Equations at (t, unit)", "Step backward through time"])
    with eq_tab:
        _equations(sess, view, keys)
    with walk_tab:
        _walk(view, keys)


def _clamp(key: str, hi: int, default: int) -> None:
    st.session_state[key] = min(max(int(st.session_state.get(key, default)), 1), hi)


def _equations(sess, view, keys) -> None:
    config, rec = view.config, view.rec
    L, H = config.length, config.hidden_size
    _clamp(keys["t"], L, L)
    _clamp(keys["unit"], H, 1)
    left, right = st.columns(2)
    t = int(left.number_input(f"Timestep t (1…{L})", 1, L, key=keys["t"]))
    unit = int(right.number_input(f"Unit (1…{H})", 1, H, key=keys["unit"]))
    if sess.loaded is not None:
        st.info("The equations need the weights, and a saved run has none: go back to live training to open "
                "the cell. The backward walk (next tab) works on the recorded gradients.", icon=":material/info:")
        return
    with sess.weights() as trainer:  # the live weights (and their step), no step taken meanwhile
        x, traced = _forward(sess, view.sample)
        step = equations.open_cell(trainer.model.rnn, x, t=t - 1, unit=unit - 1, layer=view.layer,
                                   direction=view.direction, traced=traced)
        now = (f"the weights step {sess.current_step} was taken at (the run diverged there: no update followed)"
               if trainer.state == "diverged" else f"the weights as they are now (after step {sess.current_step}'s "
               f"update)")
    where = (f", layer {view.layer + 1}" if config.num_layers > 1 else "") + \
        ((", backward" if view.direction else ", forward") if config.bidirectional else "")
    st.caption(f"Unit {unit} at t={t} of probe sequence #{view.sample + 1}{where}, computed in float64 from "
               f"{now}. The heatmap shows training "
               f"step {rec.step} as recorded (float16, weights before that step's update), so its last digits "
               f"can differ. Recomputed from the weights, every value here agrees with the trace of the same "
               f"weights to {step.mismatch:.0e}. Click a heatmap cell to pick it.")
    for line in equations.latex_lines(step):
        st.latex(line)
    widgets.chart(plots.cell_diagram(step), key=f"{keys['open']}.diagram")
    prev = "(t+1)" if view.direction else "(t−1)"
    rows = equations.terms_table(step)
    st.markdown(f"**Largest terms of W_h·h_{prev}**, of {H} units (the sum is the whole dot product; a term "
                f"can be larger than the sum when others cancel it)")
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption(f"h_{prev} = h0 = 0 at the first step: the recurrent terms are all 0.")


def _walk(view, keys) -> None:
    g = view.rec.grad_norms[view.layer, view.direction]
    L = len(g)
    back = min(int(st.session_state.get(keys["walk"], 0)), L - 1)
    last = "T" if view.direction == 0 else "1"
    with st.container(horizontal=True, gap="small"):
        if st.button("◀ Step backward through time", key=keys["back"], disabled=back >= L - 1):
            back += 1
        if st.button(f"Back to t={last}", key=keys["home"], type="tertiary", disabled=back == 0):
            back = 0
    st.session_state[keys["walk"]] = back
    widgets.chart(plots.backward_walk(g, back, direction=view.direction, step=view.rec.step),
                  key=f"{keys['walk']}.figure")
    st.caption("Each click moves one timestep back: the arrow into h_t carries dL/dh_t, labelled with its norm "
               "||dL/dh_t|| over the training batch as recorded at this training step (the gradient-flow curve, "
               "revealed step by step).")
