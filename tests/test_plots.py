"""rnnviz.plots: every builder's figure carries the real numbers, labels, log axes and uirevision."""

import json
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest

from rnnviz import analysis, plots
from rnnviz.errors import RnnvizError

INF, NAN = np.inf, np.nan


def has_note(fig: go.Figure, text: str = plots.NOT_FINITE_NOTE) -> bool:
    return any(a.text == text for a in fig.layout.annotations)


def trace_named(fig: go.Figure, name: str):
    matches = [t for t in fig.data if t.name == name]
    assert matches, f"no trace {name!r} in {[t.name for t in fig.data]}"
    return matches[0]


def assert_common(fig: go.Figure, kind: str, x_title: str | None = None, y_title: str | None = None) -> dict:
    """Title, uirevision, readable fonts, axis titles, JSON round trip. Returns the parsed JSON."""
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text and len(fig.layout.title.text) > 10
    assert fig.layout.uirevision == kind
    assert fig.layout.font.size >= 16
    if x_title is not None:
        assert fig.layout.xaxis.title.text == x_title
    if y_title is not None:
        assert fig.layout.yaxis.title.text == y_title
    for t in fig.data:
        if t.type not in ("heatmap",) and t.hoverinfo != "skip":
            assert t.hovertemplate, f"trace {t.name!r} has no hover template"
    return json.loads(fig.to_json())


# ---------------------------------------------------------------- colours


def test_cell_and_gate_colours_are_consistent():
    assert plots.cell_colour("lstm") == plots.cell_colour("LSTM, seed 3") == plots.CELL_COLOURS["lstm"]
    assert plots.cell_colour("GRU") == plots.CELL_COLOURS["gru"]
    assert plots.cell_colour("RNN") == plots.CELL_COLOURS["rnn_tanh"]
    assert plots.cell_colour("IRNN") == plots.CELL_COLOURS["rnn_relu"]
    assert plots.cell_colour("mystery", 1) != plots.cell_colour("mystery", 2)
    assert plots.gate_colour("f") == plots.gate_colour("W_hf") == plots.gate_colour("b_if")
    assert plots.gate_colour("W_hh") not in plots.GATE_COLOURS.values()


# ---------------------------------------------------------------- training curves


def test_loss_curve_data_baseline_and_metric():
    steps, loss = np.array([0, 10, 20]), np.array([0.5, 0.25, 0.125], dtype=np.float32)
    fig = plots.loss_curve(steps, loss, metric=[0.1, 0.5, 0.9], metric_name="accuracy", baseline=1 / 6)
    assert_common(fig, "loss_curve", "training step", "loss")
    np.testing.assert_array_equal(fig.data[0].x, steps)
    np.testing.assert_array_equal(fig.data[0].y, loss)
    metric = trace_named(fig, "accuracy")
    assert metric.yaxis == "y2" and fig.layout.yaxis2.title.text == "accuracy"
    np.testing.assert_array_equal(metric.y, [0.1, 0.5, 0.9])
    base = trace_named(fig, "chance baseline (0.167)")
    assert base.line.dash == "dash"
    assert list(base.x) == [0, 20] and list(base.y) == [1 / 6, 1 / 6]
    assert "accuracy" in fig.layout.title.text
    assert not has_note(fig)


def test_loss_curve_divergence_marker_and_non_finite():
    fig = plots.loss_curve([1, 2, 3, 4], [1.0, 2.0, INF, NAN], diverged_step=3)
    assert_common(fig, "loss_curve")
    y = fig.data[0].y
    assert y[1] == 2.0 and np.isnan(y[2]) and np.isnan(y[3])
    marker = trace_named(fig, "diverged at step 3")
    assert list(marker.x) == [3] and list(marker.y) == [2.0]  # at the last finite loss
    assert any(s.x0 == 3 for s in fig.layout.shapes)
    assert has_note(fig)


def test_loss_curve_all_non_finite_and_empty_do_not_crash():
    assert_common(plots.loss_curve([1, 2], [NAN, INF], baseline=0.5, diverged_step=1), "loss_curve")
    assert_common(plots.loss_curve([], [], baseline=0.5), "loss_curve")


def test_loss_curve_rejects_mismatched_lengths():
    with pytest.raises(RnnvizError, match="same length"):
        plots.loss_curve([1, 2, 3], [1.0, 2.0])


