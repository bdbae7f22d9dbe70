"""The cell opened up: a diagram of one unit's cell with its numbers on the wires, and the unrolled
network with the gradient walked back through time one step at a time.

:func:`cell_diagram` draws a :class:`rnnviz.equations.CellStep` (LSTM, GRU, or a plain RNN's single
squashing box): every value written on it is a field of the step, so the diagram shows exactly the
numbers the equations do. :func:`backward_walk` draws ``||dL/dh_t||`` from a recorded gradient curve,
revealed from the last processed step back to step ``t``; its numbers are the curve's own (``customdata``).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz import cells
from rnnviz.errors import must
from rnnviz.plots.style import _LIGHT, _NEUTRAL, BASE_FONT_SIZE, _log_y, _styled, gate_colour

#: At most this many unrolled steps are drawn as boxes around the step reached; the curve below shows all.
WALK_WINDOW = 10
#: The colour of the gradient walked back so far.
WALK_COLOUR = "#D55E00"


def _v(x: float) -> str:
    """A value on a wire: 3 significant figures."""
    return f"{x:.3g}" if math.isfinite(x) else str(x)


# ----------------------------------------------------------------------------- the cell diagram


def _lstm_layout(s) -> tuple[list, list]:
    """(nodes, wires) of the LSTM: nodes (x, y, text, colour), wires (x0, y0, x1, y1, label)."""
    b = {k: v.value for k, v in s.blocks.items()}
    nodes = [(0.3, 5, f"c<sub>t-1</sub><br>{_v(s.c_prev)}", _NEUTRAL),
             (2.2, 5, "×", _NEUTRAL), (4.6, 5, "+", _NEUTRAL), (9.6, 5, f"c<sub>t</sub><br>{_v(s.c)}", _NEUTRAL),
             (4.6, 3.4, "×", _NEUTRAL), (7.4, 3.6, "tanh", _NEUTRAL), (7.4, 2.3, "×", _NEUTRAL),
             (9.6, 2.3, f"h<sub>t</sub><br>{_v(s.h)}", _NEUTRAL)]
    gate_x = {"f": 2.2, "i": 3.8, "g": 5.4, "o": 6.6}
    nodes += [(x, 1.0, f"{'tanh' if g == 'g' else 'σ'} {g}<br>{_v(b[g])}", gate_colour(g)) for g, x in gate_x.items()]
    wires = [(0.3, 5, 2.2, 5, _v(s.c_prev)), (2.2, 5, 4.6, 5, _v(b["f"] * s.c_prev)),
             (4.6, 5, 9.6, 5, _v(s.c)), (4.6, 3.4, 4.6, 5, _v(b["i"] * b["g"])),
             (7.4, 5, 7.4, 3.6, ""), (7.4, 3.6, 7.4, 2.3, _v(math.tanh(s.c))), (7.4, 2.3, 9.6, 2.3, _v(s.h)),
             (2.2, 1.0, 2.2, 5, ""), (3.8, 1.0, 4.6, 3.4, ""), (5.4, 1.0, 4.6, 3.4, ""), (6.6, 1.0, 7.4, 2.3, "")]
    return nodes, wires


def _gru_layout(s) -> tuple[list, list]:
    b = {k: v.value for k, v in s.blocks.items()}
    h_prev = float(s.h_prev[s.unit])
    nodes = [(0.3, 5, f"h<sub>t-1</sub><br>{_v(h_prev)}", _NEUTRAL), (3.2, 5, "×", _NEUTRAL),
             (7.2, 5, "+", _NEUTRAL), (9.6, 5, f"h<sub>t</sub><br>{_v(s.h)}", _NEUTRAL),
             (7.2, 3.2, "×", _NEUTRAL), (5.6, 3.2, "1−", _NEUTRAL)]
    nodes += [(2.0, 1.0, f"σ r<br>{_v(b['r'])}", gate_colour("r")), (3.2, 1.0, f"σ z<br>{_v(b['z'])}",
              gate_colour("z")), (7.2, 1.0, f"tanh n<br>{_v(b['n'])}", gate_colour("n"))]
    wires = [(0.3, 5, 3.2, 5, _v(h_prev)), (3.2, 5, 7.2, 5, _v(b["z"] * h_prev)), (7.2, 5, 9.6, 5, _v(s.h)),
             (3.2, 1.0, 3.2, 5, ""), (3.2, 1.0, 5.6, 3.2, _v(b["z"])), (5.6, 3.2, 7.2, 3.2, _v(1 - b["z"])),
             (7.2, 1.0, 7.2, 3.2, _v(b["n"])), (7.2, 3.2, 7.2, 5, _v((1 - b["z"]) * b["n"])),
             (2.0, 1.0, 7.2, 1.0, "r scales W<sub>hn</sub>h<sub>t-1</sub>")]
    return nodes, wires


def _rnn_layout(s) -> tuple[list, list]:
    blk = s.blocks["h"]
    nodes = [(0.3, 3, "h<sub>t-1</sub><br>x<sub>t</sub>", _NEUTRAL),
             (4.8, 3, f"{blk.squash}<br>a = {_v(blk.pre)}", cells.get(s.cell).colour),
             (9.6, 3, f"h<sub>t</sub><br>{_v(s.h)}", _NEUTRAL)]
    wires = [(0.3, 3, 4.8, 3, f"W·h + W·x + b = {_v(blk.pre)}"), (4.8, 3, 9.6, 3, _v(s.h))]
    return nodes, wires


_LAYOUTS = {"lstm": _lstm_layout, "gru": _gru_layout}


def cell_diagram(step) -> go.Figure:
    """One unit's cell at one timestep (``step``: a :class:`rnnviz.equations.CellStep`) with its values on
    the wires: the gates' values in their boxes, the products on the wires they leave by, c_t and h_t."""
    nodes, wires = _LAYOUTS.get(step.cell, _rnn_layout)(step)
    fig = go.Figure()
    for x0, y0, x1, y1, _ in wires:  # below the boxes, which hide their ends
        fig.add_shape(type="line", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color=_LIGHT, width=3), layer="below")
    for x0, y0, x1, y1, label in wires:
        if label:
            upright = x0 == x1  # a vertical wire's label sits beside it, a horizontal one's above it
            fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=label, showarrow=False,
                               xshift=8 if upright else 0, xanchor="left" if upright else "center",
                               yshift=0 if upright else 14,
                               font=dict(size=BASE_FONT_SIZE - 2, color=_NEUTRAL), bgcolor="rgba(255,255,255,0.8)")
    fig.add_trace(go.Scatter(x=[n[0] for n in nodes], y=[n[1] for n in nodes], mode="markers+text",
                             text=[n[2] for n in nodes], textposition="middle center",
                             marker=dict(size=[58 if "<br>" in n[2] else 34 for n in nodes], symbol="square",
                                         color="white", line=dict(color=[n[3] for n in nodes], width=3)),
                             textfont=dict(size=BASE_FONT_SIZE - 3), hoverinfo="skip", showlegend=False,
                             cliponaxis=False))
    label = cells.get(step.cell).label
    fig = _styled(fig, "cell-diagram", f"{label} cell, unit {step.unit + 1} at t={step.t + 1}: values on the wires",
                  height=330)
    fig.update_xaxes(visible=False, range=[-0.4, 10.4], fixedrange=True)
    fig.update_yaxes(visible=False, range=[0.4, 5.7], fixedrange=True)
    return fig


