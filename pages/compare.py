"""Compare: RNN, LSTM and GRU trained in lockstep on the same task, seed and batches."""

import streamlit as st

from rnnviz import analysis, plots
from ui import live, state, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

LABELS = {"rnn_tanh": "RNN", "lstm": "LSTM", "gru": "GRU"}

st.title("Compare RNN, LSTM and GRU")
st.caption("The three cells train side by side on the sidebar's task, seed and batches (same data, same "
           "optimizer), so any difference comes from the cell alone.")
if state.session().loaded is not None:
    st.info("Compare trains three fresh runs live, so it works on your live settings, not on a loaded run. "
            "Go **← Back to live training** in the sidebar to use it; the other pages show the loaded run.",
            icon=":material/compare_arrows:")
    st.stop()
cmp = state.compare_session()
flags = state.flags()
cols = st.columns([1, 1, 1, 3])
if "play" not in flags.hidden:
    if cols[0].button("Pause" if cmp.playing else "▶ Play all", key="cmp.play", type="primary", width="stretch",
                      icon=":material/pause:" if cmp.playing else None, disabled="play" in flags.locked):
        cmp.pause() if cmp.playing else cmp.play()
        st.rerun()
    if cols[1].button("Step ×10", key="cmp.step", disabled=cmp.playing or "play" in flags.locked, width="stretch"):
        cmp.step(10)
if "reset" not in flags.hidden and cols[2].button("↺ Reset", key="cmp.reset", width="stretch",
                                                  disabled="reset" in flags.locked):
    cmp.reset()


def render(cmp) -> None:
    trainers = cmp.trainers
    hists = {LABELS.get(c, c): t.history for c, t in trainers.items()}
    st.markdown("  ·  ".join(f"**{label}** step {t.step_count - 1:,}"
                             + (f" ({t.state})" if t.state in ("diverged", "finished") else "")
                             for label, t in zip(hists, trainers.values(), strict=True)))
    if not all(len(h) for h in hists.values()):
        st.info("Press **▶ Play all** or **Step ×10** to train the three cells in lockstep.",
                icon=":material/compare_arrows:")
        return
    task = next(iter(trainers.values())).task
    curves = {label: (h.scalars["step"], h.scalars["loss"]) for label, h in hists.items()}
    widgets.chart(plots.compare_loss(curves, baseline=task.baseline_loss), key="cmp.loss",
                  download_name="compare-loss")
    steps = next(iter(hists.values())).recorded_steps()
    step = widgets.step_picker(steps, key="cmp.step_pick", playing=cmp.playing)
    flows = {}
    for label, h in hists.items():
        rec = h.record_at(step)
        if rec is not None:
            flows[label] = rec.grad_norms[0, 0]
    widgets.chart(plots.gradient_flow(flows, step=step), key="cmp.flow", download_name="compare-flow")
    for label, g in flows.items():
        st.markdown(f"- {analysis.vanishing_verdict(label, g)}")


live.live(render, sess=cmp)
