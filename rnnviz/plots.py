"""Pure figure builders: NumPy arrays in, ``plotly.graph_objects.Figure`` out.

Every figure carries a title saying what it shows, axis titles with units, hover values,
colour bars that say what the colour means, projector-sized fonts and a ``uirevision``
(one stable string per figure kind, so a user's zoom survives the twice-a-second redraws).
Colours are fixed per cell type (RNN / LSTM / GRU) and per gate, on every page.

Conventions:
- Time is 1-based on every axis (t = 1 .. T, T = L), as in the lessons and verdicts.
- Non-finite values (a diverged run) never raise: they are masked to NaN (a gap) and the
  figure says "diverged: values not finite". Values <= 0 are also gaps on log axes.
- Heatmaps go to plotly as float32 arrays (sent as compact base64, no Python lists);
  curves as float64 so tiny gradient norms (1e-40) survive on log axes.

This module never imports torch or streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz import analysis
from rnnviz.errors import RnnvizError

# --------------------------------------------------------------------------------------
# Look: fonts, colours, names
# --------------------------------------------------------------------------------------

BASE_FONT_SIZE = 18  # px; readable from the back of a classroom
TITLE_FONT_SIZE = 22

# Okabe-Ito colour-blind-safe palette.
CELL_COLOURS: dict[str, str] = {
    "rnn_tanh": "#D55E00",  # vermillion
    "rnn_relu": "#CC79A7",  # reddish purple (IRNN)
    "lstm": "#0072B2",  # blue
    "gru": "#009E73",  # bluish green
}
CELL_LABELS: dict[str, str] = {
    "rnn_tanh": "RNN (tanh)",
    "rnn_relu": "RNN (relu)",
    "lstm": "LSTM",
    "gru": "GRU",
}
GATE_COLOURS: dict[str, str] = {
    "i": "#E69F00",
    "f": "#0072B2",
    "g": "#009E73",
    "o": "#CC79A7",
    "r": "#D55E00",
    "z": "#56B4E9",
    "n": "#009E73",
}
GATE_TITLES: dict[str, str] = {
    "i": "input gate i",
    "f": "forget gate f",
    "g": "cell candidate g",
    "o": "output gate o",
    "r": "reset gate r",
    "z": "update gate z",
    "n": "new-state candidate n",
}
#: Gates squashed by tanh (range -1..1); all the others are sigmoids (range 0..1).
TANH_GATES = frozenset({"g", "n"})

_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_NEUTRAL = "#555555"
_LIGHT = "#BBBBBB"
_AXIS = dict(
    showgrid=True,
    gridcolor="#E5E5E5",
    zeroline=False,
    showline=True,
    linecolor="#444444",
    ticks="outside",
    automargin=True,
    exponentformat="e",  # 1e-6, as in the verdict lines
)
_TEMPLATE = go.layout.Template(
    layout=dict(
        plot_bgcolor="white",
        paper_bgcolor="white",
        colorway=list(_PALETTE),
        xaxis=_AXIS,
        yaxis=_AXIS,
        hoverlabel=dict(font_size=BASE_FONT_SIZE),
        font=dict(size=BASE_FONT_SIZE),
        title=dict(
            x=0.0, xanchor="left", y=0.985, yanchor="top", yref="container", font_size=TITLE_FONT_SIZE
        ),
        margin=dict(l=20, r=20, t=70, b=20),
        hovermode="closest",
        # Legend in rows below the x-axis title: never on top of the title, colour bars or a right-hand
        # axis, however many entries a half-width chart has to wrap.
        legend=dict(orientation="h", x=0.0, xanchor="left", yref="container", y=0.0, yanchor="bottom"),
    )
)
NOT_FINITE_NOTE = "diverged: values not finite"


def cell_colour(label: str, index: int = 0) -> str:
    """Colour of a cell type from a mode ("lstm") or a free label ("LSTM, seed 3", "IRNN")."""
    key = label.lower()
    if key in CELL_COLOURS:
        return CELL_COLOURS[key]
    for word, mode in (("lstm", "lstm"), ("gru", "gru"), ("irnn", "rnn_relu"), ("relu", "rnn_relu")):
        if word in key:
            return CELL_COLOURS[mode]
    if "rnn" in key:
        return CELL_COLOURS["rnn_tanh"]
    return _PALETTE[index % len(_PALETTE)]


def gate_colour(block: str) -> str:
    """Colour of a gate ("f") or of a parameter block named after it ("W_hf", "b_iz")."""
    return GATE_COLOURS.get(block[-1:], _NEUTRAL)  # "W_hh" (vanilla RNN) ends in h: neutral grey


# --------------------------------------------------------------------------------------
# Shared helpers: layout, data cleaning, annotations
# --------------------------------------------------------------------------------------


def _styled(
    fig: go.Figure,
    kind: str,
    title: str,
    x_title: str | None = None,
    y_title: str | None = None,
    height: int = 480,
) -> go.Figure:
    """The common look (the template) plus title, axis titles, height and ``uirevision=kind``.

    One ``update_layout`` call: plotly validates every call, and figures redraw twice a second."""
    layout = dict(
        template=_TEMPLATE,
        font=dict(size=BASE_FONT_SIZE),
        title=dict(text=title),
        uirevision=kind,
        height=height,
    )
    if x_title is not None:
        layout["xaxis"] = dict(title=dict(text=x_title))
    if y_title is not None:
        layout["yaxis"] = dict(title=dict(text=y_title))
    fig.update_layout(layout)
    return fig


def _curve(values, name: str = "values", log: bool = False) -> tuple[np.ndarray, bool]:
    """float64 1-D copy with non-finite (and, on log axes, non-positive) entries set to NaN.

    Returns (clean, had_non_finite)."""
    a = np.array(values, dtype=np.float64)
    if a.ndim != 1:
        raise RnnvizError(f"{name} must be 1-D, got shape {a.shape}")
    bad = ~np.isfinite(a)
    a[bad] = np.nan
    if log:
        a[a <= 0] = np.nan
    return a, bool(bad.any())


def _grid(values, name: str) -> tuple[np.ndarray, bool]:
    """float32 2-D copy with non-finite entries set to NaN; returns (clean, had_non_finite)."""
    a = np.array(values, dtype=np.float32)
    if a.ndim != 2:
        raise RnnvizError(f"{name} must be 2-D, got shape {a.shape}")
    bad = ~np.isfinite(a)
    a[bad] = np.nan
    return a, bool(bad.any())


def _same_length(**arrays) -> None:
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        raise RnnvizError(f"arrays must have the same length, got {lengths}")


def _line_mode(steps) -> str:
    """Lines, plus markers while there are too few points for a line to show (e.g. only step 0)."""
    return "lines" if len(steps) > 2 else "lines+markers"


def _timesteps(L: int) -> np.ndarray:
    return np.arange(1, L + 1, dtype=np.int32)


def _note_not_finite(fig: go.Figure, text: str = NOT_FINITE_NOTE) -> None:
    """Red banner inside the plot area, top left: the data had inf/nan that are not drawn."""
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0.01,
        y=0.99,
        xanchor="left",
        yanchor="top",
        showarrow=False,
        font=dict(color="#B00020", size=BASE_FONT_SIZE),
        bgcolor="rgba(255,255,255,0.85)",
        bordercolor="#B00020",
        borderwidth=1,
        name="not-finite",
    )


def _log_y(fig: go.Figure, max_ticks: int = 8) -> None:
    """Log y axis labelled at whole decades only (1e-6, 1e-4, ...), at most ``max_ticks`` of them.

    Plotly's default labels the 2 and 5 between decades, unreadable over 20+ decades."""
    ys = [np.asarray(t.y, dtype=np.float64) for t in fig.data if t.y is not None and len(t.y)]
    y = np.concatenate(ys) if ys else np.empty(0)
    y = y[np.isfinite(y) & (y > 0)]
    fig.update_yaxes(type="log")
    if y.size:
        decades = math.ceil(math.log10(y.max())) - math.floor(math.log10(y.min()))
        if decades > 1:
            fig.update_yaxes(dtick=max(1, math.ceil(decades / max_ticks)))