# ----------------------------------------------------------------------------- the backward walk


def walk_position(length: int, back: int, direction: int = 0) -> int:
    """The timestep t (1-based) reached after walking ``back`` steps back from the last processed step:
    T - back forward, 1 + back for the backward direction. ``RnnvizError`` outside 0..length-1."""
    if not isinstance(back, (int, np.integer)) or not 0 <= back < length:
        raise must("steps back", f"be an integer in 0..{length - 1}", back)
    return length - back if direction == 0 else back + 1


def _window(L: int, t_now: int, direction: int, window: int) -> tuple[int, int]:
    """(first, last) t of the unrolled steps drawn: one step not yet reached (if any), the step reached, and
    the walked steps behind it; near the end of the sequence more of the steps not yet reached fill it."""
    ahead = -1 if direction == 0 else 1
    lo = t_now + ahead if 1 <= t_now + ahead <= L else t_now
    if direction == 0:
        first = max(1, min(lo, L - window + 1))
        return first, min(L, first + window - 1)
    last = min(L, max(lo, window))
    return max(1, last - window + 1), last


def _unrolled(fig: go.Figure, g: np.ndarray, walked: np.ndarray, direction: int, first: int, last: int) -> None:
    """Row 1: the boxes h_t, first..last, and the arrows between them, labelled with ||dL/dh_t|| once walked."""
    L, ahead = len(g), -1 if direction == 0 else 1
    shown = np.arange(first, last + 1)
    fig.add_trace(go.Scatter(x=shown, y=np.zeros(len(shown)), mode="markers+text",
                             text=[f"h<sub>{t}</sub>" for t in shown], textposition="middle center",
                             marker=dict(size=46, symbol="square", color="white",
                                         line=dict(width=3, color=[WALK_COLOUR if walked[t - 1] else _LIGHT
                                                                   for t in shown])),
                             hovertemplate="h_%{x}<extra></extra>", showlegend=False, name="unrolled"),
                  row=1, col=1)
    for t in shown:  # the arrow into h_t carries dL/dh_t; it comes from the step processed after t
        src, on = t - ahead, bool(walked[t - 1])
        inside = 1 <= src <= L
        fig.add_annotation(x=t, y=0, ax=src if inside else t - 0.7 * ahead, ay=0, xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=3,
                           standoff=26, startstandoff=26 if inside else 0,
                           arrowcolor=WALK_COLOUR if on else _LIGHT, text="", name=f"arrow-{t}")
        fig.add_annotation(x=t - (0.5 if inside else 0.45) * ahead, y=0.55, xref="x", yref="y",
                           text=f"{g[t - 1]:.2e}" if on else "?", showarrow=False,
                           font=dict(size=BASE_FONT_SIZE - 4, color=WALK_COLOUR if on else _NEUTRAL), name=f"norm-{t}")
    if (last == L and direction == 0) or (first == 1 and direction == 1):
        fig.add_annotation(x=last + 0.8 if direction == 0 else first - 0.8, y=-0.55, xref="x", yref="y",
                           xanchor="right" if direction == 0 else "left", text="from the loss", showarrow=False,
                           font=dict(size=BASE_FONT_SIZE - 4, color=_NEUTRAL))
    fig.update_yaxes(visible=False, range=[-0.8, 1.0], fixedrange=True, row=1, col=1)
    fig.update_xaxes(range=[first - 0.8, last + 0.8], visible=False, fixedrange=True, row=1, col=1)


