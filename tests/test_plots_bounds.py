"""Figures are bounded whatever the run (D4): heatmaps keep at most MAX_CELLS cells, curves at most about
MAX_CURVE_POINTS points, and every kept cell or point is a real value at its real coordinate."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import plots
from rnnviz.plots.states import ANIMATION_CELLS
from rnnviz.plots.style import MAX_CELLS, MAX_CURVE_POINTS, _thin_curve, _thin_grid

MB = 2**20


def heat_cells(fig) -> int:
    n = sum(np.size(t.z) for t in fig.data if t.type == "heatmap")
    return n + sum(np.size(t.z) for fr in (fig.frames or ()) for t in fr.data if t.type == "heatmap")


def json_bytes(fig) -> int:
    return len(fig.to_json())


def test_the_gradient_heatmap_over_5000_steps_by_1000_timesteps_keeps_real_rows():
    rng = np.random.default_rng(0)
    S, L = 5_000, 1_000
    steps = np.arange(S) * 3
    g = (10.0 ** rng.uniform(-20, 5, (S, L))).astype(np.float32)
    fig = plots.gradient_flow_heatmap(steps, g)
    heat = fig.data[0]
    assert heat_cells(fig) <= MAX_CELLS and json_bytes(fig) < 2 * MB
    assert len(heat.x) == L and heat.y[0] == 0 and heat.y[-1] == steps[-1]  # all timesteps, first and last step
    rows = np.searchsorted(steps, heat.y)
    np.testing.assert_allclose(heat.z, np.log10(g[rows]), rtol=1e-6)
    assert f"{len(heat.y):,} of 5,000 rows shown" in fig.layout.title.text


def test_a_long_loss_curve_is_thinned_and_keeps_its_spike_and_ends():
    n = 300_000
    steps = np.arange(n)
    loss = 1.0 / (1 + np.arange(n) / 1000)
    loss[123_457] = 50.0
    loss[200_001] = 1e-9
    fig = plots.loss_curve(steps, loss, metric=np.linspace(0, 1, n), metric_name="accuracy")
    for tr in fig.data:
        if tr.name in ("loss", "accuracy"):
            assert len(tr.x) <= MAX_CURVE_POINTS + 2
            assert tr.x[0] == 0 and tr.x[-1] == n - 1
    line = next(t for t in fig.data if t.name == "loss")
    np.testing.assert_array_equal(line.y, loss[np.asarray(line.x)])
    assert 50.0 in line.y and 1e-9 in line.y
    assert json_bytes(fig) < 2 * MB


def test_the_largest_hidden_state_and_gate_heatmaps_stay_small():
    rng = np.random.default_rng(1)
    L, H = 1_000, 256
    hidden = rng.uniform(-1, 1, (L, H)).astype(np.float32)
    fig = plots.hidden_heatmap(hidden, inputs=rng.random((L, 256)))
    assert heat_cells(fig) <= MAX_CELLS + MAX_CELLS // 4 and json_bytes(fig) < 3 * MB
    heat = fig.data[1]
    np.testing.assert_array_equal(heat.z, hidden.T[np.ix_(np.asarray(heat.y) - 1, np.asarray(heat.x) - 1)])
    assert "evenly spaced" in fig.layout.title.text
    gates = {g: rng.random((L, H)).astype(np.float32) for g in "ifgo"}
    fig = plots.gate_heatmaps(gates, "lstm")
    assert heat_cells(fig) <= MAX_CELLS and json_bytes(fig) < 3 * MB


def test_the_training_animation_of_a_large_grid_stays_within_its_budget():
    rng = np.random.default_rng(2)
    frames = [rng.uniform(-1, 1, (1_000, 256)).astype(np.float32) for _ in range(40)]
    fig = plots.hidden_animation(np.arange(40) * 10, frames)
    assert len(fig.frames) >= 8
    assert heat_cells(fig) <= ANIMATION_CELLS + ANIMATION_CELLS // len(fig.frames)
    assert json_bytes(fig) < 3 * MB


def test_small_figures_are_not_thinned():
    z = np.arange(12.0).reshape(3, 4)
    assert _thin_grid(z, np.arange(4), np.arange(3))[3] == ""
    x, y = _thin_curve(np.arange(100), np.arange(100.0))
    assert len(x) == 100


@pytest.mark.parametrize("rows,cols", [(100_000, 50), (50, 100_000), (2_000, 2_000), (201, 1_000)])
def test_thin_grid_bounds_any_shape(rows, cols):
    z = np.zeros((rows, cols), np.float32)
    out, x, y, note = _thin_grid(z, np.arange(cols), np.arange(rows))
    assert out.size <= MAX_CELLS and out.shape == (len(y), len(x)) and note
    assert x[0] == 0 and x[-1] == cols - 1 and y[0] == 0 and y[-1] == rows - 1
