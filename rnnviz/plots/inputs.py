"""Figures about the inputs: saliency ||dL/dx_t|| under the input strip, and forecasts against the truth."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.errors import RnnvizError
from rnnviz.plots.states import _input_trace
from rnnviz.plots.style import _LIGHT, _NEUTRAL, _PALETTE, _curve, _grid, _line, _log_y, _styled, _timesteps

#: Colour of the positions the task says matter (Okabe-Ito vermillion), and of the others.
MARKED_COLOUR, OTHER_COLOUR = "#D55E00", "#8C8C8C"


def saliency_figure(inputs, saliency, marked=None, *, step: int | None = None, input_names=(), symbols=(),
                    marked_label: str = "positions that matter", after_step: bool = False) -> go.Figure:
    """The input sequence (L, I) on top (``inputs=None``: no strip) and ``||dL/dx_t||`` (L,) below it on one
    shared t axis, on a log axis; the positions in ``marked`` (L,) bool (or None) in their own colour,
    named ``marked_label``.

    The strip speaks the task's language (``Task.input_names``, ``Task.symbols``: characters, digits).
    ``after_step``: the title says the values come from the weights after ``step`` (a live run's newest
    weights), not from the record of ``step`` (whose gradient is taken before its update)."""
    s, bad = _curve(saliency, "saliency", log=True)
    if inputs is None:  # e.g. the training batch's norm: no one sequence to draw above it
        x_in, bad_in = None, False
    else:
        x_in, bad_in = _grid(np.asarray(inputs, dtype=np.float32).reshape(len(inputs), -1), "inputs")  # (L, I)
    if x_in is not None and len(s) != len(x_in):
        raise RnnvizError(f"inputs and saliency must have the same length L, got {len(x_in)} and {len(s)}")
    m = np.zeros(len(s), dtype=bool) if marked is None else np.asarray(marked, dtype=bool)
    if m.shape != s.shape:
        raise RnnvizError(f"marked must be (L,) = ({len(s)},), got shape {m.shape}")
    t = _timesteps(len(s))
    rows = 1 if x_in is None else 2
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, row_heights=[1.0] if rows == 1 else [0.25, 0.75],
                        vertical_spacing=0.05)
    if x_in is not None:
        fig.add_trace(_input_trace(x_in, tuple(input_names), tuple(symbols)), row=1, col=1)
    hover = "t=%{x}<br>||dL/dx_t|| = %{y:.3g}<extra>%{fullData.name}</extra>"
    groups = ((~m, "other steps", OTHER_COLOUR),) + (((m, marked_label, MARKED_COLOUR),) if m.any() else ())
    for keep, name, colour in groups:
        fig.add_trace(go.Bar(x=t[keep], y=s[keep], width=0.8, name=name, marker_color=colour, hovertemplate=hover),
                      row=rows, col=1)
    title = "Saliency ||dL/dx_t||: how much the loss depends on each input"
    if step is not None:  # after_step: computed from the weights after that step's update
        title += f"<br>(weights after training step {step})" if after_step else f"<br>(training step {step})"
    zeros = int(np.count_nonzero(np.asarray(saliency, dtype=np.float64) == 0))
    if zeros:
        title += f"<br><sub>exactly 0 at {zeros} timestep(s): not drawable on a log axis</sub>"
    _styled(fig, "saliency", title, height=460, not_finite=bad or bad_in)
    fig.update_layout(barmode="overlay", bargap=0.1, legend=dict(orientation="h", y=-0.25, x=0))
    fig.update_xaxes(title_text="timestep t", range=[0.5, len(s) + 0.5], row=rows, col=1)
    if rows == 2:
        fig.update_yaxes(title_text="input", row=1, col=1)
    fig.update_yaxes(title_text="||dL/dx_t|| (log)", row=rows, col=1)
    _log_y(fig, axis="y2" if rows == 2 else "y")
    return fig


def forecast_figure(x, y, pred, *, step: int | None = None, column: str = "value",
                    stretch: str = "") -> go.Figure:
    """One column of a forecast: the truth ``y_t = x_{t+1}`` (L,), the network's prediction ``pred`` (L,)
    made at step t, and persistence (``x_t``, the last value) dotted, against t."""
    xs, ys, ps = (_curve(a, n)[0] for a, n in ((x, "x"), (y, "y"), (pred, "pred")))
    bad = _curve(pred, "pred")[1]
    if not len(xs) == len(ys) == len(ps):
        raise RnnvizError(f"x, y and pred must have the same length, got {len(xs)}, {len(ys)}, {len(ps)}")
    t = _timesteps(len(ys))
    fig = go.Figure()
    fig.add_trace(_line(t, ys, "truth (next value)", _NEUTRAL,
                        "t=%{x}<br>truth = %{y:.3g}<extra></extra>", width=4, mode="lines+markers",
                        marker=dict(size=6)))
    fig.add_trace(_line(t, ps, "network's prediction", _PALETTE[0],
                        "t=%{x}<br>prediction = %{y:.3g}<extra></extra>", width=3))
    fig.add_trace(_line(t, xs, "persistence (last value)", _LIGHT,
                        "t=%{x}<br>persistence = %{y:.3g}<extra></extra>", width=2, dash="dot"))
    title = f"Forecast of {column}: prediction made at t for t+1, against the truth"
    if step is not None:
        title += f" (training step {step})"
    if stretch:
        title += f"<br><sub>{stretch}</sub>"
    _styled(fig, "forecast", title, "timestep t (predicting t+1)", column, height=440, not_finite=bad)
    fig.update_layout(legend=dict(orientation="h", y=-0.25, x=0))
    return fig
