"""Saliency on Gradient flow: ||dL/dx_t|| of one probe sequence under its input strip, the positions the
task says matter marked, and the share of the input gradient they get. Maths in rnnviz/saliency.py."""

from __future__ import annotations

import streamlit as st

from rnnviz import plots, saliency
from ui import widgets

_CACHE = "sal.cache"  # session_state: {(trainer id, step count): (P, L) saliency}


def _live_saliency(sess):
    with sess.weights() as trainer:  # the live weights, no step taken meanwhile
        key = (id(trainer), trainer.step_count)
        cached = st.session_state.get(_CACHE)
        if not cached or cached[0] != key:
            cached = (key, saliency.input_saliency(trainer.model, trainer.task, trainer.probe))
            st.session_state[_CACHE] = cached
    return cached[1]


def saliency_view(sess, view) -> None:
    hist, rec, config = view.hist, view.rec, view.config
    live = sess.loaded is None and rec.step == int(view.steps[-1])
    task = sess.trainer.task
    with st.expander("Saliency: which inputs mattered", expanded=True):
        if not live:
            if rec.input_grad_norms is not None:
                widgets.chart(plots.saliency_figure(None, rec.input_grad_norms, step=rec.step),
                              key="flow.saliency", download_name="saliency")
            st.caption("Recorded ||dL/dx_t|| over the whole training batch (its sequences' marked positions "
                       "differ, so none are marked). One probe sequence's saliency needs the weights: it is "
                       "drawn for the newest step of a live run.")
            return
        sample = widgets.sample_picker(config.probe_size, key="flow.saliency.sample")
        s = _live_saliency(sess)[sample]  # (L,)
        x = hist.probe["x"][sample]  # (L, I)
        marked = saliency.marked_positions(config.task, x)
        what = saliency.MARKED[config.task][0] if marked is not None else ""
        widgets.chart(plots.saliency_figure(x, s, marked, step=rec.step, input_names=task.input_names,
                                            symbols=task.symbols, marked_label=what or "positions that matter",
                                            after_step=True),
                      key="flow.saliency", download_name="saliency")
        if marked is not None:
            st.markdown(saliency.share_line(s, marked, what))
        if config.task == "adding":
            st.caption(saliency.ADDING_NOTE)
        st.caption(f"||dL/dx_t|| for probe sequence #{sample + 1} with its own loss, at the weights after "
                   f"training step {rec.step}: how much the loss would change if input x_t changed.")
