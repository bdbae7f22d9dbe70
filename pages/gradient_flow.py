"""Gradient flow: how much of the loss's gradient reaches each timestep, and why."""

import numpy as np
import streamlit as st

from rnnviz import analysis, io, plots
from ui import live, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

st.title("Gradient flow")
st.caption("Backpropagation through time multiplies the gradient by one Jacobian per step. If those "
           "Jacobians shrink vectors (spectral radius of W_hh times the nonlinearity's slope below 1) the "
           "gradient vanishes geometrically: a straight falling line on the log axis below.")


def theory_overlay(rec, config, layer: int, direction: int):
    """The Pascanu bound ||dL/dh_t|| <= ||dL/dh_T|| (gamma sigma_max)^(T-t), for the vanilla RNN."""
    if config.cell not in ("rnn_tanh", "rnn_relu") or rec.singular_values is None:
        return None
    sigma_max = float(rec.singular_values[layer, direction, 0].max())
    g = rec.grad_norms[layer, direction]
    # the backward direction ends at position 0: its bound is anchored there and runs the other way
    anchor = float(g[0] if direction == 1 else g[-1])
    bound = analysis.theory_bound(sigma_max, analysis.gamma_for(config.cell), len(g)) * anchor
    return bound[::-1] if direction == 1 else bound


def render(sess) -> None:
    view = widgets.view_picker(sess, "flow", full=False, pick_sample=False)
    if view is None:
        return
    hist, config, steps, rec = view.hist, view.config, view.steps, view.rec
    layer, direction = view.layer, view.direction
    latest = rec.step == int(steps[-1]) and sess.loaded is None  # a saved run has no weights to measure
    show_jac = st.toggle("Overlay the measured Jacobian norms ||∂h_T/∂h_t|| (current weights)",
                         key="flow.jacobian", value=False, disabled=not latest,
                         help="Computed for the newest step only, on probe sequence #1 (live runs only: "
                              "a saved run holds no weights).")
    jac = sess.jacobian(layer, direction) if show_jac and latest else None
    if jac is not None and jac.window < len(jac.hidden):
        st.caption(f"Measured over the last {jac.window} timesteps before T only (the cost is capped).")
    g = rec.grad_norms
    widgets.chart(plots.gradient_flow(g if config.num_layers > 1 or config.bidirectional else g[layer, direction],
                                      step=rec.step, theory=theory_overlay(rec, config, layer, direction),
                                      jacobian=jac),
                  key="flow.curve", download_name="gradient-flow",
                  csv=lambda: io.history_to_csv(hist, "grad_norms", layer=layer, direction=direction))
    ratio = analysis.gradient_ratio(g[layer, direction])
    st.markdown(f"**{analysis.vanishing_verdict(config.cell.upper().replace('_', ' '), g[layer, direction])}** "
                f"(ratio {analysis.format_ratio(ratio)})")
    widgets.chart(plots.gradient_flow_heatmap(steps, hist.grad_norm_matrix(layer, direction)),
                  key="flow.heatmap", download_name="gradient-heatmap",
                  csv=lambda: io.history_to_csv(hist, "grad_norms", layer=layer, direction=direction))
    eig = rec.eigenvalues[layer, direction]  # (G, H): one row per gate block of W_hh
    blocks = hist.gate_names or ["h"]
    block = 0
    if eig.shape[0] > 1:  # above both columns, so the two charts start level
        block = st.selectbox("Gate block of W_hh for the eigenvalues", range(eig.shape[0]), key="flow.block",
                             format_func=lambda i: f"W_h{blocks[i] if i < len(blocks) else i}")
    left, right = st.columns(2)
    with left:
        first = hist.record_at(int(steps[0]))
        widgets.chart(plots.eigenvalue_plot(eig[block], previous=first.eigenvalues[layer, direction, block]),
                      key="flow.eigen", download_name="eigenvalues",
                      csv=lambda: io.history_to_csv(hist, "spectrum", step=rec.step, layer=layer,
                                                    direction=direction))
    with right:
        norms = {k: float(np.asarray(v)[layer, direction]) for k, v in rec.param_grad_norms.items()}
        widgets.chart(plots.param_grad_bars(norms), key="flow.params", download_name="parameter-gradients")
    if rec.cell_grad_norms is not None:
        widgets.chart(plots.cell_vs_hidden_flow(g[layer, direction], rec.cell_grad_norms[layer, direction]),
                      key="flow.cell", download_name="cell-vs-hidden",
                      csv=lambda: io.history_to_csv(hist, "cell_grad_norms", layer=layer, direction=direction))


live.live(render)
