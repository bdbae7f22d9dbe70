"""Eigenvalues of W_hh in the complex plane."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.plots.style import _LIGHT, _circle_trace, _styled

#: Blue (shrinks) -> white at |λ| = 1 -> red (grows): RdBu's ends and middle.
_BLUE, _WHITE, _RED = "#2166AC", "#F7F7F7", "#B2182B"


def unit_midpoint_scale(top: float) -> list:
    """A diverging colour scale over |λ| in [0, ``top``] whose white sits exactly at |λ| = 1.

    (Plotly ignores ``cmid`` once ``cmin`` and ``cmax`` are both set, which put white at top/2.)"""
    return [[0.0, _BLUE], [1.0 / top, _WHITE], [1.0, _RED]]


def eigenvalue_plot(eigenvalues, previous=None) -> go.Figure:
    """Eigenvalues of W_hh in the complex plane, with the unit circle |λ| = 1 (equal axes).

    Outside the circle a direction grows each step (h_t ~ λ^t), inside it shrinks; the
    spectral radius ρ = max|λ| (the long-run rate) is in the title. The colour is white at |λ| = 1.
    ``previous`` (optional) is drawn faded,
    so the movement during training is visible.
    """
    lam = np.asarray(eigenvalues, dtype=np.complex128).reshape(-1)
    finite = np.isfinite(lam)
    fig = go.Figure(_circle_trace(1.0, "unit circle |λ| = 1"))
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
    top = max(2.0, float(modulus.max(initial=0)))
    fig.add_trace(
        go.Scatter(
            x=shown.real,
            y=shown.imag,
            mode="markers",
            name="eigenvalues λ",
            marker=dict(
                color=modulus,
                colorscale=unit_midpoint_scale(top),
                cmin=0,
                cmax=top,
                size=11,
                line=dict(color="#333333", width=1),
                colorbar=dict(title=dict(text="|λ|: red grows, blue shrinks", side="right"),
                              tickvals=[0, 1, top], ticktext=["0", "1", f"{top:.3g}"]),
            ),
            hovertemplate="λ = %{x:.3f} %{y:+.3f}i<br>|λ| = %{marker.color:.3f}<extra></extra>",
        )
    )
    rho = float(modulus.max(initial=0.0))
    _styled(
        fig,
        "eigenvalue_plot",
        f"Eigenvalues of W_hh, ρ = {rho:.3g}",
        "real part Re λ",
        "imaginary part Im λ",
        height=560,
        not_finite=not finite.all(),
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig
