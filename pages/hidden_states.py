"""Hidden states: what the network holds at every timestep, and how that changes with training."""

import streamlit as st

from rnnviz import analysis, cells, io, plots
from ui import live, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

widgets.header("Hidden states",
               "Each column is one timestep t of a fixed probe sequence, each row one hidden unit; colour is h_t. "
           "Scrub the training step to see how the same sequence is represented as the network learns.")


def render(sess) -> None:
    view = widgets.view_picker(sess, "hidden", full=True)
    if view is None:
        return
    hist, config, steps, rec = view.hist, view.config, view.steps, view.rec
    layer, direction, sample = view.layer, view.direction, view.sample
    h = rec.hidden[layer, direction, sample].astype("float32")  # (L, H)
    x = hist.probe["x"][sample]  # (L, I)
    bounded = cells.get(config.cell).nonlinearity == "tanh"  # h_t in [-1, 1]; a ReLU RNN's h_t is unbounded
    task = sess.trainer.task  # the input strip speaks the task's language (value/marker, symbols, characters)
    shared = widgets.shared_view(sess, rec.step, layer, direction, sample)  # one build for every session
    widgets.chart(lambda: plots.hidden_heatmap(h, inputs=x, title=f"Hidden state h_t (training step {rec.step})",
                                               bounded=bounded, input_names=task.input_names, symbols=task.symbols),
                  key="hidden.heatmap", download_name="hidden-states", share=shared,
                  csv=lambda: io.history_to_csv(hist, "hidden", step=rec.step, layer=layer, direction=direction,
                                                sample=sample))
    if rec.cell is not None:
        c = rec.cell[layer, direction, sample].astype("float32")
        widgets.chart(lambda: plots.hidden_heatmap(c, title=f"LSTM cell state c_t (training step {rec.step})",
                                                   bounded=False),
                      key="hidden.cell", download_name="cell-states", share=shared,
                      csv=lambda: io.history_to_csv(hist, "cell", step=rec.step, layer=layer,
                                                    direction=direction, sample=sample))
    dims = st.radio("Trajectory", (2, 3), horizontal=True, key="hidden.pca_k",
                    format_func=lambda k: f"{k}-D PCA")
    proj = analysis.pca_trajectory(h, k=dims)
    widgets.chart(plots.pca_trajectory_figure(proj.projected, proj.explained_variance_ratio),
                  key="hidden.pca", download_name="hidden-trajectory")
    # The play-through holds every kept step (up to MAX_ANIMATION_FRAMES heatmaps, ~0.7 MB): built on
    # request, and not while training plays (it would be rebuilt and resent twice a second).
    if st.toggle("Play through training: an animation of the recorded steps", key="hidden.animate"):
        if sess.playing:
            st.info("Pause training to build the animation of all recorded steps.", icon=":material/pause_circle:")
        else:
            frames = [hist.record_at(int(s), full=True) for s in steps]
            widgets.chart(plots.hidden_animation([r.step for r in frames],
                                                 [r.hidden[layer, direction, sample].astype("float32")
                                                  for r in frames], bounded=bounded),
                          key="hidden.animation")


live.live(render)
