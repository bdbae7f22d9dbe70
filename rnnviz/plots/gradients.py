"""Gradients through time: ||dL/dh_t|| per timestep, its heatmap over training, the LSTM cell
path against the hidden path, and the gradient per parameter block."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from rnnviz.errors import RnnvizError
from rnnviz.plots import unpack
from rnnviz.plots.style import (
    _NEUTRAL,
    _PALETTE,
    CELL_COLOURS,
    GATE_COLOURS,
    _curve,
    _grid,
    _line,
    _log_ticks,
    _log_y,
    _same_length,
    _styled,
    _thin_grid,
    _timesteps,
    cell_colour,
    gate_colour,
    run_style,
)


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
    fig.add_trace(_line(_timesteps(len(y)), y, name, colour,
                        f"{name}<br>t=%{{x}}<br>{quantity} = %{{y:.3g}}<extra></extra>", dash=dash, mode=mode,
                        marker=dict(color=colour, size=9), **kwargs))
    return bad


def _direction_label(layer: int, direction: int, Lyr: int, D: int) -> str:
    parts = []
    if Lyr > 1:
        parts.append(f"layer {layer + 1}")
    if D > 1:
        parts.append("forward" if direction == 0 else "backward")
    return " ".join(parts) or "||dL/dh_t||"


#: What the Pascanu overlay on ||dL/dh_t|| bounds, in its legend (drawn only where the loss enters at T).
BOUND_LABEL = "bound on ||dL/dh_t|| from the last-step loss: ||dL/dh_T||·(γσ_max)^(T−t)"
#: What the bound on the measured transport says, in its legend.
TRANSPORT_BOUND_LABEL = "bound on ||∂h_T/∂h_t||: (γσ_max)^(T−t)"


def gradient_flow(grad_norms, step: int | None = None, theory=None, jacobian=None, pinned=None,
                  theory_label: str = BOUND_LABEL, *, others=None, run_label: str | None = None,
                  slot: int = 0) -> go.Figure:
    """||dL/dh_t|| against timestep t on a log axis: how much gradient reaches each step.

    ``grad_norms``: a ``Trace`` or its ``.grad_norms`` (Lyr, D, L) -> one line per layer/direction
    (backward direction dashed), a single curve (L,), or a dict label -> (L,) to compare
    cells (coloured by cell type). ``theory``: (L,) (or dict label -> (L,)) drawn dotted and named
    ``theory_label``: pass it only where it is a bound (``rnnviz.flow.pascanu_overlay``: the loss on the last
    step, ||dL/dh_t|| <= ||dL/dh_T|| (gamma sigma_max)^(T-t)). ``jacobian``: measured
    ||dh_T/dh_t||_2 as markers, either (L,) or an object with ``.hidden`` (and ``.cell``).
    ``pinned``: dict label -> (L,) of another step kept in view (e.g. the largest-gradient step), dashed.
    ``others``: dict label -> (slot, (L,)) of other runs (branches, ``rnnviz.branches.Runs.overlay_at``)
    at the same step, in each run's colour and dash; the shown run's single curve is then named
    ``run_label`` and drawn in the style of its ``slot``.
    A straight falling line on this log axis is geometric vanishing; exact zeros cannot be drawn on it,
    so the title says how many timesteps are exactly 0.
    """
    grad_norms = unpack.grad_norms(grad_norms)
    fig = go.Figure()
    for label, (other_slot, curve) in (others or {}).items():
        colour, dash = run_style(other_slot)
        _norm_line(fig, curve, label, colour, dash=dash, width=2)
    bad = _measured_lines(fig, grad_norms, run_style(slot) if others else None, run_label if others else None)
    for index, (label, curve) in enumerate((pinned or {}).items()):
        bad |= _norm_line(fig, curve, label, _PALETTE[(index + 2) % len(_PALETTE)], dash="dash")
    if theory is not None:
        _bound_lines(fig, theory, theory_label)
    if jacobian is not None:
        bad |= _jacobian_markers(fig, jacobian)
    title = "Gradient flowing back through time"
    if step is not None:
        title += f" (training step {step})"
    zeros = _exact_zeros(grad_norms)
    if zeros:
        title += (f"<br><sub>||dL/dh_t|| is exactly 0 at {zeros} timestep(s): no gradient there, not drawable "
                  f"on a log axis</sub>")
    _styled(fig, "gradient_flow", title, "timestep t", "||dL/dh_t|| (log scale)", not_finite=bad)
    _log_y(fig)
    if theory is not None:
        _focus_on_measured(fig)
    return fig


def _exact_zeros(grad_norms) -> int:
    """How many plotted values of the measured curve(s) are exactly 0."""
    curves = grad_norms.values() if isinstance(grad_norms, Mapping) else [grad_norms]
    return int(sum(np.count_nonzero(np.asarray(c, dtype=np.float64) == 0) for c in curves))


def transport_curve(jacobian, bound=None, step: int | None = None) -> go.Figure:
    """The measured transport ||dh_T/dh_t||_2 against t on a log axis (LSTM: also ||dc_T/dc_t||_2).

    ``jacobian``: an object with ``.hidden`` (L,) (and ``.cell`` (L,) or None), e.g.
    ``rnnviz.jacobian.JacobianNorms``; nan entries (before a capped window) are not drawn. It is the
    product of the step Jacobians alone, so it does not depend on where the task puts its loss.
    ``bound``: (L,) ``rnnviz.flow.transport_bound``, (gamma sigma_max)^(T-t), drawn dotted.
    """
    fig = go.Figure()
    hidden = np.asarray(jacobian.hidden, dtype=np.float64)
    _norm_line(fig, hidden, "measured ||∂h_T/∂h_t||", CELL_COLOURS["rnn_tanh"],
               quantity="||∂h_T/∂h_t||")
    cell = getattr(jacobian, "cell", None)
    if cell is not None:
        _norm_line(fig, cell, "measured ||∂c_T/∂c_t|| (cell state)",
                   CELL_COLOURS["lstm"], dash="dash", quantity="||∂c_T/∂c_t||")
    if bound is not None:
        _bound_lines(fig, bound, TRANSPORT_BOUND_LABEL)
    title = "Transport back through time ||∂h_T/∂h_t||"
    if step is not None:
        title += f" (weights after step {step})"
    zeros = _exact_zeros(hidden[~np.isnan(hidden)])
    if zeros:
        title += f"<br><sub>exactly 0 at {zeros} timestep(s): no change passes back there</sub>"
    _styled(fig, "transport_curve", title, "timestep t", "||∂h_T/∂h_t|| (log scale)")
    _log_y(fig)
    if bound is not None:
        _focus_on_measured(fig)
    return fig


def _measured_lines(fig: go.Figure, grad_norms, style: tuple[str, str] | None = None,
                    run_label: str | None = None) -> bool:
    """The measured ||dL/dh_t|| curves (see :func:`gradient_flow`); returns whether any had inf/nan.
    ``style``/``run_label``: the shown run's (colour, dash) and name when other runs are overlaid (a single
    curve only: several layers or directions keep their own colours and dashes)."""
    bad = False
    if isinstance(grad_norms, Mapping):
        for index, (label, norms) in enumerate(grad_norms.items()):
            bad |= _norm_line(fig, norms, label, cell_colour(label, index))
        return bad
    g = np.asarray(grad_norms)
    if g.ndim == 1:
        g = g[None, None]
    if g.ndim != 3:
        raise RnnvizError(f"grad_norms must be (L,), (Lyr, D, L) or a dict label -> (L,), got shape {g.shape}")
    Lyr, D, _ = g.shape
    if style is not None and Lyr * D == 1:
        return _norm_line(fig, g[0, 0], run_label or "||dL/dh_t||", style[0], dash=style[1])
    for layer in range(Lyr):
        for direction in range(D):
            bad |= _norm_line(
                fig,
                g[layer, direction],
                _direction_label(layer, direction, Lyr, D),
                _PALETTE[layer % len(_PALETTE)],
                dash="solid" if direction == 0 else "dash",
            )
    return bad


def _bound_lines(fig: go.Figure, theory, what: str = BOUND_LABEL) -> None:
    """The Pascanu bound(s), dotted: (L,) in grey or a dict label -> (L,) in each cell's colour, named
    ``what`` (what the line bounds; it starts with "bound").

    An infinite bound is simply off the chart (not a "not finite" banner: the data are fine)."""
    series = theory.items() if isinstance(theory, Mapping) else [("", theory)]
    for index, (label, bound) in enumerate(series):
        name = f"{what}{' ' + label if label else ''}"
        colour = cell_colour(label, index) if label else _NEUTRAL
        _norm_line(fig, bound, name, colour, dash="dot", quantity="bound")


def _jacobian_markers(fig: go.Figure, jacobian) -> bool:
    """Measured ||dh_T/dh_t|| (and ||dc_T/dc_t|| when ``jacobian.cell`` exists) as open markers."""
    bad = _norm_line(fig, getattr(jacobian, "hidden", jacobian), "measured ||∂h_T/∂h_t||", _NEUTRAL,
                     mode="markers", quantity="||∂h_T/∂h_t||", marker_symbol="circle-open")
    cell = getattr(jacobian, "cell", None)
    if cell is not None:
        bad |= _norm_line(fig, cell, "measured ||∂c_T/∂c_t||", CELL_COLOURS["lstm"],
                          mode="markers", quantity="||∂c_T/∂c_t||", marker_symbol="diamond-open")
    return bad


def _focus_on_measured(fig: go.Figure, pad_decades: float = 1.0) -> None:
    """Fit the log y range to the measured curves: a bound far above them (sigma_max > 1, where the
    Pascanu bound says nothing) runs off the top instead of squashing the data into a thin band. The tick
    labels are recomputed for this range (those :func:`_log_y` chose for the bound's range could leave a
    single label, "1e-6", across 13 decades)."""
    ys = [np.asarray(t.y, dtype=np.float64) for t in fig.data
          if t.y is not None and len(t.y) and not str(t.name or "").startswith("bound")]
    y = np.concatenate(ys) if ys else np.empty(0)
    y = y[np.isfinite(y) & (y > 0)]
    if y.size:
        lo, hi = math.log10(y.min()) - pad_decades, math.log10(y.max()) + pad_decades
        fig.update_yaxes(range=[lo, hi], **_log_ticks(lo, hi))  # labels for this range, not the bound's


def cell_vs_hidden_flow(grad_norms, grad_cell_norms=None) -> go.Figure:
    """LSTM: ||dL/dc_t|| (the cell-state highway, c_t = f*c_{t-1} + i*g) against ||dL/dh_t||.

    Two (L,) curves, or an LSTM ``Trace`` alone (its layer 1, forward direction).

    Along the cell path dc_t/dc_{t-1} = diag(f_t) (plus indirect terms), so with forget
    gates near 1 the cell gradient decays far more slowly than through h.
    """
    grad_norms, grad_cell_norms = unpack.cell_paths(grad_norms, grad_cell_norms)
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
        not_finite=bad,
    )
    _log_y(fig)
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


def gradient_flow_heatmap(steps, grad_norms=None) -> go.Figure:
    """Colour = log10 ||dL/dh_t|| for every timestep t (x) and training step (y).

    ``steps`` (S,) and ``grad_norms`` (S, L), or a ``RunHistory`` alone (its layer 1, forward direction).

    Vanishing shows as a colour gradient across each row; learning to carry the gradient
    back shows as the left side warming up over training. inf/nan are blank cells (with a
    note); exact zeros are blank too (no gradient, -inf on a log scale).
    """
    steps, grad_norms = unpack.heatmap_args(steps, grad_norms)
    steps = np.asarray(steps)
    g, bad = _grid(grad_norms, "grad_norms")
    _same_length(steps=steps, grad_norms=g)
    g, t, steps, thinned = _thin_grid(g, _timesteps(g.shape[1]), steps)  # rows: training steps
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(np.where(g > 0, g, np.nan)).astype(np.float32)
    fig = go.Figure(
        go.Heatmap(
            x=t,
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
        "Gradient flow over training (colour: ||dL/dh_t||, log scale)"
        + (f"<br><sub>{thinned}</sub>" if thinned else ""),
        "timestep t",
        "training step",
        not_finite=bad,
    )
    return fig


# --------------------------------------------------------------------------------------
# Gradient per parameter block
# --------------------------------------------------------------------------------------


def block_words(block: str) -> str:
    """Words for a parameter block: "W_hf" -> "hidden→forget", "W_ig" -> "input→cell", "b_hz" ->
    "bias→update (hidden side)", "W_hh" (plain RNN) -> "hidden→hidden"."""
    kind, src, gate = block[0], block[2:3], block[3:4]
    target = _GATE_WORDS.get(gate, "hidden")
    if kind == "W":
        return f"{'input' if src == 'i' else 'hidden'}→{target}"
    return f"bias→{target} ({'input' if src == 'i' else 'hidden'} side)"


#: Gate letter -> the word on a bar ("g", the LSTM's candidate, writes the cell: "cell").
_GATE_WORDS = {"i": "input", "f": "forget", "g": "cell", "o": "output", "r": "reset", "z": "update", "n": "new"}


#: px; 16 LSTM bars in a half-width chart: a little under BASE_FONT_SIZE so every label has its own row.
BAR_LABEL_SIZE = 16


def param_grad_bars(norms: Mapping[str, float]) -> go.Figure:
    """||dL/dW|| for each parameter block as horizontal bars on a linear axis, each value printed on its
    bar, named in words ("input→forget", "hidden→cell") and coloured by gate with a legend.

    A linear axis from zero shows 3.8e11 against 6.1e11 as the 1.6x it is (a log axis without zero made
    it look large). Pass one layer and direction, e.g. ``{k: v[layer, direction] for k, v in
    trace.param_grad_norms.items()}``, or the ``Trace`` itself (layer 1, forward direction).
    """
    norms = unpack.param_norms(norms)
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
    y, bad = _curve(values, "norms")
    fig = go.Figure()
    groups: dict[str, list[int]] = {}
    for k, name in enumerate(names):
        groups.setdefault(_GATE_WORDS.get(name[3:4], "") if len(name) == 4 else "", []).append(k)
    for gate, idx in groups.items():
        fig.add_trace(go.Bar(
            y=[block_words(names[k]) for k in idx],
            x=[y[k] for k in idx],
            orientation="h",
            marker_color=gate_colour(names[idx[0]]),
            name=f"{gate} gate" if gate else "||dL/dW||",
            showlegend=bool(gate),
            text=[f"{y[k]:.3g}" for k in idx],
            textposition="auto",
            customdata=[names[k] for k in idx],
            hovertemplate="%{y} (%{customdata})<br>||dL/dW|| = %{x:.3g}<extra></extra>",
        ))
    _styled(fig, "param_grad_bars", "Gradient per parameter block", "||dL/dW||", None,
            height=max(360, 200 + 30 * len(names)), not_finite=bad)
    words = [block_words(n) for n in names]
    # every bar named (Plotly skips category labels it finds crowded), one row of text per bar
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=words, tickmode="array",
                     tickvals=words, tickfont=dict(size=BAR_LABEL_SIZE))
    fig.update_xaxes(rangemode="tozero", exponentformat="e")
    return fig
