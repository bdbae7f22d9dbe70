"""rnnviz.plots.style and the package: colours, the styling step, export, the public names."""

import inspect

import plotly.graph_objects as go
import pytest

from rnnviz import cells, plots
from rnnviz.plots import gradients, learn, phase, spectrum, states, style, training

# ---------------------------------------------------------------- colours


def test_cell_and_gate_colours_are_consistent():
    assert plots.cell_colour("lstm") == plots.cell_colour("LSTM, seed 3") == plots.CELL_COLOURS["lstm"]
    assert plots.cell_colour("GRU") == plots.CELL_COLOURS["gru"]
    assert plots.cell_colour("RNN") == plots.CELL_COLOURS["rnn_tanh"]
    assert plots.cell_colour("IRNN") == plots.CELL_COLOURS["rnn_relu"]
    assert plots.cell_colour("mystery", 1) != plots.cell_colour("mystery", 2)
    assert plots.gate_colour("f") == plots.gate_colour("W_hf") == plots.gate_colour("b_if")
    assert plots.gate_colour("W_hh") not in plots.GATE_COLOURS.values()


def test_cell_facts_come_from_the_cell_table():
    assert plots.CELL_COLOURS == {name: c.colour for name, c in cells.CELLS.items()}
    assert plots.CELL_LABELS == {"rnn_tanh": "tanh RNN", "rnn_relu": "ReLU RNN", "lstm": "LSTM", "gru": "GRU"}
    assert plots.TANH_GATES == {"g", "n"}
    assert plots.GATE_TITLES["f"] == "forget gate f" and plots.GATE_TITLES["n"] == "candidate n"
    assert set(plots.GATE_TITLES) == {g for c in cells.CELLS.values() for g in c.gates}


@pytest.mark.parametrize(("label", "cell"), [
    ("lstm", "lstm"), ("tanh RNN", "rnn_tanh"), ("ReLU RNN", "rnn_relu"), ("IRNN", "rnn_relu"),
    ("GRU, seed 3", "gru"), ("RNN", "rnn_tanh"), ("mystery", None),
])
def test_cell_of_label(label, cell):
    assert plots.cell_of_label(label) == cell
    if cell is not None:
        assert plots.cell_colour(label) == cells.get(cell).colour


# ---------------------------------------------------------------- export and weight


def test_figure_to_html_is_standalone():
    html = plots.figure_to_html(plots.loss_curve([0, 1], [1.0, 0.5]))
    assert html.lstrip().lower().startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert "plotly.js" in html.lower() or "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js inlined: works offline


# ---------------------------------------------------------------- the styling step and the banner


def test_styling_step_adds_the_banner_only_for_non_finite_data():
    from rnnviz.plots.style import _styled

    clean = _styled(go.Figure(), "k", "a title long enough", "x", "y")
    assert clean.layout.uirevision == "k" and clean.layout.height == 480
    assert clean.layout.xaxis.title.text == "x" and clean.layout.yaxis.title.text == "y"
    assert not clean.layout.annotations
    dirty = _styled(go.Figure(), "k", "a title long enough", not_finite=True)
    (note,) = dirty.layout.annotations
    assert note.text == plots.NOT_FINITE_NOTE == "diverged: values not finite"
    assert (note.xref, note.yref, note.font.color) == ("paper", "paper", "#B00020")
    other = _styled(go.Figure(), "k", "a title long enough", not_finite=True, note="values beyond float range")
    assert [a.text for a in other.layout.annotations] == ["values beyond float range"]


def test_no_builder_draws_the_banner_itself():
    """The banner comes from the styling step only: one place decides how a diverged figure looks."""
    for module in (training, gradients, states, spectrum, learn, phase):
        source = inspect.getsource(module)
        assert "_note_not_finite" not in source, module.__name__


# ---------------------------------------------------------------- the package's public names


def test_all_lists_every_public_builder_and_only_real_names():
    builders = {
        name
        for module in (style, training, gradients, states, spectrum, learn, phase)
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and not name.startswith("_") and obj.__module__ == module.__name__
    }
    assert "hidden_animation" in builders
    assert builders <= set(plots.__all__), sorted(builders - set(plots.__all__))
    assert all(hasattr(plots, name) for name in plots.__all__)
    assert len(plots.__all__) == len(set(plots.__all__))


