"""Gradient flow: how much of the loss's gradient reaches each timestep, and why."""

import streamlit as st

from rnnviz import analysis, cells, flow, io, plots
from ui import instruments, live, saliency, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

widgets.header("Gradient flow", flow.FLOW_CAPTION)


def render(sess) -> None:
    view = widgets.view_picker(sess, "flow", full=False, pick_sample=False)
    if view is None:
        return
    hist, config, steps, rec, g = view.hist, view.config, view.steps, view.rec, view.rec.grad_norms
    layer, direction, cell = view.layer, view.direction, cells.get(view.config.cell)
    latest = rec.step == int(steps[-1]) and sess.loaded is None  # a saved run has no weights to measure
    jac = sess.jacobian(layer, direction) if latest else None  # cached per (step, view), cost capped
    reading = flow.read_flow(rec, config, layer, direction, jac)
    widgets.chart(plots.gradient_flow(g, step=rec.step, theory=reading.bound,
                                      pinned=flow.pinned_curves(hist, rec.step, layer, direction),
                                      **sess.runs.overlay_at(rec.step, layer, direction)),
                  key="flow.curve", download_name="gradient-flow",
                  csv=lambda: io.history_to_csv(hist, "grad_norms", layer=layer, direction=direction))
    st.markdown(f"**{reading.verdict}**")
    instruments.show("flow", sess, view)
    if jac is not None:
        widgets.chart(plots.transport_curve(jac, bound=reading.transport_bound, step=rec.step),
                      key="flow.transport", download_name="transport")
    else:
        st.caption(widgets.NO_TRANSPORT_NOTE)
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
    saliency.saliency_view(sess, view)  # ||dL/dx_t|| under the input strip, marked positions and their share


live.live(render)
