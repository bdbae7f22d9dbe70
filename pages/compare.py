"""Compare: a tanh RNN, an LSTM and a GRU trained in lockstep on the same task, seed and batches."""

import streamlit as st

from rnnviz import compare, plots
from ui import live, state, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

widgets.header("Compare a tanh RNN, an LSTM and a GRU",
               "The three cells train side by side on the live run's task, seed and batches (same data, same "
           "optimizer), so any difference comes from the cell alone.")
if state.session().loaded is not None:
    st.info("Compare trains three fresh runs live, so it works on your live settings, not on a loaded run. "
            "Go **← Back to live training** in the sidebar to use it; the other pages show the loaded run.",
            icon=":material/compare_arrows:")
    st.stop()
cmp = state.compare_session()  # played by the control strip above the page (its one Play)


def render(cmp) -> None:
    trainers = cmp.trainers
    st.markdown(compare.status_line(trainers))
    if not all(len(t.history) for t in trainers.values()):
        st.info("Press **▶ Play all** or **×10** at the top to train the three cells in lockstep.",
                icon=":material/compare_arrows:")
        return
    task = next(iter(trainers.values())).task
    widgets.chart(plots.compare_loss(compare.loss_curves(trainers), baseline=task.baseline_loss), key="cmp.loss",
                  download_name="compare-loss")
    step = widgets.step_picker(compare.recorded_steps(trainers), key="cmp.step_pick", playing=cmp.playing)
    flows = compare.gradient_curves(trainers, step)
    widgets.chart(plots.gradient_flow(flows, step=step), key="cmp.flow", download_name="compare-flow")
    st.markdown("\n".join(f"- {line}" for line in compare.verdicts(flows, cmp.base)))
    if cmp.base.forget_bias != "chrono" and "lstm" in trainers:
        st.caption(compare.LSTM_BIAS_NOTE)


live.live(render, sess=cmp)
