"""Gradient flow: how much of the loss's gradient reaches each timestep, and why."""

import streamlit as st

from rnnviz import analysis, cells, io, plots
from ui import live, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

st.title("Gradient flow")
st.caption("Backpropagation through time multiplies the gradient by one Jacobian per step. If those "
           "Jacobians shrink vectors (spectral radius of W_hh times the nonlinearity's slope below 1) the "
           "gradient vanishes geometrically: a straight falling line on the log axis below.")


def render(sess) -> None:
    view = widgets.view_picker(sess, "flow", full=False, pick_sample=False)
    if view is None:
        return
    hist, steps, rec, layer, direction = view.hist, view.steps, view.rec, view.layer, view.direction
    cell, g = cells.get(view.config.cell), rec.grad_norms
    latest = rec.step == int(steps[-1]) and sess.loaded is None  # a saved run has no weights to measure
    show_jac = st.toggle("Overlay the measured Jacobian norms ||∂h_T/∂h_t|| (current weights)",
                         key="flow.jacobian", value=False, disabled=not latest,
                         help="Computed for the newest step only, on probe sequence #1 (live runs only: "
                              "a saved run holds no weights).")
    theory = analysis.pascanu_overlay(rec, cell.name, layer, direction)
    jacobian = sess.jacobian(layer, direction) if show_jac and latest else None
    if jacobian is not None and jacobian.window < len(jacobian.hidden):
        st.caption(f"Measured over the last {jacobian.window} timesteps before T only (the cost is capped).")
    widgets.chart(plots.gradient_flow(g, step=rec.step, theory=theory, jacobian=jacobian),
                  key="flow.curve", download_name="gradient-flow",
                  csv=lambda: io.history_to_csv(hist, "grad_norms", layer=layer, direction=direction))
    st.markdown(f"**{analysis.vanishing_verdict(cell.label, g[layer, direction])}** "
                f"(ratio {analysis.format_ratio(analysis.gradient_ratio(g[layer, direction]))})")
    widgets.chart(plots.gradient_flow_heatmap(steps, hist.grad_norm_matrix(layer, direction)),
                  key="flow.heatmap", download_name="gradient-heatmap",
                  csv=lambda: io.history_to_csv(hist, "grad_norms", layer=layer, direction=direction))
    block = widgets.block_picker(cell, key="flow.block")  # above both columns, so the two charts start level
    left, right = st.columns(2)
    with left:
        first = hist.record_at(int(steps[0]))
        widgets.chart(plots.eigenvalue_plot(rec.eigenvalues[layer, direction, block],
                                            previous=first.eigenvalues[layer, direction, block]),
                      key="flow.eigen", download_name="eigenvalues",
                      csv=lambda: io.history_to_csv(hist, "spectrum", step=rec.step, layer=layer,
                                                    direction=direction))
    with right:
        widgets.chart(plots.param_grad_bars(analysis.block_norms(rec.param_grad_norms, layer, direction)),
                      key="flow.params", download_name="parameter-gradients")
    if rec.cell_grad_norms is not None:
        widgets.chart(plots.cell_vs_hidden_flow(g[layer, direction], rec.cell_grad_norms[layer, direction]),
                      key="flow.cell", download_name="cell-vs-hidden",
                      csv=lambda: io.history_to_csv(hist, "cell_grad_norms", layer=layer, direction=direction))


live.live(render)
