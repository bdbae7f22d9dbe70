"""rnnviz.plots.learn: the Learn page's widget figures show the maths they illustrate."""

import numpy as np
import pytest
from plot_checks import assert_common, has_note, trace_named

from rnnviz import plots

# ---------------------------------------------------------------- learn-page widgets


def test_jacobian_product_figure():
    fig = plots.jacobian_product_figure(0.5, 4)
    assert_common(fig, "jacobian_product", "steps back in time n", "gradient scale (γρ)^n (log scale)")
    curve = trace_named(fig, "(γρ)^n")
    np.testing.assert_array_equal(curve.x, np.arange(5))
    np.testing.assert_array_equal(curve.y, [1.0, 0.5, 0.25, 0.125, 0.0625])
    assert "0.062" in fig.layout.title.text
    assert has_note(plots.jacobian_product_figure(3.0, 1000), "values beyond float range not drawn")


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
