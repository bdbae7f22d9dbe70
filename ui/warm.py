"""Server start-up, Streamlit's side: the first visitor's script run pays no one-time cost of the app's
own modules or of Streamlit's element code (``rnnviz.warmup`` does torch and the figures).

Profiled (cProfile of the first script run of ``/?preset=lstm-remembers`` after ``rnnviz.warmup``, in
AppTest, load ~11 on 2 cores): the first run took 1.02 s against 0.24 s for later ones; the difference
was Streamlit's emoji table (``st.set_page_config(page_icon="🔁")`` compiles a regex of every emoji on
first use, 0.23 s), importing the ui modules (0.27 s with the emoji module), the first Plotly subplot
figure and the first use of each widget type. :func:`warm_up` pays them before the server listens:
it imports the app's modules and runs each element the first page draws once in Streamlit's bare mode
(no script run context: the element is built and marshalled, nothing is sent, no session exists).
"""

from __future__ import annotations

import logging
import time


def warm_up() -> float:
    """Pay the first script run's one-time Streamlit costs; returns the seconds it took."""
    started = time.perf_counter()
    import streamlit as st
    from streamlit import string_util

    string_util.is_emoji("🔁")  # the page icon: compiles Streamlit's emoji table once
    from streamlit import delta_generator

    from rnnviz import plots
    from ui import controls, frame, live, share, sidebar, state, widgets  # noqa: F401 - imported for their cost

    # Streamlit's one-time "run it with streamlit run" check (an inspect.stack(), ~0.1 s on a first run) has
    # nothing to say to a server started by `streamlit run`: mark it done. Bare mode's per-element warnings
    # ("missing ScriptRunContext") are silenced while the elements run.
    delta_generator._use_warning_has_been_displayed = True
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("streamlit")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        steps, values = [0, 1, 2], [1.0, 0.5, 0.25]
        st.plotly_chart(plots.loss_curve(steps, values, values, "accuracy", 0.5, None), theme=None,
                        config=widgets.PLOTLY_CONFIG, width="stretch")
        st.metric("Step", "0")
        st.button("Step", width="content")
        st.selectbox("cell", ["a", "b"])
        st.select_slider("T", options=[1, 2])
        st.number_input("n", value=1)
        st.toggle("view")
        with st.expander("more"):
            st.markdown("**warm**")
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
    return time.perf_counter() - started
