"""Figures of the Learn page's widgets (the maths is in :mod:`rnnviz.analysis`)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz import analysis
from rnnviz.plots.style import (
    BASE_FONT_SIZE,
    CELL_COLOURS,
    GATE_COLOURS,
    _circle_trace,
    _curve,
    _hline_trace,
    _line,
    _log_y,
    _styled,
)


def jacobian_product_figure(sigma_max: float, rho: float, T: int, gamma: float = 1.0) -> go.Figure:
    """The bound (γσ_max)^n on n steps back, beside ||(γW)^n|| of a 2 x 2 W with exactly these σ_max and ρ
    (``analysis.example_jacobian_powers``) and its long-run rate (γρ)^n, against n = 0 .. T on a log axis.

    σ_max is never below ρ; a σ_max slider set below ρ is drawn with σ_max = ρ and the title says so."""
    T = int(T)
    clamped = sigma_max < rho
    sigma_max = max(sigma_max, rho)
    bound = analysis.jacobian_product(sigma_max, T, gamma)
    example = analysis.example_jacobian_powers(sigma_max, rho, T, gamma)
    rate = analysis.jacobian_product(rho, T, gamma)
    fig = go.Figure()
    _hline_trace(fig, 0, T, 1.0, "no change")
    n = np.arange(T + 1)
    for y, name, colour, dash in ((bound, "bound (γσ_max)^n", CELL_COLOURS["rnn_tanh"], "dot"),
                                  (example, "example ||(γW)^n||, 2×2 W with this σ_max and ρ", CELL_COLOURS["lstm"],
                                   "solid"),
                                  (rate, "long-run rate (γρ)^n (not a bound)", CELL_COLOURS["gru"], "dash")):
        clean, _ = _curve(y, name, log=True)
        fig.add_trace(_line(n, clean, name, colour, f"{name}<br>n=%{{x}}: %{{y:.3g}}<extra></extra>", dash=dash))
    title = (f"γσ_max = {gamma * sigma_max:.3g}: after {T} steps at most ×{analysis.format_ratio(bound[-1])}"
             f"<br><sub>every step shrinks only if γσ_max < 1; this example: ×"
             f"{analysis.format_ratio(example[-1])}, long-run rate γρ = {gamma * rho:.3g}</sub>")
    if clamped:
        title += "<br><sub>σ_max is never below ρ: drawn with σ_max = ρ</sub>"
    _styled(
        fig,
        "jacobian_product",
        title,
        "steps back in time n",
        "gradient scale (log scale)",
        not_finite=not all(np.all(np.isfinite(y) & (y > 0)) for y in (bound, example, rate)),
        note="values beyond float range not drawn",
    )
    _log_y(fig)
    return fig


def clipping_figure(gx: float, gy: float, threshold: float) -> go.Figure:
    """A 2-D gradient g before and after norm clipping, with the circle ||g|| = θ (equal axes)."""
    clip = analysis.clip_by_norm(np.array([gx, gy]), threshold)
    fig = go.Figure(_circle_trace(threshold, f"||g|| = θ = {threshold:g}"))
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
            fig.add_trace(_line(x, np.round(c[key], 5), name, colours[name],
                                f"{name} {key}<br>x=%{{x:.2f}}: %{{y:.3f}}<extra></extra>",
                                legendgroup=name, showlegend=col == 1), row=1, col=col)
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
