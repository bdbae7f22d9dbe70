"""The cell diagram and the backward walk (rnnviz/plots/cellview.py): their numbers are the step's and
the recorded history's."""

import numpy as np
import pytest
import torch
from plot_checks import assert_common, trace_named

from rnnviz import cells, equations, plots
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.plots.cellview import WALK_WINDOW, _v


@pytest.fixture(scope="module")
def recorded():
    """A short recorded run: the gradient curves the walk draws come from its history."""
    from rnnviz.trainer import Trainer

    tr = Trainer(ExperimentConfig(cell="rnn_tanh", init="scaled", rho=0.6, hidden_size=8, seq_len=30,
                                  batch_size=4, probe_size=1))
    tr.step(3)
    return tr.history


@pytest.mark.parametrize("back", [0, 1, 7, 29])
def test_the_walk_shows_exactly_the_recorded_norms_from_T_back_to_the_step_reached(recorded, back):
    rec = recorded.record_at(2)
    g = rec.grad_norms[0, 0]
    fig = plots.backward_walk(g, back, step=rec.step)
    assert_common(fig, "backward-walk")
    walked = trace_named(fig, "walked")
    t_now = 30 - back
    np.testing.assert_array_equal(walked.x, np.arange(t_now, 31))
    np.testing.assert_array_equal(walked.customdata, g[t_now - 1:].astype(np.float64))
    assert list(trace_named(fig, "reached").x) == [t_now]
    labels = {a.name: a.text for a in fig.layout.annotations if (a.name or "").startswith("norm-")}
    shown = sorted(int(k.split("-")[1]) for k in labels)
    assert len(shown) == min(WALK_WINDOW, 30) and t_now in shown
    for t in shown:
        assert labels[f"norm-{t}"] == (f"{float(g[t - 1]):.2e}" if t >= t_now else "?")
    assert fig.layout.title.text == (f"dL/dh_t walked back to t={t_now}: ||dL/dh_{t_now}|| = "
                                     f"{float(g[t_now - 1]):.3g} (training step 2)")


def test_the_walk_of_the_backward_direction_starts_at_t1():
    g = np.logspace(-8, 0, 20)[::-1].copy()
    fig = plots.backward_walk(g, 3, direction=1)
    walked = trace_named(fig, "walked")
    np.testing.assert_array_equal(walked.x, [1, 2, 3, 4])
    np.testing.assert_array_equal(walked.customdata, g[:4])
    assert [a.text for a in fig.layout.annotations if a.name == "norm-5"] == ["?"]


def test_the_walk_keeps_zeros_and_gaps_off_the_log_axis():
    g = np.r_[np.zeros(5), np.ones(5)]
    fig = plots.backward_walk(g, 9)
    walked = trace_named(fig, "walked")
    assert np.isnan(np.asarray(walked.y[:5], dtype=float)).all()
    np.testing.assert_array_equal(walked.customdata, g)  # the values themselves are kept


@pytest.mark.parametrize("back, message", [(10, "steps back must be an integer in 0..9, got 10"),
                                           (-1, "steps back must be an integer in 0..9, got -1")])
def test_the_walk_refuses_a_position_outside_the_sequence(back, message):
    with pytest.raises(RnnvizError) as err:
        plots.backward_walk(np.ones(10), back)
    assert str(err.value) == message


def test_walk_position():
    assert plots.walk_position(50, 0) == 50 and plots.walk_position(50, 49) == 1
    assert plots.walk_position(50, 0, 1) == 1 and plots.walk_position(50, 49, 1) == 50


@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_the_cell_diagram_writes_the_steps_own_values(cell):
    c = cells.get(cell)
    torch.manual_seed(0)
    m = getattr(torch.nn, c.torch_class)(3, 5, batch_first=True, **c.torch_kwargs)
    s = equations.open_cell(m, torch.randn(1, 6, 3), t=3, unit=2)
    fig = plots.cell_diagram(s)
    assert_common(fig, "cell-diagram")
    assert fig.layout.title.text == f"{c.label} cell, unit 3 at t=4: values on the wires"
    text = " ".join(fig.data[-1].text) + " " + " ".join(a.text for a in fig.layout.annotations)
    assert f"h<sub>t</sub><br>{_v(s.h)}" in text
    for name, b in s.blocks.items():
        if c.gates:
            assert f"{name}<br>{_v(b.value)}" in text
        else:
            assert f"a = {_v(b.pre)}" in text
    if cell == "lstm":
        v = {k: b.value for k, b in s.blocks.items()}
        for value in (s.c, s.c_prev, v["f"] * s.c_prev, v["i"] * v["g"]):
            assert _v(value) in text
    if cell == "gru":
        assert _v(1 - s.blocks["z"].value) in text


def test_click_layer_puts_one_marker_on_every_heatmap_cell_with_its_value():
    h = np.random.default_rng(0).uniform(-1, 1, (12, 5)).astype(np.float32)  # (L, H)
    fig = plots.click_layer(plots.hidden_heatmap(h, inputs=np.zeros((12, 2))), max_points=1000)
    heat = next(t for t in fig.data if t.type == "heatmap" and "unit %{y}" in t.hovertemplate)
    layer = fig.data[-1]
    assert heat.hoverinfo == "skip" and layer.xaxis == heat.xaxis and layer.yaxis == heat.yaxis
    np.testing.assert_array_equal(layer.x, np.tile(np.arange(1, 13), 5))
    np.testing.assert_array_equal(layer.y, np.repeat(np.arange(1, 6), 12))
    np.testing.assert_array_equal(layer.customdata, h.T.ravel())
    assert "%{customdata:.3f}" in layer.hovertemplate and layer.marker.opacity == 0
    gates = plots.click_layer(plots.gate_heatmaps({"r": h, "z": h, "n": h}, "gru"), max_points=1000)
    assert sum(t.name.startswith("click ") for t in gates.data) == 3


def test_click_layer_leaves_a_big_heatmap_alone():
    fig = plots.hidden_heatmap(np.zeros((40, 30), np.float32))
    assert plots.click_layer(fig, max_points=1199) is fig and len(fig.data) == 1
    assert len(plots.click_layer(fig, max_points=1200).data) == 2
