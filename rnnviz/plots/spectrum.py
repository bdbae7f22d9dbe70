"""Eigenvalues of W_hh in the complex plane."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.plots.style import _LIGHT, _circle_trace, _styled


def eigenvalue_plot(eigenvalues, previous=None) -> go.Figure:
    """Eigenvalues of W_hh in the complex plane, with the unit circle |λ| = 1 (equal axes).

    Outside the circle a direction grows each step (h_t ~ λ^t), inside it shrinks; the
    spectral radius ρ = max|λ| is in the title. ``previous`` (optional) is drawn faded,
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
        not_finite=not finite.all(),
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig
