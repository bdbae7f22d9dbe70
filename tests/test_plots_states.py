"""rnnviz.plots.states: hidden-state heatmap and animation, gates, saturation, PCA paths."""

import numpy as np
import pytest
from plot_checks import INF, NAN, assert_common, has_note, trace_named

from rnnviz import analysis, plots
from rnnviz.errors import RnnvizError

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
        "candidate g",  # the words of cells.CELLS["lstm"].gate_labels
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
    assert [t.name for t in fig.data] == ["reset gate r", "update gate z", "candidate n"]
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


# ---------------------------------------------------------------- PCA


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
    assert [fig.layout.scene[a].title.text for a in ("xaxis", "yaxis", "zaxis")] == ["PC1 (50%)", "PC2 (30%)",
                                                                                  "PC3 (10%)"]
    assert fig.layout.scene.zaxis.title.font.size < plots.BASE_FONT_SIZE  # short and small: no overlap
    assert has_note(fig)
    with pytest.raises(RnnvizError, match="proj must be"):
        plots.pca_trajectory_figure(np.zeros((3, 4)), [0, 0, 0, 0])


def test_heatmap_json_stays_light():
    """A 128-unit x 1000-step hidden heatmap serialises as float32 base64, not Python lists."""
    fig = plots.hidden_heatmap(np.random.default_rng(0).uniform(-1, 1, size=(1000, 128)).astype(np.float32))
    text = fig.to_json()
    assert '"dtype":"f4"' in text.replace(" ", "")
    assert len(text) < 1_000_000  # 512 kB of float32 as base64 (lists would be ~2.5 MB)


# ---------------------------------------------------------------- training play-through


def test_hidden_animation_frames_slider_and_shared_scale():
    hiddens = [np.full((3, 2), v, dtype=np.float32) for v in (0.1, 0.2, 0.3)]
    fig = plots.hidden_animation([0, 10, 20], hiddens)
    assert_common(fig, "hidden_animation", "timestep t", "hidden unit")
    assert [f.name for f in fig.frames] == ["0", "10", "20"]
    np.testing.assert_array_equal(fig.frames[0].data[0].z, hiddens[0].T)
    np.testing.assert_array_equal(fig.data[0].z, hiddens[-1].T)  # the figure opens on the last step
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-1, 1)
    assert [s.label for s in fig.layout.sliders[0].steps] == ["0", "10", "20"]
    assert not has_note(fig)


def test_hidden_animation_thins_frames_unbounded_range_and_non_finite():
    steps = list(range(100))
    hiddens = [np.full((2, 2), float(s), dtype=np.float32) for s in steps]
    hiddens[-1][0, 0] = NAN  # the last frame is always shown
    fig = plots.hidden_animation(steps, hiddens, bounded=False)
    names = [f.name for f in fig.frames]
    assert len(names) == plots.MAX_ANIMATION_FRAMES and names[0] == "0" and names[-1] == "99"
    assert fig.data[0].zmax == 99.0 and fig.data[0].zmin == -99.0  # one range over every frame shown
    assert has_note(fig) and np.isnan(fig.data[0].z[0][0])
    assert has_note(plots.hidden_animation([0, 1], [np.zeros((2, 2)), np.array([[INF, 0.0], [0.0, 0.0]])]))
    with pytest.raises(RnnvizError, match="non-empty and the same length, got 2 and 1"):
        plots.hidden_animation([0, 1], [np.zeros((2, 2))])


def test_hidden_heatmap_non_finite_inputs_are_gaps_with_the_banner():
    fig = plots.hidden_heatmap(np.zeros((3, 2)), inputs=[1.0, INF, 0.0])
    assert np.isnan(fig.data[0].y[1]) and fig.data[0].y[0] == 1.0
    assert has_note(fig)


def test_input_strip_speaks_the_task_language():
    x = np.zeros((5, 2), dtype=np.float32)
    x[:, 0], x[1, 1], x[3, 1] = [0.2, 0.9, 0.1, 0.4, 0.5], 1.0, 1.0
    adding = plots.hidden_heatmap(np.zeros((5, 3)), inputs=x, input_names=("value", "marker"))
    assert list(adding.data[0].y) == ["value", "marker"]  # not rows numbered 0.5 .. 2.5
    onehot = np.eye(10, dtype=np.float32)[[3, 0, 0, 9, 3]]
    copy = plots.hidden_heatmap(np.zeros((5, 3)), inputs=onehot, symbols=tuple("·12345678:"))
    assert list(copy.data[0].text[0]) == ["3", "·", "·", ":", "3"] and copy.data[0].texttemplate == "%{text}"
    chars = plots.hidden_heatmap(np.zeros((3, 3)), inputs=np.eye(3, dtype=np.float32)[[2, 0, 1]],
                                 symbols=("·", "a", "b"))
    assert list(chars.data[0].text[0]) == ["b", "·", "a"]


def test_animation_buttons_and_slider_do_not_overlap_and_have_words():
    fig = plots.hidden_animation([0, 5, 10], [np.zeros((4, 3))] * 3)
    menu, slider = fig.layout.updatemenus[0], fig.layout.sliders[0]
    assert [b.label for b in menu.buttons] == ["▶ play", "pause"]  # no "⏸" (an empty box in common fonts)
    assert slider.x >= 0.25 and menu.x == 0 and slider.x + slider.len <= 1.0


def test_step_zero_charts_span_steps_0_to_10_not_minus_1_to_1():
    for fig in (plots.loss_curve([0], [0.5], [0.1], "accuracy", 1 / 6), plots.grad_norm_curve([0], [2.0]),
                plots.compare_loss({"LSTM": ([0], [0.3])}),
                plots.saturation_curve([0], {"f": ([0.1], [0.2])})):
        assert list(fig.layout.xaxis.range) == [-0.5, 10], fig.layout.title.text