def test_grad_norm_curve_log_axis_clipped_marks_threshold():
    steps = np.arange(4)
    before = np.array([0.5, 4.0, 2.0, 0.25])
    after = np.minimum(before, 1.0)
    fig = plots.grad_norm_curve(steps, before, after, clipped_mask=before > 1.0, threshold=1.0)
    assert_common(fig, "grad_norm_curve", "training step", "gradient norm ||g|| (log scale)")
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_array_equal(fig.data[0].y, before)
    np.testing.assert_array_equal(trace_named(fig, "||g|| after clipping").y, after)
    clipped = trace_named(fig, "clipped (2 steps)")
    np.testing.assert_array_equal(clipped.x, [1, 2])
    np.testing.assert_array_equal(clipped.y, [4.0, 2.0])
    assert list(trace_named(fig, "clip threshold θ = 1").y) == [1.0, 1.0]


def test_grad_norm_curve_masks_inf_and_zero():
    fig = plots.grad_norm_curve([1, 2, 3], [1.0, INF, 0.0])
    y = fig.data[0].y
    assert y[0] == 1.0 and np.isnan(y[1]) and np.isnan(y[2])  # 0 cannot sit on a log axis
    assert has_note(fig)
    fig.to_json()


def test_compare_loss_colours_by_cell_and_baseline_spans_all_runs():
    fig = plots.compare_loss(
        {"RNN": ([0, 1], [0.2, 0.2]), "LSTM": ([0, 1, 2], [0.2, 0.1, 0.05])}, baseline=1 / 6
    )
    assert_common(fig, "compare_loss", "training step", "loss")
    assert trace_named(fig, "RNN").line.color == plots.CELL_COLOURS["rnn_tanh"]
    lstm = trace_named(fig, "LSTM")
    assert lstm.line.color == plots.CELL_COLOURS["lstm"]
    np.testing.assert_array_equal(lstm.y, [0.2, 0.1, 0.05])
    assert list(trace_named(fig, "chance baseline (0.167)").x) == [0, 2]
    assert has_note(plots.compare_loss({"GRU": ([0, 1], [1.0, NAN])}))


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


# ---------------------------------------------------------------- hidden states and gates


def test_hidden_heatmap_units_by_time_fixed_diverging_scale():
    hidden = np.array([[0.5, -0.25], [1.0, 0.0], [-1.0, 0.125]], dtype=np.float32)  # (L=3, H=2)
    fig = plots.hidden_heatmap(hidden)
    assert_common(fig, "hidden_heatmap", "timestep t", "hidden unit")
    heat = fig.data[0]
    np.testing.assert_array_equal(heat.z, hidden.T)  # rows = units, columns = time
    np.testing.assert_array_equal(heat.x, [1, 2, 3])
    np.testing.assert_array_equal(heat.y, [1, 2])
    assert (heat.zmin, heat.zmax, heat.zmid) == (-1, 1, 0)
    assert heat.colorbar.title.text


def test_hidden_heatmap_with_inputs_shares_the_time_axis():
    hidden = np.zeros((4, 3))
    fig = plots.hidden_heatmap(
        hidden, inputs=np.array([0.0, 1.0, 0.5, 0.25]), title="Adding problem, sample 1"
    )
    assert_common(fig, "hidden_heatmap")
    assert fig.layout.title.text == "Adding problem, sample 1"
    line, heat = fig.data
    np.testing.assert_array_equal(line.y, [0.0, 1.0, 0.5, 0.25])
    assert line.xaxis == "x" and heat.xaxis == "x2" and fig.layout.xaxis.matches == "x2"
    assert fig.layout.xaxis2.title.text == "timestep t"
    one_hot = np.eye(4)[[0, 2, 1, 3]]
    fig2 = plots.hidden_heatmap(hidden, inputs=one_hot)
    np.testing.assert_array_equal(fig2.data[0].z, one_hot.T)


def test_hidden_heatmap_unbounded_and_non_finite():
    fig = plots.hidden_heatmap(np.array([[3.0, -1.0], [INF, 0.5]]), bounded=False)
    heat = fig.data[0]
    assert (heat.zmin, heat.zmax) == (-3, 3)
    assert np.isnan(heat.z[0, 1])
    assert has_note(fig)
    fig.to_json()
    with pytest.raises(RnnvizError, match="same length"):
        plots.hidden_heatmap(np.zeros((4, 2)), inputs=np.zeros(3))


def test_gate_heatmaps_lstm_panels_names_and_scales():
    rng = np.random.default_rng(0)
    gates = {g: rng.uniform(0, 1, size=(5, 3)).astype(np.float32) for g in "ofig"}  # out of order on purpose
    fig = plots.gate_heatmaps(gates, "lstm")
    assert_common(fig, "gate_heatmaps")
    assert [t.name for t in fig.data] == [
        "input gate i",
        "forget gate f",
        "cell candidate g",
        "output gate o",
    ]
    np.testing.assert_array_equal(fig.data[1].z, gates["f"].T)
    titles = [a.text for a in fig.layout.annotations]
    assert any(t.startswith("forget gate f") for t in titles)
    assert fig.data[1].coloraxis == "coloraxis" and fig.data[2].coloraxis == "coloraxis2"
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0, 1)
    assert (fig.layout.coloraxis2.cmin, fig.layout.coloraxis2.cmax) == (-1, 1)
    assert fig.layout.coloraxis.colorbar.title.text and fig.layout.coloraxis2.colorbar.title.text
    assert "LSTM" in fig.layout.title.text


