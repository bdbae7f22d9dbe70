"""rnnviz.plots.spectrum: eigenvalues of W_hh in the complex plane."""

import numpy as np
import pytest
from plot_checks import NAN, assert_common, has_note, trace_named

from rnnviz import plots


def test_eigenvalue_plot_unit_circle_equal_axes_previous():
    lam = np.array([0.5 + 0.5j, 0.5 - 0.5j, 1.5])
    fig = plots.eigenvalue_plot(lam, previous=np.array([0.4, 0.3]))
    assert_common(fig, "eigenvalue_plot", "real part Re λ", "imaginary part Im λ")
    circle = fig.data[0]
    np.testing.assert_allclose(np.hypot(circle.x, circle.y), 1.0, atol=1e-3)
    current = trace_named(fig, "eigenvalues λ")
    np.testing.assert_array_equal(current.x, lam.real)
    np.testing.assert_array_equal(current.y, lam.imag)
    np.testing.assert_allclose(current.marker.color, np.abs(lam))
    np.testing.assert_array_equal(trace_named(fig, "previous").x, [0.4, 0.3])
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert "1.5" in fig.layout.title.text


def test_eigenvalue_plot_non_finite():
    fig = plots.eigenvalue_plot(np.array([complex(NAN, 0), 0.5]))
    assert has_note(fig)
    np.testing.assert_array_equal(trace_named(fig, "eigenvalues λ").x, [0.5])
    fig.to_json()


def test_eigenvalue_colour_is_white_exactly_at_the_unit_circle_and_the_title_is_short():
    fig = plots.eigenvalue_plot(np.array([0.5, 1.0, 3.0 + 0j]))
    marker = next(t for t in fig.data if t.name == "eigenvalues λ").marker
    assert (marker.cmin, marker.cmax) == (0, 3.0)
    scale = [tuple(stop) for stop in marker.colorscale]
    white = next(pos for pos, colour in scale if colour.upper() == "#F7F7F7")
    assert white * marker.cmax == pytest.approx(1.0)  # |λ| = 1 is white, not cmax/2
    assert any(t.name == "unit circle |λ| = 1" for t in fig.data)
    assert fig.layout.title.text == "Eigenvalues of W_hh, ρ = 3"  # fits a half-width chart