def backward_walk(grad_norms, back: int, *, direction: int = 0, step: int | None = None,
                  window: int = WALK_WINDOW) -> go.Figure:
    """The unrolled network with ``||dL/dh_t||`` (``grad_norms`` (L,), recorded) revealed from the last
    processed step back to :func:`walk_position`: on top, at most ``window`` unrolled steps around it, each
    arrow labelled with the norm of the gradient it carries into h_t; below, the whole curve on a log axis,
    the walked part in colour. The walked values are the trace ``"walked"``'s ``customdata``, exactly."""
    g = np.asarray(grad_norms, dtype=np.float64)
    L = len(g)
    t_now = walk_position(L, back, direction)
    ts = np.arange(1, L + 1)
    walked = ts >= t_now if direction == 0 else ts <= t_now
    fig = make_subplots(rows=2, cols=1, row_heights=[0.45, 0.55], vertical_spacing=0.16)
    _unrolled(fig, g, walked, direction, *_window(L, t_now, direction, window))
    fig.add_trace(go.Scatter(x=ts, y=np.where(g > 0, g, np.nan), mode="lines", line=dict(color=_LIGHT, width=2),
                             name="not walked yet", hoverinfo="skip", showlegend=False), row=2, col=1)
    gw, tw = g[walked], ts[walked]
    fig.add_trace(go.Scatter(x=tw, y=np.where(gw > 0, gw, np.nan), customdata=gw, mode="lines+markers",
                             line=dict(color=WALK_COLOUR, width=3), marker=dict(size=5), name="walked",
                             hovertemplate="t=%{x}<br>||dL/dh_t|| = %{customdata:.3e}<extra></extra>",
                             showlegend=False), row=2, col=1)
    fig.add_trace(go.Scatter(x=[t_now], y=[g[t_now - 1] if g[t_now - 1] > 0 else np.nan], mode="markers",
                             marker=dict(size=14, color=WALK_COLOUR, line=dict(color="black", width=2)),
                             name="reached", hovertemplate="t=%{x}: ||dL/dh_t|| = %{y:.3e}<extra></extra>",
                             showlegend=False), row=2, col=1)
    at = f" (training step {step})" if step is not None else ""
    fig = _styled(fig, "backward-walk", f"dL/dh_t walked back to t={t_now}: ||dL/dh_{t_now}|| = "
                  f"{g[t_now - 1]:.3g}{at}", height=470)
    fig.update_xaxes(range=[0.5, L + 0.5], title_text="timestep t", row=2, col=1)
    fig.update_yaxes(title_text="||dL/dh_t||", row=2, col=1)
    _log_y(fig, axis="y2")
    return fig


# ----------------------------------------------------------------------------- clicking a heatmap cell


def click_layer(fig: go.Figure, max_points: int) -> go.Figure:
    """Make the (t, unit) cells of a heatmap figure clickable: Plotly reports no selection for a heatmap
    (streamlit/streamlit#8760), so each heatmap whose hover names ``unit %{y}`` gets an invisible marker at
    every cell it draws (its own x, y and z, so hover and click name a real recorded cell), drawn when
    selected. A figure whose heatmaps hold more than ``max_points`` cells in all is returned unchanged."""
    heats = [t for t in fig.data if t.type == "heatmap" and "unit %{y}" in (t.hovertemplate or "")]
    if not heats or sum(len(t.x) * len(t.y) for t in heats) > max_points:
        return fig
    for heat in heats:
        x, y = np.asarray(heat.x), np.asarray(heat.y)
        xx, yy = np.meshgrid(x.astype(np.int16), y.astype(np.int16))  # t <= 1000, units <= 256: sent as int16
        fig.add_trace(go.Scatter(x=xx.ravel(), y=yy.ravel(), customdata=np.asarray(heat.z, np.float32).ravel(),
                                 mode="markers", xaxis=heat.xaxis, yaxis=heat.yaxis, name=f"click {heat.name or ''}",
                                 marker=dict(size=9, symbol="square-open", color="black", opacity=0),
                                 selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=0)),
                                 hovertemplate=heat.hovertemplate.replace("%{z", "%{customdata"), showlegend=False))
        heat.hoverinfo = "skip"
    return fig
