"""The instruments' notes on a page: a short bulleted list under the page's main chart, read from the run
(``rnnviz.instruments``); it changes as the run changes, and says nothing when no note has anything to say."""

from __future__ import annotations

import streamlit as st

from rnnviz import instruments
from ui.text import md_escape


def show(page: str, sess, view=None) -> None:
    """The notes of ``page`` on the step, layer and direction ``view`` shows (a ``widgets.View``); without a
    view, on the newest step of the top layer's forward direction."""
    hist, config = sess.history, sess.config
    if not len(hist):
        return
    baseline = getattr(sess.trainer.task, "baseline_loss", None)
    where = (view.rec.step, view.layer, view.direction) if view is not None else (None, config.num_layers - 1, 0)
    notes = instruments.notes(page, instruments.Run(hist, config, baseline, *where))
    if notes:
        st.markdown("\n".join(f"- {md_escape(n, limit=1000)}" for n in notes))