def test_gate_heatmaps_gru_and_non_finite():
    gates = {"r": np.full((2, 2), 0.5), "z": np.array([[NAN, 1.0], [0.0, 1.0]]), "n": np.zeros((2, 2))}
    fig = plots.gate_heatmaps(gates, "gru")
    assert [t.name for t in fig.data] == ["reset gate r", "update gate z", "new-state candidate n"]
    assert has_note(fig)
    fig.to_json()
    with pytest.raises(RnnvizError, match="at least one gate"):
        plots.gate_heatmaps({}, "rnn_tanh")


def test_saturation_curve():
    steps = [0, 1, 2]
    per_gate = {"f": ([0.5, 0.25, 0.0], [0.0, 0.25, 0.75]), "i": ([0.1, 0.1, 0.1], [0.2, 0.2, 0.2])}
    fig = plots.saturation_curve(steps, per_gate)
    assert_common(fig, "saturation_curve", "training step", "units saturated (%)")
    above_f = trace_named(fig, "f > 0.9")
    np.testing.assert_array_equal(above_f.y, [0.0, 0.25, 0.75])
    assert trace_named(fig, "f < 0.1").line.dash == "dash"
    assert above_f.line.color == plots.GATE_COLOURS["f"]
    assert fig.layout.yaxis.tickformat == ".0%"
    assert has_note(plots.saturation_curve([0], {"f": ([NAN], [NAN])}))


# ---------------------------------------------------------------- geometry


def test_pca_trajectory_figure_2d():
    hidden = np.random.default_rng(4).normal(size=(6, 5))
    proj, explained = analysis.pca_trajectory(hidden, k=2)
    fig = plots.pca_trajectory_figure(proj, explained)
    assert_common(fig, "pca_trajectory")
    path = fig.data[0]
    np.testing.assert_array_equal(path.x, proj[:, 0])
    np.testing.assert_array_equal(path.y, proj[:, 1])
    np.testing.assert_array_equal(path.marker.color, np.arange(1, 7))
    assert path.marker.colorbar.title.text == "timestep t"
    assert fig.layout.xaxis.title.text == f"PC1 ({explained[0]:.0%} of variance)"
    start, end = trace_named(fig, "start t=1"), trace_named(fig, "end t=6")
    assert start.x[0] == proj[0, 0] and end.y[0] == proj[-1, 1]
    assert fig.layout.yaxis.scaleanchor == "x"


def test_pca_trajectory_figure_3d_and_non_finite():
    proj = np.array([[0.0, 1.0, 2.0], [NAN, 0.0, 0.0], [1.0, 1.0, 1.0]])
    fig = plots.pca_trajectory_figure(proj, [0.5, 0.3, 0.1])
    assert_common(fig, "pca_trajectory")
    assert fig.data[0].type == "scatter3d"
    np.testing.assert_array_equal(fig.data[0].z, [2.0, NAN, 1.0])
    assert fig.layout.scene.zaxis.title.text == "PC3 (10% of variance)"
    assert has_note(fig)
    with pytest.raises(RnnvizError, match="proj must be"):
        plots.pca_trajectory_figure(np.zeros((3, 4)), [0, 0, 0, 0])


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


# ---------------------------------------------------------------- parameters


def test_param_grad_bars_coloured_by_gate_log_axis():
    norms = {"W_ii": 0.5, "W_if": 0.25, "W_hg": np.float32(2.0), "b_ho": np.array([[1.0]])}
    fig = plots.param_grad_bars(norms)
    assert_common(fig, "param_grad_bars", "parameter block", "||dL/dW|| (log scale)")
    bar = fig.data[0]
    assert list(bar.x) == ["W_ii", "W_if", "W_hg", "b_ho"]
    np.testing.assert_array_equal(bar.y, [0.5, 0.25, 2.0, 1.0])
    assert list(bar.marker.color) == [plots.GATE_COLOURS[g] for g in "ifgo"]
    assert fig.layout.yaxis.type == "log"
    assert has_note(plots.param_grad_bars({"W_ih": INF, "W_hh": 1.0}))
    with pytest.raises(RnnvizError, match="one number per block"):
        plots.param_grad_bars({"W_ih": np.ones((2, 1))})


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


# ---------------------------------------------------------------- export and weight