def _hline_trace(fig: go.Figure, x0: float, x1: float, y: float, name: str, colour: str = _NEUTRAL) -> None:
    """A dashed horizontal reference line as a trace (so it has a legend entry and hover)."""
    fig.add_trace(
        go.Scatter(
            x=[x0, x1],
            y=[y, y],
            mode="lines",
            name=name,
            line=dict(color=colour, dash="dash", width=2),
            hovertemplate=f"{name}<extra></extra>",
        )
    )


def _span(*xs: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite x over several arrays (0, 1 when there is none)."""
    x = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in xs] + [np.empty(0)])
    x = x[np.isfinite(x)]
    return (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)


def _norm_line(
    fig: go.Figure,
    norms,
    name: str,
    colour: str,
    dash: str = "solid",
    mode: str = "lines",
    quantity: str = "||dL/dh_t||",
    **kwargs,
) -> bool:
    """One per-timestep norm curve on a log axis; returns whether it had non-finite values."""
    y, bad = _curve(norms, name, log=True)
    fig.add_trace(
        go.Scatter(
            x=_timesteps(len(y)),
            y=y,
            name=name,
            mode=mode,
            line=dict(color=colour, dash=dash, width=3),
            marker=dict(color=colour, size=9),
            hovertemplate=f"{name}<br>t=%{{x}}<br>{quantity} = %{{y:.3g}}<extra></extra>",
            **kwargs,
        )
    )
    return bad


# --------------------------------------------------------------------------------------
# Training curves
# --------------------------------------------------------------------------------------


def loss_curve(
    steps,
    loss,
    metric=None,
    metric_name: str | None = None,
    baseline: float | None = None,
    diverged_step: int | None = None,
    loss_name: str = "loss",
) -> go.Figure:
    """Loss per training step, with the task's chance baseline (dashed) and divergence marker.

    ``metric`` (S,) is drawn dotted on a right-hand axis named ``metric_name``. The baseline
    is the loss of the best input-blind predictor (e.g. 1/6 MSE for the adding problem):
    a model below it has learned something from the sequence.
    """
    steps = np.asarray(steps)
    _same_length(steps=steps, loss=loss, metric=metric)
    y, bad = _curve(loss, "loss")
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=y,
            mode=_line_mode(steps),
            name=loss_name,
            line=dict(color=_PALETTE[0], width=3),
            hovertemplate=f"step %{{x}}<br>{loss_name} = %{{y:.4g}}<extra></extra>",
        )
    )
    title = "Training loss"
    if metric is not None:
        metric_name = metric_name or "metric"
        m, bad_m = _curve(metric, "metric")
        bad |= bad_m
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=m,
                mode="lines",
                name=metric_name,
                yaxis="y2",
                line=dict(color=_PALETTE[1], width=2, dash="dot"),
                hovertemplate=f"step %{{x}}<br>{metric_name} = %{{y:.4g}}<extra></extra>",
            )
        )
        fig.update_layout(
            yaxis2=dict(_AXIS, title_text=metric_name, overlaying="y", side="right", showgrid=False,
                        tickmode="auto", nticks=6)
        )
        title += f" and {metric_name.split(' (')[0]}"  # the axis carries the full definition
    if baseline is not None:
        x0, x1 = _span(steps)
        _hline_trace(fig, x0, x1, float(baseline), f"chance baseline ({baseline:.3g})")
    if diverged_step is not None:
        _mark_divergence(fig, steps, y, int(diverged_step))
    _styled(fig, "loss_curve", title, "training step", loss_name)
    if bad:
        _note_not_finite(fig)
    return fig


def _mark_divergence(fig: go.Figure, steps: np.ndarray, y: np.ndarray, step: int) -> None:
    """Red x at the last finite loss up to ``step`` (or at the axis bottom if none) + a vertical line."""
    upto = np.isfinite(y) & (steps <= step)
    y_mark = float(y[upto][-1]) if upto.any() else 0.0
    name = f"diverged at step {step}"
    fig.add_trace(
        go.Scatter(
            x=[step],
            y=[y_mark],
            mode="markers",
            name=name,
            marker=dict(symbol="x", size=18, color="#B00020", line=dict(width=2)),
            hovertemplate=f"{name}<extra></extra>",
        )
    )
    fig.add_vline(x=step, line=dict(color="#B00020", dash="dot", width=2))


def grad_norm_curve(
    steps, norm_before, norm_after=None, clipped_mask=None, threshold: float | None = None
) -> go.Figure:
    """Global gradient norm ||g|| per training step (log y), before and after clipping.

    Clipping rescales g <- theta g/||g|| whenever ||g|| > theta; clipped steps are marked
    with an x on the "before" curve and the threshold theta is a dashed line.
    """
    steps = np.asarray(steps)
    _same_length(steps=steps, norm_before=norm_before, norm_after=norm_after, clipped_mask=clipped_mask)
    before, bad = _curve(norm_before, "norm_before", log=True)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=before,
            mode=_line_mode(steps),
            name="||g|| before clipping",
            line=dict(color=_PALETTE[0], width=3),
            hovertemplate="step %{x}<br>||g|| = %{y:.3g}<extra>before clipping</extra>",
        )
    )
    if norm_after is not None:
        after, bad_after = _curve(norm_after, "norm_after", log=True)
        bad |= bad_after
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=after,
                mode="lines",
                name="||g|| after clipping",
                line=dict(color=_PALETTE[2], width=2, dash="dash"),
                hovertemplate="step %{x}<br>||g|| = %{y:.3g}<extra>after clipping</extra>",
            )
        )
    if clipped_mask is not None:
        mask = np.asarray(clipped_mask, dtype=bool)
        fig.add_trace(
            go.Scatter(
                x=steps[mask],
                y=before[mask],
                mode="markers",
                name=f"clipped ({int(mask.sum())} steps)",
                marker=dict(symbol="x", size=10, color=_PALETTE[1]),
                hovertemplate="step %{x}: clipped<br>||g|| = %{y:.3g}<extra></extra>",
            )
        )
    if threshold is not None:
        x0, x1 = _span(steps)
        _hline_trace(fig, x0, x1, float(threshold), f"clip threshold θ = {threshold:.3g}", colour=_PALETTE[1])
    _styled(
        fig,
        "grad_norm_curve",
        "Gradient norm per training step",
        "training step",
        "gradient norm ||g|| (log scale)",
    )
    _log_y(fig)
    if bad:
        _note_not_finite(fig)
    return fig


def compare_loss(curves: Mapping[str, tuple], baseline: float | None = None) -> go.Figure:
    """Loss per training step for several runs (label -> (steps, loss)), coloured by cell type."""
    fig = go.Figure()
    bad = False
    all_steps = []
    for index, (label, (steps, loss)) in enumerate(curves.items()):
        steps = np.asarray(steps)
        _same_length(steps=steps, loss=loss)
        y, bad_y = _curve(loss, f"loss of {label}")
        bad |= bad_y
        all_steps.append(steps)
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=y,
                mode=_line_mode(steps),
                name=label,
                line=dict(color=cell_colour(label, index), width=3),
                hovertemplate=f"{label}<br>step %{{x}}<br>loss = %{{y:.4g}}<extra></extra>",
            )
        )
    if baseline is not None:
        x0, x1 = _span(*all_steps)
        _hline_trace(fig, x0, x1, float(baseline), f"chance baseline ({baseline:.3g})")
    _styled(fig, "compare_loss", "Training loss: same task, same seed, same batches", "training step", "loss")
    if bad:
        _note_not_finite(fig)
    return fig


# --------------------------------------------------------------------------------------
# Gradient flow through time
# --------------------------------------------------------------------------------------


def _direction_label(layer: int, direction: int, Lyr: int, D: int) -> str:
    parts = []
    if Lyr > 1:
        parts.append(f"layer {layer + 1}")
    if D > 1:
        parts.append("forward" if direction == 0 else "backward")
    return " ".join(parts) or "||dL/dh_t||"


def gradient_flow(grad_norms, step: int | None = None, theory=None, jacobian=None) -> go.Figure:
    """||dL/dh_t|| against timestep t on a log axis: how much gradient reaches each step.

    ``grad_norms``: ``Trace.grad_norms`` (Lyr, D, L) -> one line per layer/direction
    (backward direction dashed), a single curve (L,), or a dict label -> (L,) to compare
    cells (coloured by cell type). ``theory``: (L,) (or dict label -> (L,)) drawn dotted,
    e.g. ``analysis.theory_bound(sigma_max, gamma, L) * grad_norms[-1]``, the Pascanu bound
    ||dL/dh_t|| <= ||dL/dh_T|| (gamma sigma_max)^(T-t). ``jacobian``: measured
    ||dh_T/dh_t||_2 as markers, either (L,) or an object with ``.hidden`` (and ``.cell``).
    A straight falling line on this log axis is geometric vanishing.
    """
    fig = go.Figure()
    bad = False
    if isinstance(grad_norms, Mapping):
        for index, (label, norms) in enumerate(grad_norms.items()):
            bad |= _norm_line(fig, norms, label, cell_colour(label, index))
    else:
        g = np.asarray(grad_norms)
        if g.ndim == 1:
            g = g[None, None]
        if g.ndim != 3:
            raise RnnvizError(
                f"grad_norms must be (L,), (Lyr, D, L) or a dict label -> (L,), got shape {g.shape}"
            )
        Lyr, D, _ = g.shape
        for layer in range(Lyr):
            for direction in range(D):
                bad |= _norm_line(
                    fig,
                    g[layer, direction],
                    _direction_label(layer, direction, Lyr, D),
                    _PALETTE[layer % len(_PALETTE)],
                    dash="solid" if direction == 0 else "dash",
                )
    if theory is not None:
        series = theory.items() if isinstance(theory, Mapping) else [("", theory)]
        for index, (label, bound) in enumerate(series):
            name = f"bound (γσ_max)^(T−t){' ' + label if label else ''}"
            colour = cell_colour(label, index) if label else _NEUTRAL
            _norm_line(fig, bound, name, colour, dash="dot", quantity="bound")  # inf bound = off the chart
    if jacobian is not None:
        hidden = getattr(jacobian, "hidden", jacobian)
        bad |= _norm_line(
            fig,
            hidden,
            "measured ||∂h_T/∂h_t||",
            _NEUTRAL,
            mode="markers",
            quantity="||∂h_T/∂h_t||",
            marker_symbol="circle-open",
        )
        cell = getattr(jacobian, "cell", None)
        if cell is not None:
            bad |= _norm_line(
                fig,
                cell,
                "measured ||∂c_T/∂c_t||",
                CELL_COLOURS["lstm"],
                mode="markers",
                quantity="||∂c_T/∂c_t||",
                marker_symbol="diamond-open",
            )
    title = "Gradient flowing back through time"
    if step is not None:
        title += f" (training step {step})"
    _styled(fig, "gradient_flow", title, "timestep t", "||dL/dh_t|| (log scale)")
    _log_y(fig)
    if theory is not None:
        _focus_on_measured(fig)
    if bad:
        _note_not_finite(fig)
    return fig


def _focus_on_measured(fig: go.Figure, pad_decades: float = 1.0) -> None:
    """Fit the log y range to the measured curves: a bound far above them (sigma_max > 1, where the
    Pascanu bound says nothing) runs off the top instead of squashing the data into a thin band."""
    ys = [np.asarray(t.y, dtype=np.float64) for t in fig.data
          if t.y is not None and len(t.y) and not str(t.name or "").startswith("bound")]
    y = np.concatenate(ys) if ys else np.empty(0)
    y = y[np.isfinite(y) & (y > 0)]
    if y.size:
        lo, hi = math.log10(y.min()) - pad_decades, math.log10(y.max()) + pad_decades
        fig.update_yaxes(range=[lo, hi], dtick=max(1, math.ceil((hi - lo) / 8)))


def cell_vs_hidden_flow(grad_norms, grad_cell_norms) -> go.Figure:
    """LSTM: ||dL/dc_t|| (the cell-state highway, c_t = f*c_{t-1} + i*g) against ||dL/dh_t||.

    Along the cell path dc_t/dc_{t-1} = diag(f_t) (plus indirect terms), so with forget
    gates near 1 the cell gradient decays far more slowly than through h.
    """
    _same_length(grad_norms=grad_norms, grad_cell_norms=grad_cell_norms)
    fig = go.Figure()
    bad = _norm_line(fig, grad_norms, "||dL/dh_t|| (hidden state)", CELL_COLOURS["lstm"])
    bad |= _norm_line(
        fig,
        grad_cell_norms,
        "||dL/dc_t|| (cell state)",
        GATE_COLOURS["i"],
        dash="dash",
        quantity="||dL/dc_t||",
    )
    _styled(
        fig,
        "cell_vs_hidden_flow",
        "LSTM: gradient through the cell state vs the hidden state",
        "timestep t",
        "gradient norm (log scale)",
    )
    _log_y(fig)
    if bad:
        _note_not_finite(fig)
    return fig


def _log_colour_bar(z_log: np.ndarray, title: str, max_ticks: int = 8) -> dict:
    """Colour-axis settings for log10 data: integer range, ticks labelled 1e-6, 1e-4, ..."""
    finite = z_log[np.isfinite(z_log)]
    # Tolerance: float32 log10(1e-6) is -6.0000005, which must still give the tick 1e-6.
    lo, hi = (math.floor(finite.min() + 1e-3), math.ceil(finite.max() - 1e-3)) if finite.size else (0, 1)
    hi = max(hi, lo + 1)
    stride = max(1, math.ceil((hi - lo) / max_ticks))
    ticks = list(range(lo, hi + 1, stride))
    return dict(
        zmin=lo,
        zmax=hi,
        colorbar=dict(
            title=dict(text=title, side="right"), tickvals=ticks, ticktext=[f"1e{v}" for v in ticks]
        ),
    )


def gradient_flow_heatmap(steps, grad_norms) -> go.Figure:
    """Colour = log10 ||dL/dh_t|| for every timestep t (x) and training step (y).

    Vanishing shows as a colour gradient across each row; learning to carry the gradient
    back shows as the left side warming up over training. inf/nan are blank cells (with a
    note); exact zeros are blank too (no gradient, -inf on a log scale).
    """
    steps = np.asarray(steps)
    g, bad = _grid(grad_norms, "grad_norms")
    _same_length(steps=steps, grad_norms=g)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(np.where(g > 0, g, np.nan)).astype(np.float32)
    fig = go.Figure(
        go.Heatmap(
            x=_timesteps(g.shape[1]),
            y=steps,
            z=z,
            colorscale="Viridis",
            hovertemplate="t=%{x}, step %{y}<br>||dL/dh_t|| = 1e%{z:.2f}<extra></extra>",
            **_log_colour_bar(z, "||dL/dh_t||"),
        )
    )
    _styled(
        fig,
        "gradient_flow_heatmap",
        "Gradient flow over training (colour: ||dL/dh_t||, log scale)",
        "timestep t",
        "training step",
    )
    if bad:
        _note_not_finite(fig)
    return fig


# --------------------------------------------------------------------------------------
# Hidden states and gates
# --------------------------------------------------------------------------------------


def _symmetric_range(z: np.ndarray, bounded: bool) -> float:
    if bounded:
        return 1.0
    finite = np.abs(z[np.isfinite(z)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def hidden_heatmap(hidden, inputs=None, title: str | None = None, bounded: bool = True) -> go.Figure:
    """Hidden state h_t of every unit (rows) at every timestep (columns), inputs aligned above.

    Colour is diverging and fixed to [-1, 1] (tanh-bounded; white = 0) so frames compare
    across redraws; set ``bounded=False`` for relu RNNs (symmetric range from the data).
    ``inputs`` (L,) or (L, 1) is drawn as a line, (L, I) as a small heatmap, sharing the t axis.
    """
    h, bad = _grid(hidden, "hidden")  # (L, H)
    L, H = h.shape
    t = _timesteps(L)
    limit = _symmetric_range(h, bounded)
    heat = go.Heatmap(
        x=t,
        y=np.arange(1, H + 1, dtype=np.int32),
        z=h.T,
        colorscale="RdBu_r",
        zmin=-limit,
        zmax=limit,
        zmid=0,
        colorbar=dict(title=dict(text=f"h value ({-limit:.3g} … {limit:.3g})", side="right")),
        hovertemplate="t=%{x}, unit %{y}<br>h = %{z:.3f}<extra></extra>",
    )
    title = title or "Hidden state h_t of every unit over time"
    if inputs is None:
        fig = go.Figure(heat)
        _styled(fig, "hidden_heatmap", title, "timestep t", "hidden unit")
    else:
        x_in = np.array(inputs, dtype=np.float32)
        x_in = x_in.reshape(-1, 1) if x_in.ndim == 1 else x_in  # (L, I)
        _same_length(hidden=h, inputs=x_in)
        bad_in = ~np.isfinite(x_in)
        x_in[bad_in] = np.nan
        bad |= bool(bad_in.any())
        fig = make_subplots(
            rows=2, cols=1, shared_xaxes=True, row_heights=[0.22, 0.78], vertical_spacing=0.04
        )
        if x_in.shape[1] == 1:
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=x_in[:, 0],
                    mode="lines+markers",
                    name="input x_t",
                    showlegend=False,
                    line=dict(color=_NEUTRAL, width=2),
                    hovertemplate="t=%{x}<br>x = %{y:.3g}<extra></extra>",
                ),
                row=1,
                col=1,
            )
        else:
            fig.add_trace(
                go.Heatmap(
                    x=t,
                    y=np.arange(1, x_in.shape[1] + 1, dtype=np.int32),
                    z=x_in.T,
                    colorscale="Greys",
                    showscale=False,
                    hovertemplate="t=%{x}, feature %{y}<br>x = %{z:.3g}<extra></extra>",
                ),
                row=1,
                col=1,
            )
        fig.add_trace(heat, row=2, col=1)
        _styled(fig, "hidden_heatmap", title, height=560)
        fig.update_xaxes(title_text="timestep t", row=2, col=1)
        fig.update_xaxes(range=[0.5, L + 0.5])  # cells, not line padding, define the shared t axis
        fig.update_yaxes(title_text="input", row=1, col=1)
        fig.update_yaxes(title_text="hidden unit", row=2, col=1)
    if bad:
        _note_not_finite(fig)
    return fig


MAX_ANIMATION_FRAMES = 40


def hidden_animation(steps, hiddens, bounded: bool = True) -> go.Figure:
    """A play-through of training: the hidden-state heatmap of one probe sequence at each recorded step.

    ``steps`` (S,) and ``hiddens`` S arrays (L, H). Plotly animates in the browser (play button and a
    step slider), so no server round trip per frame; at most ``MAX_ANIMATION_FRAMES`` evenly spaced
    frames (always the first and the last) keep the figure light.
    """
    steps = [int(s) for s in steps]
    if len(steps) != len(hiddens) or not steps:
        raise RnnvizError(f"steps and hiddens must be non-empty and the same length, got {len(steps)} "
                          f"and {len(hiddens)}")
    pick = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), MAX_ANIMATION_FRAMES)).round().astype(int))
    grids = [_grid(hiddens[i], "hidden")[0] for i in pick]
    limit = max(_symmetric_range(g, bounded) for g in grids)
    L, H = grids[0].shape

    def heat(g):
        return go.Heatmap(x=_timesteps(L), y=np.arange(1, H + 1, dtype=np.int32), z=g.T, colorscale="RdBu_r",
                          zmin=-limit, zmax=limit, zmid=0,
                          colorbar=dict(title=dict(text="h value", side="right")),
                          hovertemplate="t=%{x}, unit %{y}<br>h = %{z:.3f}<extra></extra>")

    labels = [str(steps[i]) for i in pick]
    frames = [go.Frame(data=[heat(g)], name=n) for g, n in zip(grids, labels, strict=True)]
    fig = go.Figure(heat(grids[-1]), frames=frames)
    frame_args = dict(frame=dict(duration=250, redraw=True), mode="immediate", transition=dict(duration=0))
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.18, xanchor="left", showactive=False,
                          buttons=[dict(label="▶ play", method="animate", args=[None, frame_args]),
                                   dict(label="⏸", method="animate",
                                        args=[[None], dict(frame_args, mode="immediate")])])],
        sliders=[dict(active=len(labels) - 1, x=0.12, y=-0.12, len=0.88,
                      currentvalue=dict(prefix="training step "),
                      steps=[dict(label=n, method="animate", args=[[n], frame_args]) for n in labels])],
    )
    _styled(fig, "hidden_animation", "Hidden state of the probe sequence through training", "timestep t",
            "hidden unit", height=600)
    fig.update_layout(margin=dict(b=150))
    return fig


def gate_heatmaps(gates: Mapping[str, np.ndarray], mode: str) -> go.Figure:
    """One panel per gate (LSTM i, f, g, o; GRU r, z, n): units (rows) x timesteps (columns).

    Sigmoid gates share one colour bar on [0, 1] (0 = closed, 1 = open); the tanh
    candidates g and n share a diverging one on [-1, 1]. Each ``gates[name]`` is (L, H),
    e.g. ``Trace.gates[name][layer, direction, sample]``.
    """
    order = [g for g in analysis.GATE_ORDER.get(mode, ()) if g in gates] + [
        g for g in gates if g not in analysis.GATE_ORDER.get(mode, ())
    ]
    if not order:
        raise RnnvizError(f"gate_heatmaps needs at least one gate, got none for mode {mode!r}")
    titles = [f"{GATE_TITLES.get(g, g)} ({'tanh, −1…1' if g in TANH_GATES else 'σ, 0…1'})" for g in order]
    fig = make_subplots(
        rows=len(order), cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=0.06
    )
    bad = False
    for row, name in enumerate(order, start=1):
        z, bad_z = _grid(gates[name], f"gates[{name!r}]")
        bad |= bad_z
        L, H = z.shape
        fig.add_trace(
            go.Heatmap(
                x=_timesteps(L),
                y=np.arange(1, H + 1, dtype=np.int32),
                z=z.T,
                name=GATE_TITLES.get(name, name),
                coloraxis="coloraxis2" if name in TANH_GATES else "coloraxis",
                hovertemplate=f"{name}: t=%{{x}}, unit %{{y}}<br>{name} = %{{z:.3f}}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="unit", row=row, col=1)
    fig.update_xaxes(title_text="timestep t", row=len(order), col=1)
    cell = CELL_LABELS.get(mode, mode)
    _styled(
        fig, "gate_heatmaps", f"{cell} gates at every timestep (units × time)", height=120 + 200 * len(order)
    )
    has_tanh = any(g in TANH_GATES for g in order)
    # Two colour bars stacked on the right (sigmoid above, tanh below), so their titles never overlap.
    sigmoid_bar = dict(y=0.77, len=0.46, yanchor="middle") if has_tanh else dict(y=0.5, len=0.9)
    fig.update_layout(
        coloraxis=dict(
            colorscale="Viridis",
            cmin=0,
            cmax=1,
            colorbar=dict(title=dict(text="gate value<br>0 closed, 1 open", side="right"), **sigmoid_bar),
        )
    )
    if has_tanh:
        fig.update_layout(
            coloraxis2=dict(
                colorscale="RdBu_r",
                cmin=-1,
                cmax=1,
                cmid=0,
                colorbar=dict(
                    title=dict(text="candidate value<br>−1 … 1", side="right"),
                    y=0.23,
                    len=0.46,
                    yanchor="middle",
                ),
            )
        )
    fig.update_annotations(font_size=BASE_FONT_SIZE)
    if bad:
        _note_not_finite(fig)
    return fig


def saturation_curve(steps, per_gate: Mapping[str, tuple], low: float = 0.1, high: float = 0.9) -> go.Figure:
    """Fraction of saturated gate units per training step: above ``high`` solid, below ``low`` dashed.

    ``per_gate[name] = (below (S,), above (S,))`` from :func:`rnnviz.analysis.saturation`; for the
    tanh candidates (g, n) pass the fractions of |value| (saturated means |g| near 1), which the
    legend spells ``|g| > 0.9``. A forget gate mostly above 0.9 is remembering; a gate stuck at 0
    or 1 (or a candidate at ±1) passes almost no gradient (sigma' < 0.09, tanh' < 0.19 there).
    """
    steps = np.asarray(steps)
    fig = go.Figure()
    bad = False
    for name, (below, above) in per_gate.items():
        _same_length(steps=steps, below=below, above=above)
        colour = gate_colour(name)
        label = GATE_TITLES.get(name, name)
        shown = f"|{name}|" if name in TANH_GATES else name  # tanh candidates saturate at both ends
        for values, rel, threshold, dash in ((above, ">", high, "solid"), (below, "<", low, "dash")):
            y, bad_y = _curve(values, label)
            bad |= bad_y
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=y,
                    mode="lines",
                    name=f"{shown} {rel} {threshold:g}",
                    legendgroup=name,
                    line=dict(color=colour, dash=dash, width=3),
                    hovertemplate=f"{label}<br>step %{{x}}<br>{rel} {threshold:g}: %{{y:.1%}}<extra></extra>",
                )
            )
    _styled(
        fig,
        "saturation_curve",
        f"Gate saturation: share of units above {high:g} or below {low:g}",
        "training step",
        "units saturated (%)",
    )
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    if bad:
        _note_not_finite(fig)
    return fig


# --------------------------------------------------------------------------------------
# Geometry: PCA trajectories and eigenvalues
# --------------------------------------------------------------------------------------


def pca_trajectory_figure(proj, explained) -> go.Figure:
    """The hidden-state path h_1 .. h_T projected on its top 2 or 3 principal components.

    ``proj`` (L, 2|3) and ``explained`` (k,) come from :func:`rnnviz.analysis.pca_trajectory`.
    Points are coloured by timestep; the start (t=1) and the end (t=T) are marked.
    """
    p = np.array(proj, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] not in (2, 3):
        raise RnnvizError(f"proj must be (L, 2) or (L, 3), got shape {p.shape}")
    bad = ~np.all(np.isfinite(p), axis=1)
    p[bad] = np.nan
    L, k = p.shape
    t = _timesteps(L)
    explained = np.asarray(explained, dtype=np.float64)
    axis_titles = [f"PC{j + 1} ({explained[j]:.0%} of variance)" for j in range(k)]
    ends = [(0, "start t=1", "square", "#009E73"), (L - 1, f"end t={L}", "diamond", "#B00020")] if L else []
    fig = go.Figure()
    hover = "t=%{marker.color}<br>" + "<br>".join(
        f"PC{j + 1} = %{{{c}:.3g}}" for j, c in enumerate("xyz"[:k])
    )
    path = dict(
        mode="lines+markers",
        name="h_t",
        showlegend=False,
        line=dict(color=_LIGHT, width=2),
        marker=dict(
            color=t, colorscale="Viridis", size=7, colorbar=dict(title=dict(text="timestep t", side="right"))
        ),
        hovertemplate=hover + "<extra></extra>",
    )
    if k == 2:
        fig.add_trace(go.Scatter(x=p[:, 0], y=p[:, 1], **path))
        for i, name, symbol, colour in ends:
            fig.add_trace(
                go.Scatter(
                    x=[p[i, 0]],
                    y=[p[i, 1]],
                    mode="markers",
                    name=name,
                    marker=dict(symbol=symbol, size=18, color=colour),
                    hovertemplate=f"{name}<extra></extra>",
                )
            )
        _styled(fig, "pca_trajectory", "Hidden-state trajectory (PCA projection)", *axis_titles, height=560)
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    else:
        fig.add_trace(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], **path))
        for i, name, symbol, colour in ends:
            fig.add_trace(
                go.Scatter3d(
                    x=[p[i, 0]],
                    y=[p[i, 1]],
                    z=[p[i, 2]],
                    mode="markers",
                    name=name,
                    marker=dict(symbol=symbol, size=10, color=colour),
                    hovertemplate=f"{name}<extra></extra>",
                )
            )
        _styled(fig, "pca_trajectory", "Hidden-state trajectory (PCA projection, 3D)", height=640)
        fig.update_layout(
            scene=dict(
                xaxis_title=axis_titles[0],
                yaxis_title=axis_titles[1],
                zaxis_title=axis_titles[2],
                aspectmode="data",
            )
        )
    if bad.any():
        _note_not_finite(fig)
    return fig


def eigenvalue_plot(eigenvalues, previous=None) -> go.Figure:
    """Eigenvalues of W_hh in the complex plane, with the unit circle |λ| = 1 (equal axes).

    Outside the circle a direction grows each step (h_t ~ λ^t), inside it shrinks; the
    spectral radius ρ = max|λ| is in the title. ``previous`` (optional) is drawn faded,
    so the movement during training is visible.
    """
    lam = np.asarray(eigenvalues, dtype=np.complex128).reshape(-1)
    finite = np.isfinite(lam)
    angle = np.linspace(0, 2 * np.pi, 121)
    fig = go.Figure(
        go.Scatter(
            x=np.round(np.cos(angle), 4),
            y=np.round(np.sin(angle), 4),
            mode="lines",
            name="unit circle |λ| = 1",
            line=dict(color=_NEUTRAL, dash="dot", width=2),
            hoverinfo="skip",
        )
    )
    if previous is not None:
        prev = np.asarray(previous, dtype=np.complex128).reshape(-1)
        prev = prev[np.isfinite(prev)]
        fig.add_trace(
            go.Scatter(
                x=prev.real,
                y=prev.imag,
                mode="markers",
                name="previous",
                marker=dict(color=_LIGHT, size=9),
                hovertemplate="previous λ = %{x:.3f} %{y:+.3f}i<extra></extra>",
            )
        )
    shown = lam[finite]
    modulus = np.abs(shown)
    fig.add_trace(
        go.Scatter(
            x=shown.real,
            y=shown.imag,
            mode="markers",
            name="eigenvalues λ",
            marker=dict(
                color=modulus,
                colorscale="RdBu_r",
                cmin=0,
                cmid=1,
                cmax=max(2.0, float(modulus.max(initial=0))),
                size=11,
                line=dict(color="#333333", width=1),
                colorbar=dict(title=dict(text="|λ| (>1 grows, <1 shrinks)", side="right")),
            ),
            hovertemplate="λ = %{x:.3f} %{y:+.3f}i<br>|λ| = %{marker.color:.3f}<extra></extra>",
        )
    )
    rho = float(modulus.max(initial=0.0))
    _styled(
        fig,
        "eigenvalue_plot",
        f"Eigenvalues of W_hh (spectral radius ρ = {rho:.3g})",
        "real part Re λ",
        "imaginary part Im λ",
        height=560,
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    if not finite.all():
        _note_not_finite(fig)
    return fig


# --------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------


def param_grad_bars(norms: Mapping[str, float]) -> go.Figure:
    """||dL/dW|| for each parameter block (W_ii, W_hf, b_ir, ...), coloured by gate, log y.

    Pass one layer and direction, e.g. ``{k: v[layer, direction] for k, v in
    trace.param_grad_norms.items()}``.
    """
    names = list(norms)
    values = []
    for name in names:
        v = np.asarray(norms[name], dtype=np.float64)
        if v.size != 1:
            raise RnnvizError(
                f"param_grad_bars needs one number per block (index [layer, direction]), "
                f"got shape {v.shape} for {name}"
            )
        values.append(float(v.reshape(())))
    y, bad = _curve(values, "norms", log=True)
    fig = go.Figure(
        go.Bar(
            x=names,
            y=y,
            marker_color=[gate_colour(n) for n in names],
            name="||dL/dW||",
            hovertemplate="%{x}<br>||dL/dW|| = %{y:.3g}<extra></extra>",
        )
    )
    _styled(
        fig,
        "param_grad_bars",
        "Parameter gradient per gate block",
        "parameter block",
        "||dL/dW|| (log scale)",
    )
    _log_y(fig)
    if bad:
        _note_not_finite(fig)
    return fig


# --------------------------------------------------------------------------------------
# Learn-page widgets (maths in rnnviz.analysis)
# --------------------------------------------------------------------------------------


def jacobian_product_figure(rho: float, T: int, gamma: float = 1.0) -> go.Figure:
    """(γρ)^n against n = 0 .. T on a log axis: a product of n Jacobians of norm γρ each."""
    T = int(T)
    scale = analysis.jacobian_product(rho, T, gamma)
    fig = go.Figure()
    _hline_trace(fig, 0, T, 1.0, "no change (γρ = 1)")
    y, _ = _curve(scale, "scale", log=True)
    fig.add_trace(
        go.Scatter(
            x=np.arange(T + 1),
            y=y,
            mode="lines",
            name="(γρ)^n",
            line=dict(color=CELL_COLOURS["rnn_tanh"], width=3),
            hovertemplate="n=%{x}<br>(γρ)^n = %{y:.3g}<extra></extra>",
        )
    )
    base = gamma * rho
    _styled(
        fig,
        "jacobian_product",
        f"γρ = {base:.3g}: after {T} steps the gradient is scaled by {analysis.format_ratio(scale[-1])}",
        "steps back in time n",
        "gradient scale (γρ)^n (log scale)",
    )
    _log_y(fig)
    if not np.all(np.isfinite(scale) & (scale > 0)):
        _note_not_finite(fig, "values beyond float range not drawn")
    return fig


def clipping_figure(gx: float, gy: float, threshold: float) -> go.Figure:
    """A 2-D gradient g before and after norm clipping, with the circle ||g|| = θ (equal axes)."""
    clip = analysis.clip_by_norm(np.array([gx, gy]), threshold)
    angle = np.linspace(0, 2 * np.pi, 121)
    fig = go.Figure(
        go.Scatter(
            x=np.round(threshold * np.cos(angle), 4),
            y=np.round(threshold * np.sin(angle), 4),
            mode="lines",
            name=f"||g|| = θ = {threshold:g}",
            line=dict(color=_NEUTRAL, dash="dot", width=2),
            hoverinfo="skip",
        )
    )
    for vector, name, colour, width in (
        (np.array([gx, gy]), f"g (||g|| = {clip.norm:.3g})", CELL_COLOURS["rnn_tanh"], 3),
        (clip.clipped, f"clipped (×{clip.scale:.3g})", CELL_COLOURS["lstm"], 5),
    ):
        fig.add_trace(
            go.Scatter(
                x=[0.0, vector[0]],
                y=[0.0, vector[1]],
                mode="lines+markers",
                name=name,
                line=dict(color=colour, width=width),
                marker=dict(symbol=["circle", "arrow"], size=[6, 20], angleref="previous", color=colour),
                hovertemplate=f"{name}<br>(%{{x:.3g}}, %{{y:.3g}})<extra></extra>",
            )
        )
    verdict = "so g ← θ g/||g||" if clip.scale < 1 else "so g is unchanged"
    rel = ">" if clip.scale < 1 else "≤"
    _styled(
        fig,
        "clipping",
        f"Clipping: ||g|| = {clip.norm:.3g} {rel} θ = {threshold:g}, {verdict}",
        "g₁",
        "g₂",
        height=520,
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def nonlinearity_figure(x_max: float = 6.0) -> go.Figure:
    """σ, tanh and relu (left) and their slopes (right): |σ'| ≤ 1/4, |tanh'| ≤ 1, relu' ∈ {0, 1}."""
    x = np.linspace(-x_max, x_max, 241)
    curves = analysis.nonlinearity_curves(x)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["value φ(x)", "slope φ'(x) (γ = max slope)"])
    colours = {
        "sigmoid": GATE_COLOURS["f"],
        "tanh": CELL_COLOURS["rnn_tanh"],
        "relu": CELL_COLOURS["rnn_relu"],
    }
    for name, c in curves.items():
        for col, key in ((1, "value"), (2, "slope")):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=np.round(c[key], 5),
                    mode="lines",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    line=dict(color=colours[name], width=3),
                    hovertemplate=f"{name} {key}<br>x=%{{x:.2f}}: %{{y:.3f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    for name in ("sigmoid", "tanh"):
        gamma = analysis.NONLINEARITY_GAMMA[name]
        fig.add_hline(
            y=gamma,
            line=dict(color=colours[name], dash="dot"),
            row=1,
            col=2,
            annotation_text=f"γ = {gamma:g} ({name})",
            annotation_position="top left",
        )
    _styled(
        fig,
        "sigmoid_tanh",
        "Nonlinearities and their slopes: γ = 1/4 for σ, 1 for tanh",
        "input x",
        height=460,
    )
    fig.update_yaxes(title_text="φ(x)", row=1, col=1)
    fig.update_yaxes(title_text="φ'(x)", row=1, col=2)
    fig.update_xaxes(title_text="input x", row=1, col=2)
    fig.update_annotations(font_size=BASE_FONT_SIZE)
    return fig


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------


def figure_to_html(fig: go.Figure) -> str:
    """Standalone HTML (plotly.js inlined, works offline) for the download buttons."""
    return fig.to_html(include_plotlyjs=True, full_html=True)


__all__ = [
    "BASE_FONT_SIZE",
    "CELL_COLOURS",
    "CELL_LABELS",
    "GATE_COLOURS",
    "GATE_TITLES",
    "NOT_FINITE_NOTE",
    "cell_colour",
    "gate_colour",
    "loss_curve",
    "grad_norm_curve",
    "compare_loss",
    "gradient_flow",
    "cell_vs_hidden_flow",
    "gradient_flow_heatmap",
    "hidden_heatmap",
    "gate_heatmaps",
    "saturation_curve",
    "pca_trajectory_figure",
    "eigenvalue_plot",
    "param_grad_bars",
    "jacobian_product_figure",
    "clipping_figure",
    "nonlinearity_figure",
    "figure_to_html",
]
