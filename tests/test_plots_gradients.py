"""rnnviz.plots.gradients: gradient flow through time, its heatmap, cell vs hidden, per-block bars."""

from types import SimpleNamespace

import numpy as np
import pytest
from plot_checks import INF, NAN, assert_common, has_note, trace_named

from rnnviz import analysis, plots
from rnnviz.errors import RnnvizError

# ---------------------------------------------------------------- gradient flow


def test_gradient_flow_layers_and_directions():
    g = np.array([[[1e-6, 1e-3, 1.0], [1.0, 1e-2, 1e-4]], [[0.5, 0.5, 0.5], [0.25, 0.5, 1.0]]])  # (2, 2, 3)
    fig = plots.gradient_flow(g, step=40)
    assert_common(fig, "gradient_flow", "timestep t", "||dL/dh_t|| (log scale)")
    assert fig.layout.yaxis.type == "log"
    assert "training step 40" in fig.layout.title.text
    assert [t.name for t in fig.data] == [
        "layer 1 forward",
        "layer 1 backward",
        "layer 2 forward",
        "layer 2 backward",
    ]
    np.testing.assert_array_equal(fig.data[0].x, [1, 2, 3])  # time is 1-based
    np.testing.assert_array_equal(fig.data[0].y, g[0, 0])
    np.testing.assert_array_equal(fig.data[3].y, g[1, 1])
    assert fig.data[1].line.dash == "dash"


def test_gradient_flow_single_curve_theory_and_jacobian():
    norms = np.array([1e-4, 1e-2, 1.0], dtype=np.float32)
    bound = analysis.theory_bound(0.5, 1.0, 3)
    jac = SimpleNamespace(
        hidden=np.array([0.1, 0.3, 1.0]), cell=np.array([0.5, 0.7, 1.0])
    )  # JacobianNorms-like
    fig = plots.gradient_flow(norms, theory=bound, jacobian=jac)
    assert_common(fig, "gradient_flow")
    np.testing.assert_allclose(fig.data[0].y, norms)
    theory = [t for t in fig.data if t.name.startswith("bound")][0]
    np.testing.assert_array_equal(theory.y, [0.25, 0.5, 1.0])
    assert theory.line.dash == "dot"
    np.testing.assert_array_equal(trace_named(fig, "measured ||∂h_T/∂h_t||").y, jac.hidden)
    assert trace_named(fig, "measured ||∂h_T/∂h_t||").mode == "markers"
    np.testing.assert_array_equal(trace_named(fig, "measured ||∂c_T/∂c_t||").y, jac.cell)


def test_gradient_flow_compare_dict_colours_and_non_finite():
    fig = plots.gradient_flow({"RNN": [1e-7, 1.0], "LSTM": [0.3, 1.0], "GRU": [INF, NAN]})
    assert_common(fig, "gradient_flow")
    assert [t.line.color for t in fig.data] == [plots.CELL_COLOURS[m] for m in ("rnn_tanh", "lstm", "gru")]
    np.testing.assert_array_equal(trace_named(fig, "RNN").y, [1e-7, 1.0])
    assert np.all(np.isnan(trace_named(fig, "GRU").y))
    assert has_note(fig)


def test_gradient_flow_theory_overflow_is_not_a_divergence():
    fig = plots.gradient_flow(np.ones(1000), theory=analysis.theory_bound(3.0, 1.0, 1000))
    assert np.isinf(analysis.theory_bound(3.0, 1.0, 1000)[0])
    assert not has_note(fig)
    fig.to_json()


def test_gradient_flow_rejects_bad_shape():
    with pytest.raises(RnnvizError, match="grad_norms must be"):
        plots.gradient_flow(np.ones((2, 3)))


def test_cell_vs_hidden_flow():
    h, c = np.array([1e-5, 1e-3, 1.0]), np.array([0.5, 0.8, 1.0])
    fig = plots.cell_vs_hidden_flow(h, c)
    assert_common(fig, "cell_vs_hidden_flow", "timestep t", "gradient norm (log scale)")
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_array_equal(fig.data[0].y, h)
    np.testing.assert_array_equal(fig.data[1].y, c)
    assert has_note(plots.cell_vs_hidden_flow([1.0, NAN], [1.0, 1.0]))


def test_gradient_flow_heatmap_log_colour_scale_and_ticks():
    steps = np.array([0, 100])
    g = np.array([[1e-6, 1e-3, 1.0], [1e-2, 1e-1, 1.0]])
    fig = plots.gradient_flow_heatmap(steps, g)
    assert_common(fig, "gradient_flow_heatmap", "timestep t", "training step")
    heat = fig.data[0]
    np.testing.assert_allclose(heat.z, np.log10(g), atol=1e-6)
    np.testing.assert_array_equal(heat.x, [1, 2, 3])
    np.testing.assert_array_equal(heat.y, steps)
    assert (heat.zmin, heat.zmax) == (-6, 0)
    assert list(heat.colorbar.ticktext)[0] == "1e-6" and list(heat.colorbar.tickvals)[-1] == 0
    assert "||dL/dh_t||" in heat.colorbar.title.text


def test_gradient_flow_heatmap_non_finite_and_zero_cells():
    fig = plots.gradient_flow_heatmap([1, 2], np.array([[INF, 1.0], [0.0, NAN]]))
    z = fig.data[0].z
    assert z[0, 1] == 0.0 and np.isnan(z[0, 0]) and np.isnan(z[1, 0]) and np.isnan(z[1, 1])
    assert has_note(fig)
    fig.to_json()
    all_bad = plots.gradient_flow_heatmap([1], np.array([[NAN, NAN]]))
    assert (all_bad.data[0].zmin, all_bad.data[0].zmax) == (0, 1)