def test_figure_to_html_is_standalone():
    html = plots.figure_to_html(plots.loss_curve([0, 1], [1.0, 0.5]))
    assert html.lstrip().lower().startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert "plotly.js" in html.lower() or "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js inlined: works offline


def test_heatmap_json_stays_light():
    """A 128-unit x 1000-step hidden heatmap serialises as float32 base64, not Python lists."""
    fig = plots.hidden_heatmap(np.random.default_rng(0).uniform(-1, 1, size=(1000, 128)).astype(np.float32))
    text = fig.to_json()
    assert '"dtype":"f4"' in text.replace(" ", "")
    assert len(text) < 1_000_000  # 512 kB of float32 as base64 (lists would be ~2.5 MB)


# ---------------------------------------------------------------- Learn page (rnnviz.lessons)
# These live here because this task may only touch test_plots.py / test_analysis.py;
# they belong in tests/test_lessons.py.

from rnnviz import lessons  # noqa: E402

# Topics DESIGN.md section 4 asks the app to answer -> words that must appear in some lesson.
TOPICS = {
    "RNN vs feed-forward": ["feed-forward"],
    "time steps and hidden state": ["time step", "hidden state"],
    "variable-length sequences": ["padding", "mask"],
    "BPTT": ["backpropagation through time"],
    "vanishing gradients": ["vanish", "jacobian", "spectral radius", "1/\\gamma", "pascanu"],
    "exploding gradients": ["explode", "sigmoid"],
    "gradient clipping": ["clip", "\\theta\\,\\frac{g}{\\|g\\|}"],
    "LSTM and gates": ["forget gate", "c_t = f_t \\odot c_{t-1} + i_t \\odot g_t"],
    "GRU": ["update gate", "reset gate", "(1 - z_t) \\odot n_t + z_t \\odot h_{t-1}"],
    "bidirectional": ["bidirectional"],
    "applications": ["language modelling", "forecasting"],
    "limitations": ["sequential", "attention"],
    "evaluation": ["loss", "accuracy", "perplexity", "error vs lag"],
}


def test_every_lesson_is_complete_and_short():
    keys = [lesson.key for lesson in lessons.LESSONS]
    assert len(keys) == len(set(keys)), "lesson keys must be unique"
    for lesson in lessons.LESSONS:
        assert lesson.title.strip() and lesson.body_markdown.strip(), lesson.key
        words = len(lesson.body_markdown.split())
        assert 80 <= words <= 200, f"{lesson.key}: {words} words"
        assert lesson.body_markdown.count("$") % 2 == 0, f"{lesson.key}: unbalanced $ in LaTeX"


def test_lessons_link_only_known_presets_and_widgets():
    for lesson in lessons.LESSONS:
        assert lesson.preset is None or lesson.preset in lessons.PRESET_NAMES, lesson.key
        assert lesson.widget is None or lesson.widget in lessons.WIDGETS, lesson.key
    linked = {lesson.preset for lesson in lessons.LESSONS} - {None}
    assert linked == set(lessons.PRESET_NAMES), "every classroom preset is explained by a lesson"
    assert {lesson.widget for lesson in lessons.LESSONS} - {None} == set(lessons.WIDGETS)


def test_preset_names_match_the_config_presets():
    config = pytest.importorskip("rnnviz.config")
    assert set(lessons.PRESET_NAMES) <= set(config.PRESETS)


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_topic_is_covered(topic):
    text = " ".join(f"{lesson.title} {lesson.body_markdown}" for lesson in lessons.LESSONS).lower()
    for word in TOPICS[topic]:
        assert word.lower() in text, f"{topic}: no lesson mentions {word!r}"


def test_lesson_by_key():
    assert lessons.lesson_by_key("bptt").title.startswith("Backpropagation")
    with pytest.raises(RnnvizError, match="lesson must be one of"):
        lessons.lesson_by_key("transformers")


@pytest.mark.parametrize("key", sorted(lessons.WIDGETS))
def test_widget_figures_at_defaults_and_extremes(key):
    widget = lessons.WIDGETS[key]
    for control in widget.controls:
        assert control.min <= control.default <= control.max
        assert len({type(v) for v in (control.min, control.max, control.default, control.step)}) == 1
    assert_common(lessons.widget_figure(key), key)
    for end in ("min", "max"):
        fig = lessons.widget_figure(key, **{c.name: getattr(c, end) for c in widget.controls})
        fig.to_json()


def test_widget_figure_rejects_unknown_names():
    with pytest.raises(RnnvizError, match="widget must be one of"):
        lessons.widget_figure("attention")
    with pytest.raises(RnnvizError, match="unknown"):
        lessons.widget_figure("clipping", theta=1.0)
