"""Playground: train live and watch the loss, the gradient norm and the gradient flow move."""

import streamlit as st

from rnnviz import io, plots
from rnnviz.config import PRESETS
from ui import live, state, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

widgets.header("Playground")
preset = state.preset_name()
sess = state.session()


def intro() -> None:
    if preset:
        st.markdown(f"**{PRESETS[preset].title}.** {PRESETS[preset].effect}")
    with st.expander(f"Task: {sess.trainer.task.title}"):
        st.markdown(sess.trainer.task.describe())



def render(sess) -> None:
    hist = sess.history
    if not len(hist):
        widgets.empty_run_hint()
        return
    config, task, scal = sess.config, sess.trainer.task, hist.scalars
    shared = widgets.shared_view(sess)  # every session on this run and step reuses one build of each chart
    left, right = st.columns(2)
    with left:
        widgets.chart(lambda: plots.loss_curve(scal["step"], scal["loss"], scal["metric"], task.metric_name,
                                               task.baseline_loss, hist.status.get("diverged_step")),
                      key="playground.loss", download_name="loss", csv=lambda: io.history_to_csv(hist, "scalars"),
                      share=shared)
    with right:
        threshold = config.clip_threshold if config.clip == "norm" else None
        widgets.chart(lambda: plots.grad_norm_curve(scal["step"], scal["grad_norm"], scal["grad_norm_clipped"],
                                                    scal["clipped"], threshold),
                      key="playground.grad_norm", download_name="gradient-norm",
                      csv=lambda: io.history_to_csv(hist, "scalars"), share=shared)
    rec = hist.record_at(int(scal["step"][-1]))
    if rec is not None:
        widgets.chart(lambda: plots.gradient_flow(rec.grad_norms, step=rec.step), key="playground.flow",
                      download_name="gradient-flow", csv=lambda: io.history_to_csv(hist, "grad_norms"), share=shared)


if not state.presenting():  # on a projector the key chart comes first, the words below it
    intro()
live.live(render)
if state.presenting():
    intro()
