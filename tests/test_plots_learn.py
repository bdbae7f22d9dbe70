"""rnnviz.plots.learn: the Learn page's widget figures show the maths they illustrate."""

import numpy as np
import pytest
from plot_checks import assert_common, has_note, trace_named

from rnnviz import plots

# ---------------------------------------------------------------- learn-page widgets


EXAMPLE = "example ||(γW)^n||, 2×2 W with this σ_max and ρ"


def test_jacobian_product_figure_draws_the_sigma_max_bound_an_example_and_the_long_run_rate():
    fig = plots.jacobian_product_figure(1.6, 0.5, 4)
    assert_common(fig, "jacobian_product", "steps back in time n", "gradient scale (log scale)")
    bound = trace_named(fig, "bound (γσ_max)^n")
    np.testing.assert_array_equal(bound.x, np.arange(5))
    np.testing.assert_allclose(bound.y, 1.6 ** np.arange(5))
    rate = trace_named(fig, "long-run rate (γρ)^n (not a bound)")
    np.testing.assert_allclose(rate.y, 0.5 ** np.arange(5))
    # the example: a real 2x2 matrix with exactly these sigma_max and rho, its powers' spectral norms
    c = 1.6 - 0.5**2 / 1.6
    W = np.array([[0.5, c], [0.0, 0.5]])
    assert np.linalg.norm(W, 2) == pytest.approx(1.6) and max(abs(np.linalg.eigvals(W))) == pytest.approx(0.5)
    expected = [np.linalg.norm(np.linalg.matrix_power(W, n), 2) for n in range(5)]
    np.testing.assert_allclose(trace_named(fig, EXAMPLE).y, expected, rtol=1e-12)
    assert np.all(np.asarray(trace_named(fig, EXAMPLE).y) <= np.asarray(bound.y) * (1 + 1e-12))
    assert "γσ_max = 1.6" in fig.layout.title.text and "at most ×6.6" in fig.layout.title.text
    assert "never below ρ" in plots.jacobian_product_figure(0.5, 0.9, 10).layout.title.text
    assert has_note(plots.jacobian_product_figure(3.0, 1.0, 1000), "values beyond float range not drawn")


def test_clipping_figure():
    fig = plots.clipping_figure(3.0, 4.0, 1.0)
    assert_common(fig, "clipping")
    original, clipped = fig.data[1], fig.data[2]
    assert list(original.x) == [0.0, 3.0] and list(original.y) == [0.0, 4.0]
    np.testing.assert_allclose([clipped.x[1], clipped.y[1]], [0.6, 0.8])
    assert "θ g/||g||" in fig.layout.title.text
    assert "unchanged" in plots.clipping_figure(0.3, 0.4, 1.0).layout.title.text


def test_nonlinearity_figure():
    fig = plots.nonlinearity_figure()
    assert_common(fig, "sigmoid_tanh")
    slopes = [t for t in fig.data if t.xaxis == "x2"]
    assert {t.name for t in slopes} == {"sigmoid", "tanh", "relu"}
    assert max(trace_named_in(slopes, "sigmoid").y) == pytest.approx(0.25)
    assert max(trace_named_in(slopes, "tanh").y) == pytest.approx(1.0, abs=1e-3)


def trace_named_in(traces, name):
    return [t for t in traces if t.name == name][0]