def test_log_ticks_one_label_per_decade_up_to_8_and_never_a_lone_label():
    import numpy as np

    from rnnviz.plots.style import _log_ticks as log_ticks

    def inside(lo, hi):
        t = log_ticks(lo, hi)
        return [text for v, text in zip(t["tickvals"], t["ticktext"], strict=True) if lo <= np.log10(v) <= hi]

    assert inside(-3.2, 0.1) == ["1e-3", "0.01", "0.1", "1"]  # one per decade
    assert inside(-40.5, -0.5) == ["1e-40", "1e-35", "1e-30", "1e-25", "1e-20", "1e-15", "1e-10", "1e-5"]
    assert inside(-3.35, -2.9) == ["5e-4", "1e-3"]  # within a decade: 1-2-5, two labels at least
    assert inside(0.45, 0.62) == ["3", "4"]  # a narrow span falls back to 1..9
    for lo in np.linspace(-30, 10, 41):
        for width in (0.5, 0.7, 1.0, 2.5, 9.0, 25.0):  # _log_y shows at least half a decade
            assert 2 <= len(inside(lo, lo + width)) <= 9, (lo, width)


@pytest.mark.parametrize("decades", [1, 3, 13, 40, 300])
def test_log_ticks_label_any_range_of_1_to_300_decades_several_times(decades):
    """The Gradient flow chart labelled 13 decades with a lone "1e-6": every range gets 3..8 round labels,
    on multiples of one stride, wherever it starts."""
    import numpy as np

    from rnnviz.plots.style import _log_ticks as log_ticks

    for lo in (-310.0, -200.3, -40.5, -13.3, -6.0, -0.7, 2.2):
        hi = lo + decades
        if hi > 307:
            continue
        t = log_ticks(lo, hi)
        shown = [(v, text) for v, text in zip(t["tickvals"], t["ticktext"], strict=True)
                 if lo <= np.log10(v) <= hi]
        assert 3 <= len(shown) <= 8, (lo, decades, shown)
        exps = [round(np.log10(v)) for v, _ in shown]
        if decades >= 3:  # whole decades, evenly spaced
            assert all(np.isclose(v, 10.0**e) for (v, _), e in zip(shown, exps, strict=True))
            stride = exps[1] - exps[0]
            assert list(np.diff(exps)) == [stride] * (len(exps) - 1) and all(e % stride == 0 for e in exps)
    t = log_ticks(-13.3, -0.3)
    assert [x for v, x in zip(t["tickvals"], t["ticktext"], strict=True) if -13.3 <= np.log10(v) <= -0.3] == [
        "1e-12", "1e-10", "1e-8", "1e-6", "1e-4", "0.01"]
    t = log_ticks(-300.0, 0.0)
    assert [x for v, x in zip(t["tickvals"], t["ticktext"], strict=True) if -300 <= np.log10(v) <= 0] == [
        "1e-300", "1e-250", "1e-200", "1e-150", "1e-100", "1e-50", "1"]
    t = log_ticks(-3.0, -2.0)
    assert t["ticktext"] == ["1e-3", "2e-3", "5e-3", "0.01"]


def test_titles_have_room_for_their_lines_and_the_toolbar_above_them():
    """Newcomer screenshots: a two-line Learn title clipped at the top with the y-axis title in its
    subtitle, and the toolbar shown on hover over chart titles. The title hangs TOOLBAR_MARGIN below the
    top (the toolbar's height) and the top margin holds all its lines."""
    import numpy as np

    one = plots.gradient_flow(np.geomspace(1e-6, 1, 5), step=3)
    assert one.layout.margin.t == style.TOOLBAR_MARGIN + 30 + 10
    two = learn.jacobian_product_figure(1.6, 0.9, 100)
    assert two.layout.title.text.count("<br><sub>") == 1
    assert two.layout.margin.t == style.TOOLBAR_MARGIN + 30 + 24 + 10
    title = style._TEMPLATE.layout.title
    assert (title.yref, title.y, title.yanchor, title.pad.t) == ("container", 1.0, "top", style.TOOLBAR_MARGIN)
    assert style.TOOLBAR_MARGIN >= 30  # Plotly's modebar: 25 px buttons + padding
