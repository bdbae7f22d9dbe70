"""Forecasting made visible (Playground, sine and csv): the prediction against the truth on the probe
stretch, the metric beside the naive baselines. Numbers from rnnviz/forecast.py."""

from __future__ import annotations

import streamlit as st

from rnnviz import forecast, plots
from ui import widgets


def forecast_view(sess) -> None:
    config, hist = sess.config, sess.history
    if config.task not in forecast.HELD_OUT:
        return
    steps = hist.full_steps()
    if not len(steps):
        return
    rec = hist.record_at(int(steps[-1]), full=True)
    held_out, words = forecast.HELD_OUT[config.task]
    with st.expander("Forecast against the truth, with the naive baselines", expanded=True):
        P, _, C = rec.prediction.shape
        cols = st.columns(2)
        sample = int(cols[0].radio("Probe sequence", range(P), horizontal=True, key="fc.sample",
                                   format_func=lambda i: f"#{i + 1}")) if P > 1 else 0
        column = int(cols[1].selectbox("Column", range(C), key="fc.column",
                                       format_func=lambda c: f"column {c + 1}")) if C > 1 else 0
        x, y, pred = hist.probe["x"][sample], hist.probe["y"][sample], rec.prediction[sample]  # (L, C)
        scores = forecast.forecast_scores(x, y, pred)
        name = "u_t" if config.task == "sine" else f"column {column + 1} (z-score)"
        widgets.chart(plots.forecast_figure(x[:, column], y[:, column], pred[:, column], step=rec.step,
                                            column=name, stretch=words),
                      key="fc.figure", download_name="forecast")
        st.dataframe({"predictor": ["the network", "persistence (last value)", "the mean (0)"],
                      "MSE on this stretch": [scores.model, scores.persistence, scores.mean],
                      "variance explained": [scores.explained(m) for m in (scores.model, scores.persistence,
                                                                          scores.mean)]},
                     hide_index=True)
        st.markdown(forecast.scores_line(scores))
        if not held_out:
            st.caption("This stretch is not held out: " + words + ".")
