"""rnnviz/plots/phase.py: the phase-diagram heatmap (values, log colour, white at ratio 1, theory lines)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from plot_checks import assert_common, trace_named

from rnnviz import plots
from rnnviz.errors import RnnvizError
from rnnviz.plots.phase import diverging_scale

Y = (0.5, 1.0, 1.5)
X = (10, 20, 40, 80)
RATIO = np.array([[1e-12, 1e-6, 0.0, 1e-30],
                  [0.5, 0.3, 0.1, 0.01],
                  [2.0, 30.0, 1e4, np.nan]])


def fig_of(**kw):
    return plots.phase_heatmap(RATIO, Y, X, "Spectral radius ρ", "Sequence length / lag T", **kw)


def test_colour_is_log10_of_the_ratio_and_blank_where_it_has_none():
    fig = fig_of()
    assert_common(fig, "phase_heatmap", "Sequence length / lag T", "Spectral radius ρ")
    hm = fig.data[0]
    assert hm.type == "heatmap"
    z = np.array(hm.z, dtype=float)
    ok = np.isfinite(RATIO) & (RATIO > 0)
    np.testing.assert_allclose(z[ok], np.log10(RATIO[ok]), rtol=1e-12)
    assert np.isnan(z[~ok]).all()
    np.testing.assert_array_equal(hm.x, np.arange(4))
    np.testing.assert_array_equal(hm.y, np.arange(3))
    note = [a.text for a in fig.layout.annotations if a.name == "blank-note"]
    assert note == ["blank cells: 1 with ratio 0 (no gradient reached h_1), 1 without a value"]


def test_colour_range_covers_the_data_in_whole_decades_with_white_at_ratio_one():
    hm = fig_of().data[0]
    assert (hm.zmin, hm.zmax) == (-30, 4)
    white = [pos for pos, colour in hm.colorscale if colour == "rgb(247,247,247)"]
    assert white == [pytest.approx(30 / 34)]  # z = 0, i.e. ratio 1
    assert hm.colorscale[0][1] == "rgb(5,48,97)" and hm.colorscale[-1][1] == "rgb(103,0,31)"  # blue .. red
    assert list(hm.colorbar.ticktext) == [f"1e{t}" if t else "1" for t in hm.colorbar.tickvals]
    assert 0 in hm.colorbar.tickvals and len(hm.colorbar.tickvals) <= 9


def test_the_scale_keeps_white_at_zero_for_any_range():
    for lo, hi in ((-1, 1), (-40, 3), (-2, 25)):
        scale = diverging_scale(lo, hi)
        positions = [p for p, _ in scale]
        assert positions == sorted(positions) and positions[0] == 0 and positions[-1] == pytest.approx(1)
        assert dict((c, p) for p, c in scale)["rgb(247,247,247)"] == pytest.approx(-lo / (hi - lo))


def test_every_cell_has_a_clickable_marker_with_its_values():
    fig = fig_of(sigma_max=np.full((3, 4), 1.2), spectral_radius=np.full((3, 4), 0.9),
                 ratio_min=RATIO / 2, ratio_max=RATIO * 2, seeds=3)
    pick = trace_named(fig, plots.PICK_TRACE)
    assert pick.marker.opacity == 0 and pick.showlegend is False
    np.testing.assert_array_equal(pick.x, np.tile(np.arange(4), 3))
    np.testing.assert_array_equal(pick.y, np.repeat(np.arange(3), 4))
    k = 1 * 4 + 2  # row 1, column 2
    assert pick.text[k].split("<br>") == ["Spectral radius ρ = 1, Sequence length / lag T = 40",
                                          "ratio = 0.1", "seeds: 0.05 to 0.2", "σ_max(W_hh) = 1.2, ρ = 0.9",
                                          "click: open in the Playground"]
    assert "ratio = 0 (no gradient reached h_1)" in pick.text[2]
    assert fig.layout.clickmode == "event+select" and fig.layout.hoverdistance == -1
    assert "median of 3 seeds" in fig.layout.title.text


def test_axes_label_the_real_values_on_cell_positions():
    fig = fig_of()
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2, 3]
    assert list(fig.layout.xaxis.ticktext) == ["10", "20", "40", "80"]
    assert list(fig.layout.yaxis.ticktext) == ["0.5", "1", "1.5"]
    assert tuple(fig.layout.yaxis.range) == (-0.5, 2.5)
    many = plots.phase_heatmap(np.ones((2, 24)), (1, 2), tuple(range(24)), "a", "b")
    assert len(many.layout.xaxis.tickvals) <= 12 and many.layout.xaxis.tickvals[0] == 0


def test_theory_lines_go_through_the_column_centres_at_their_rows():
    rows = np.array([0.4, 0.4, np.nan, 0.6])
    line = SimpleNamespace(name="sigma", label="σ_max·γ = 1", rows=rows)
    fig = fig_of(lines=[line, SimpleNamespace(name="radius", label="ρ·γ = 1", rows=np.full(4, 1.0))])
    sigma, radius = trace_named(fig, "σ_max·γ = 1"), trace_named(fig, "ρ·γ = 1")
    np.testing.assert_array_equal(sigma.x, [-0.5, 0, 1, 2, 3, 3.5])
    np.testing.assert_array_equal(sigma.y, [0.4, 0.4, 0.4, np.nan, 0.6, 0.6])
    assert sigma.line.dash == "solid" and radius.line.dash == "dash" and sigma.connectgaps is False
    with pytest.raises(RnnvizError, match=r"^a theory line needs one row per column \(4\), got shape \(3,\)$"):
        fig_of(lines=[SimpleNamespace(name="sigma", label="x", rows=np.ones(3))])


def test_after_training_the_title_says_so_and_diverged_cells_are_counted():
    div = np.zeros((3, 4))
    div[2, 3] = 1
    fig = fig_of(diverged=div, when="after 30 training steps")
    assert fig.layout.title.text.startswith("Gradient ratio ||dL/dh_1|| / ||dL/dh_T|| after 30 training steps")
    note = [a.text for a in fig.layout.annotations if a.name == "blank-note"]
    assert note == ["blank cells: 1 with ratio 0 (no gradient reached h_1), 1 with a diverged run"]
    assert "1 run(s) diverged" in trace_named(fig, plots.PICK_TRACE).text[11]


def test_shapes_must_match_the_axes():
    with pytest.raises(RnnvizError, match=r"^ratio must have shape \(rows, columns\) = \(3, 4\), got \(4, 3\)$"):
        plots.phase_heatmap(RATIO.T, Y, X, "a", "b")
    with pytest.raises(RnnvizError, match=r"^sigma_max must have shape \(3, 4\), got \(2, 2\)$"):
        fig_of(sigma_max=np.ones((2, 2)))


def test_the_sidebars_run_is_marked_where_its_values_lie():
    fig = fig_of(live=(1.0, 2.5))
    you = trace_named(fig, "your run")
    assert list(you.x) == [2.5] and list(you.y) == [1.0] and you.marker.symbol == "circle-open"
    assert not [t for t in fig_of(live=(np.nan, 1.0)).data if t.name == "your run"]


def test_both_ends_of_the_colour_bar_are_labelled_when_there_is_room():
    hm = plots.phase_heatmap(np.array([[1e-9, 1e3]]), (1,), (1, 2), "a", "b").data[0]
    assert (hm.zmin, hm.zmax) == (-9, 3)
    assert list(hm.colorbar.tickvals) == [-9, -8, -6, -4, -2, 0, 2, 3]
    thin = plots.phase_heatmap(np.array([[1e-42, 10.0]]), (1,), (1, 2), "a", "b").data[0]
    assert (thin.zmin, thin.zmax) == (-42, 1) and 1 not in thin.colorbar.tickvals  # 1 of 43 decades: no room
