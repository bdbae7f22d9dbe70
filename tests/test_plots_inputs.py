"""rnnviz.plots.inputs: the saliency strip (input strip above ||dL/dx_t||, marked positions) and the
forecast figure, checked value by value."""

from __future__ import annotations

import re

import numpy as np
import pytest
from plot_checks import assert_common, has_note, trace_named

from rnnviz import plots
from rnnviz.errors import RnnvizError


def test_saliency_strip_shares_t_with_the_inputs_and_marks_the_positions():
    x = np.zeros((5, 2), dtype=np.float32)
    x[:, 0] = [0.1, 0.9, 0.4, 0.7, 0.2]
    x[[1, 3], 1] = 1.0
    s = np.array([1e-4, 0.5, 1e-3, 0.25, 2e-2])
    marked = x[:, 1] == 1
    fig = plots.saliency_figure(x, s, marked, step=7, input_names=("value", "marker"),
                                marked_label="the 2 marked numbers")
    assert_common(fig, "saliency")
    assert "(training step 7)" in fig.layout.title.text
    later = plots.saliency_figure(x, s, marked, step=7, after_step=True)
    assert "(weights after training step 7)" in later.layout.title.text
    strip = fig.data[0]
    assert strip.type == "heatmap" and list(strip.y) == ["value", "marker"]
    np.testing.assert_array_equal(strip.x, [1, 2, 3, 4, 5])
    mark, other = trace_named(fig, "the 2 marked numbers"), trace_named(fig, "other steps")
    np.testing.assert_array_equal(mark.x, [2, 4])
    np.testing.assert_allclose(mark.y, [0.5, 0.25])
    np.testing.assert_array_equal(other.x, [1, 3, 5])
    np.testing.assert_allclose(other.y, [1e-4, 1e-3, 2e-2])
    assert mark.marker.color != other.marker.color
    assert mark.width == other.width == 0.8  # one timestep wide, however far apart the marked steps are
    assert fig.layout.xaxis2.matches == "x" or fig.layout.xaxis.matches == "x2"  # one shared t axis
    assert fig.layout.yaxis2.type == "log" and fig.layout.xaxis2.title.text == "timestep t"


def test_saliency_strip_shows_characters_and_says_where_the_gradient_is_exactly_zero():
    symbols = ("a", "b", "<")
    x = np.eye(3, dtype=np.float32)[[0, 2, 1, 1]]
    fig = plots.saliency_figure(x, [0.0, 1.0, 0.5, np.inf], symbols=symbols)
    assert list(fig.data[0].text[0]) == ["a", "<", "b", "b"]
    assert "exactly 0 at 1 timestep(s)" in fig.layout.title.text and has_note(fig)
    assert [t.name for t in fig.data[1:]] == ["other steps"]  # nothing marked: no marked trace


def test_saliency_without_a_sequence_is_one_panel_and_bad_lengths_are_refused():
    fig = plots.saliency_figure(None, [1.0, 0.1, 0.01])
    assert len(fig.data) == 1 and fig.layout.yaxis.type == "log"
    with pytest.raises(RnnvizError, match=re.escape("inputs and saliency must have the same length L, got 3 and 2")):
        plots.saliency_figure(np.zeros((3, 1)), [1.0, 2.0])
    with pytest.raises(RnnvizError, match=re.escape("marked must be (L,) = (2,), got shape (3,)")):
        plots.saliency_figure(np.zeros((2, 1)), [1.0, 2.0], np.zeros(3, bool))


def test_forecast_figure_draws_truth_prediction_and_persistence():
    x, y, pred = np.array([0.0, 1, 2]), np.array([1.0, 2, 3]), np.array([0.9, 2.2, np.nan])
    fig = plots.forecast_figure(x, y, pred, step=4, column="u_t", stretch="held out")
    assert_common(fig, "forecast", "timestep t (predicting t+1)", "u_t")
    np.testing.assert_array_equal(trace_named(fig, "truth (next value)").y, y)
    np.testing.assert_array_equal(trace_named(fig, "network's prediction").y, [0.9, 2.2, np.nan])
    np.testing.assert_array_equal(trace_named(fig, "persistence (last value)").y, x)
    assert "held out" in fig.layout.title.text and has_note(fig)
