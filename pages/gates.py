"""Gates: the LSTM's input, forget, candidate and output gates, the GRU's reset, update and candidate."""

import streamlit as st

from rnnviz import analysis, plots
from ui import live, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

st.title("Gates")
st.caption("Sigmoid gates run from 0 (closed) to 1 (open). A forget gate near 1 keeps the cell state; a "
           "gate stuck at 0 or 1 is saturated and passes almost no gradient.")


def saturation_over_training(hist, layer: int, direction: int) -> tuple[list[int], dict]:
    """Fraction of gate values < 0.1 and > 0.9 per gate, at every step whose gates are kept
    (for the tanh candidates g and n, of |value|: they saturate at -1 as much as at +1)."""
    steps, per_gate = [], {g: ([], []) for g in hist.gate_names}
    for s in hist.full_steps():
        rec = hist.record_at(int(s), full=True)
        steps.append(rec.step)
        for g, values in rec.gates.items():
            v = values[layer, direction]
            below, above = analysis.saturation(abs(v) if g in plots.TANH_GATES else v)
            per_gate[g][0].append(below)
            per_gate[g][1].append(above)
    return steps, per_gate


def render(sess) -> None:
    if sess.config.cell not in ("lstm", "gru"):
        st.info("A vanilla RNN has no gates: h_t = tanh(W_ih x_t + W_hh h_(t−1) + b). Choose **LSTM** or "
                "**GRU** as the cell in the sidebar to see gates at work.", icon=":material/info:")
        return
    view = widgets.view_picker(sess, "gates", full=True)
    if view is None:
        return
    hist, config, rec = view.hist, view.config, view.rec
    layer, direction, sample = view.layer, view.direction, view.sample
    gates = {g: v[layer, direction, sample].astype("float32") for g, v in rec.gates.items()}
    widgets.chart(plots.gate_heatmaps(gates, config.cell), key="gates.heatmaps", download_name="gates",
                  csv=lambda: widgets.gates_csv(hist, step=rec.step, layer=layer, direction=direction,
                                                sample=sample))
    sat_steps, per_gate = saturation_over_training(hist, layer, direction)
    widgets.chart(plots.saturation_curve(sat_steps, per_gate), key="gates.saturation",
                  download_name="gate-saturation")


live.live(render)