def test_gradient_flow_heatmap_many_decades_keeps_few_ticks():
    fig = plots.gradient_flow_heatmap([1], np.array([[1e-30, 1.0]]))
    assert len(fig.data[0].colorbar.tickvals) <= 9


# ---------------------------------------------------------------- parameters


def test_param_grad_bars_words_gate_colours_legend_linear_axis_values_on_bars():
    norms = {"W_ii": 0.5, "W_hf": 0.25, "W_hg": np.float32(2.0), "b_ho": np.array([[1.0]]), "W_if": 3.8e11}
    fig = plots.param_grad_bars(norms)
    assert_common(fig, "param_grad_bars", "||dL/dW||")
    by_gate = {t.name: t for t in fig.data}
    assert set(by_gate) == {"input gate", "forget gate", "cell gate", "output gate"}
    assert all(t.showlegend for t in fig.data)  # the legend names each gate colour
    assert by_gate["forget gate"].marker.color == plots.GATE_COLOURS["f"]
    assert list(by_gate["forget gate"].y) == ["hidden→forget", "input→forget"]
    assert list(by_gate["forget gate"].x) == [0.25, 3.8e11]
    assert list(by_gate["forget gate"].text) == ["0.25", "3.8e+11"]  # the value printed on each bar
    assert list(by_gate["cell gate"].y) == ["hidden→cell"]
    assert list(by_gate["output gate"].y) == ["bias→output (hidden side)"]
    assert fig.layout.xaxis.type in (None, "linear") and fig.layout.xaxis.rangemode == "tozero"
    rnn = plots.param_grad_bars({"W_ih": INF, "W_hh": 1.0})
    assert has_note(rnn) and list(rnn.data[0].y) == ["input→hidden", "hidden→hidden"]
    assert [plots.block_words(b) for b in ("W_ir", "W_hz", "b_in")] == ["input→reset", "hidden→update",
                                                                         "bias→new (input side)"]
    with pytest.raises(RnnvizError, match="one number per block"):
        plots.param_grad_bars({"W_ih": np.ones((2, 1))})


def test_gradient_flow_pins_another_step_and_says_when_values_are_exactly_zero():
    pinned = {"step 15: largest ||g|| = 1e19": np.array([1e19, 1e18, 1e17])}
    fig = plots.gradient_flow(np.array([0.0, 0.0, 1.0]), step=16, pinned=pinned)
    curve = trace_named(fig, "step 15: largest ||g|| = 1e19")
    np.testing.assert_array_equal(curve.y, [1e19, 1e18, 1e17])
    assert curve.line.dash == "dash"
    assert "exactly 0 at 2 timestep(s)" in fig.layout.title.text
    assert "exactly 0" not in plots.gradient_flow(np.array([0.5, 1.0])).layout.title.text


def test_gradient_flow_names_what_its_bound_bounds():
    fig = plots.gradient_flow(np.array([0.25, 1.0]), theory=np.array([0.5, 1.0]))
    bound = trace_named(fig, plots.gradients.BOUND_LABEL)
    assert bound.name == "bound on ||dL/dh_t|| from the last-step loss: ||dL/dh_T||·(γσ_max)^(T−t)"
    assert bound.line.dash == "dot"


def test_transport_curve_draws_the_measured_paths_and_the_bound_on_them():
    jac = SimpleNamespace(hidden=np.array([np.nan, 0.1, 1.0]), cell=np.array([np.nan, 0.4, 1.0]))
    fig = plots.transport_curve(jac, bound=np.array([0.25, 0.5, 1.0]), step=7)
    assert_common(fig, "transport_curve", "timestep t", "||∂h_T/∂h_t|| (log scale)")
    assert "weights after step 7" in fig.layout.title.text
    h = trace_named(fig, "measured ||∂h_T/∂h_t||")
    assert np.isnan(h.y[0]) and list(h.y[1:]) == [0.1, 1.0]  # before a capped window: not drawn
    assert list(trace_named(fig, "measured ||∂c_T/∂c_t|| (cell state)").y[1:]) == [0.4, 1.0]
    assert list(trace_named(fig, "bound on ||∂h_T/∂h_t||: (γσ_max)^(T−t)").y) == [0.25, 0.5, 1.0]
    assert not has_note(fig)
    dead = plots.transport_curve(SimpleNamespace(hidden=np.array([0.0, 0.0, 1.0]), cell=None))
    assert "exactly 0 at 2 timestep(s)" in dead.layout.title.text


@pytest.mark.parametrize("bound_top", [1e30, 1e300, np.inf])
def test_gradient_flow_and_transport_focused_on_data_keep_several_labels(bound_top):
    """A bound far above the measured curve (13 decades, 1e-12 .. 0.03, as late in the vanishing preset)
    used to leave one label, "1e-6", once the range was fitted to the data: the labels follow the range."""
    norms = np.geomspace(1e-12, 3e-2, 50)
    bound = np.geomspace(bound_top if np.isfinite(bound_top) else 1e308, 1e-2, 50)
    if not np.isfinite(bound_top):
        bound[0] = np.inf
    jac = SimpleNamespace(hidden=np.geomspace(1e-10, 1.0, 50), cell=None)
    for fig in (plots.gradient_flow(norms, step=654, theory=bound), plots.transport_curve(jac, bound=bound)):
        lo, hi = fig.layout.yaxis.range
        shown = [t for v, t in zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True)
                 if lo <= np.log10(v) <= hi]
        assert 4 <= len(shown) <= 8, shown
    fig = plots.gradient_flow(norms, step=654, theory=bound)
    lo, hi = fig.layout.yaxis.range
    assert [t for v, t in zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True)
            if lo <= np.log10(v) <= hi] == ["1e-12", "1e-10", "1e-8", "1e-6", "1e-4", "0.01"]
