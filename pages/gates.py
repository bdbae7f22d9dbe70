"""Gates: the LSTM's input, forget, candidate and output gates, the GRU's reset, update and candidate."""

import streamlit as st

from rnnviz import analysis, cells, plots
from ui import cellview, instruments, live, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

widgets.header("Gates",
               "Sigmoid gates run from 0 (closed) to 1 (open). A forget gate near 1 keeps the cell state; a "
           "gate stuck at 0 or 1 is saturated and passes almost no gradient.")


def render(sess) -> None:
    cell = cells.get(sess.config.cell)
    if not cell.gates:
        st.info(f"A plain RNN has no gates: h_t = {cell.nonlinearity}(W_ih x_t + W_hh h_(t−1) + b). Choose a "
                "gated cell (**LSTM** or **GRU**) to see gates at work.", icon=":material/info:")
        return
    view = widgets.view_picker(sess, "gates", full=True)
    if view is None:
        return
    hist, config, rec = view.hist, view.config, view.rec
    layer, direction, sample = view.layer, view.direction, view.sample
    gates = {g: v[layer, direction, sample].astype("float32") for g, v in rec.gates.items()}
    cellview.chart(plots.gate_heatmaps(gates, config.cell), "gates.heatmaps", "gates", download_name="gates",
                   csv=lambda: widgets.gates_csv(hist, step=rec.step, layer=layer, direction=direction,
                                                 sample=sample))
    instruments.show("gates", sess, view)
    cellview.panel(sess, view, "gates")
    sat_steps, per_gate = analysis.saturation_over_training(hist, config.cell, layer, direction)
    widgets.chart(plots.saturation_curve(sat_steps, per_gate), key="gates.saturation",
                  download_name="gate-saturation")


live.live(render)
