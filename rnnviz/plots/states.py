"""Hidden states and gates: heatmaps, the training play-through, gate saturation and PCA paths."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.plots import unpack
from rnnviz.plots.style import (
    _LIGHT,
    _NEUTRAL,
    BASE_FONT_SIZE,
    CELL_LABELS,
    GATE_TITLES,
    MAX_CELLS,
    TANH_GATES,
    _curve,
    _grid,
    _line,
    _same_length,
    _step_axis,
    _styled,
    _thin_grid,
    _timesteps,
    gate_colour,
)


def _symmetric_range(z: np.ndarray, bounded: bool) -> float:
    if bounded:
        return 1.0
    finite = np.abs(z[np.isfinite(z)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def _hidden_heat(h: np.ndarray, limit: float, max_cells: int = MAX_CELLS) -> go.Heatmap:
    """h_t of every unit (rows) at every timestep (columns) on a diverging scale fixed to ±``limit``
    (at most ``max_cells`` cells: :func:`~rnnviz.plots.style._thin_grid`)."""
    L, H = h.shape
    z, t, units, _ = _thin_grid(h.T, _timesteps(L), np.arange(1, H + 1, dtype=np.int32), max_cells)
    return go.Heatmap(
        x=t,
        y=units,
        z=z,
        colorscale="RdBu_r",
        zmin=-limit,
        zmax=limit,
        zmid=0,
        colorbar=dict(title=dict(text=f"h value ({-limit:.3g} … {limit:.3g})", side="right")),
        hovertemplate="t=%{x}, unit %{y}<br>h = %{z:.3f}<extra></extra>",
    )


def _input_trace(x_in: np.ndarray, names=(), symbols=()) -> go.Scatter | go.Heatmap:
    """The inputs (L, I) above the hidden heatmap, in the task's language: one-hot inputs with
    ``symbols`` as one row of symbols (copy: digits, char-LM: characters), else a line when I = 1, or
    one grey row per feature, named by ``names`` ("value", "marker") when given."""
    t = _timesteps(len(x_in))
    if len(symbols) == x_in.shape[1] and x_in.shape[1] > 1:
        ids = x_in.argmax(axis=1)
        shown = np.where(np.isfinite(x_in).all(axis=1) & (x_in.max(axis=1) > 0), ids, -1)
        text = [[symbols[i] if i >= 0 else "" for i in shown]]
        return go.Heatmap(x=t, y=["symbol"], z=[np.where(shown > 0, 1.0, 0.0).astype(np.float32)], text=text,
                          texttemplate="%{text}", textfont=dict(size=BASE_FONT_SIZE), colorscale=[[0, "#FFFFFF"],
                          [1, "#DDDDDD"]], zmin=0, zmax=1, showscale=False,
                          hovertemplate="t=%{x}<br>input %{text}<extra></extra>")
    if x_in.shape[1] == 1:
        name = names[0] if names else "input x_t"
        return _line(t, x_in[:, 0], name, _NEUTRAL, f"t=%{{x}}<br>{name} = %{{y:.3g}}<extra></extra>", width=2,
                     mode="lines+markers", showlegend=False)
    rows = np.arange(1, x_in.shape[1] + 1, dtype=np.int32)
    z, t, features, _ = _thin_grid(x_in.T, t, rows, MAX_CELLS // 4)
    labels = [names[i - 1] for i in features] if len(names) == x_in.shape[1] else [f"x{i}" for i in features]
    return go.Heatmap(
        x=t,
        y=labels,
        z=z,
        colorscale="Greys",
        showscale=False,
        hovertemplate="t=%{x}, %{y}<br>x = %{z:.3g}<extra></extra>",
    )


def hidden_heatmap(hidden, inputs=None, title: str | None = None, bounded: bool = True, *,
                   input_names=(), symbols=()) -> go.Figure:
    """Hidden state h_t of every unit (rows) at every timestep (columns), inputs aligned above.

    Colour is diverging and fixed to [-1, 1] (tanh-bounded; white = 0) so frames compare
    across redraws; set ``bounded=False`` for relu RNNs (symmetric range from the data).
    ``inputs`` (L,) or (L, 1) is drawn as a line, (L, I) as a small heatmap, sharing the t axis; in the
    task's words when given (``Task.input_names``: a name per feature row; ``Task.symbols``: one-hot
    inputs shown as one row of symbols). ``hidden`` may be a ``Trace`` (its layer 1, forward, sequence 1).
    """
    h, bad = _grid(unpack.hidden(hidden), "hidden")  # (L, H)
    heat = _hidden_heat(h, _symmetric_range(h, bounded))
    title = (title or "Hidden state h_t of every unit over time") + _thinned_note(h.size, MAX_CELLS)
    if inputs is None:
        return _styled(go.Figure(heat), "hidden_heatmap", title, "timestep t", "hidden unit", not_finite=bad)
    x_in = np.array(inputs, dtype=np.float32)
    x_in, bad_in = _grid(x_in.reshape(-1, 1) if x_in.ndim == 1 else x_in, "inputs")  # (L, I)
    _same_length(hidden=h, inputs=x_in)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.22, 0.78], vertical_spacing=0.04)
    fig.add_trace(_input_trace(x_in, tuple(input_names), tuple(symbols)), row=1, col=1)
    fig.add_trace(heat, row=2, col=1)
    _styled(fig, "hidden_heatmap", title, height=560, not_finite=bad or bad_in)
    fig.update_xaxes(title_text="timestep t", row=2, col=1)
    fig.update_xaxes(range=[0.5, len(h) + 0.5])  # cells, not line padding, define the shared t axis
    fig.update_yaxes(title_text="input", row=1, col=1)
    fig.update_yaxes(title_text="hidden unit", row=2, col=1)
    return fig


MAX_ANIMATION_FRAMES = 40
#: Cells over all frames of the animation (~2 MB): big grids get fewer frames (at least 8), each thinned.
ANIMATION_CELLS = 2 * MAX_CELLS


def _thinned_note(cells_in: int, max_cells: int) -> str:
    """A subtitle when a heatmap shows evenly spaced rows/columns of a bigger grid, else ""."""
    if cells_in <= max_cells:
        return ""
    return f"<br><sub>evenly spaced timesteps/units shown (about {max_cells:,} of {cells_in:,} values)</sub>"


def hidden_animation(steps, hiddens, bounded: bool = True) -> go.Figure:
    """A play-through of training: the hidden-state heatmap of one probe sequence at each recorded step.

    ``steps`` (S,) and ``hiddens`` S arrays (L, H). Plotly animates in the browser (play button and a
    step slider), so no server round trip per frame; at most ``MAX_ANIMATION_FRAMES`` evenly spaced
    frames (always the first and the last) keep the figure light.
    """
    steps = [int(s) for s in steps]
    if len(steps) != len(hiddens) or not steps:
        raise RnnvizError(f"steps and hiddens must be non-empty and the same length, got {len(steps)} "
                          f"and {len(hiddens)}")
    cells_per_frame = int(np.size(hiddens[-1]))
    n_frames = min(len(steps), MAX_ANIMATION_FRAMES, max(8, ANIMATION_CELLS // max(1, cells_per_frame)))
    per_frame = ANIMATION_CELLS // n_frames  # all frames together stay within ANIMATION_CELLS
    pick = np.unique(np.linspace(0, len(steps) - 1, n_frames).round().astype(int))
    grids, bad = zip(*(_grid(hiddens[i], "hidden") for i in pick), strict=True)
    limit = max(_symmetric_range(g, bounded) for g in grids)
    labels = [str(steps[i]) for i in pick]
    frames = [go.Frame(data=[_hidden_heat(g, limit, per_frame)], name=n) for g, n in zip(grids, labels, strict=True)]
    fig = go.Figure(_hidden_heat(grids[-1], limit, per_frame), frames=frames)
    frame_args = dict(frame=dict(duration=250, redraw=True), mode="immediate", transition=dict(duration=0))
    fig.update_layout(
        # Buttons left, slider right of them (never on top of each other); words, not the "⏸" glyph
        # that common fonts lack (it drew an empty box).
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.2, xanchor="left", yanchor="top",
                          showactive=False, pad=dict(t=0, r=10),
                          buttons=[dict(label="▶ play", method="animate", args=[None, frame_args]),
                                   dict(label="pause", method="animate",
                                        args=[[None], dict(frame_args, mode="immediate")])])],
        sliders=[dict(active=len(labels) - 1, x=0.3, y=-0.12, len=0.7, xanchor="left", yanchor="top",
                      currentvalue=dict(prefix="training step "),
                      steps=[dict(label=n, method="animate", args=[[n], frame_args]) for n in labels])],
    )
    _styled(fig, "hidden_animation", "Hidden state of the probe sequence through training"
            + _thinned_note(cells_per_frame, per_frame), "timestep t",
            "hidden unit", height=600, not_finite=any(bad))
    fig.update_layout(margin=dict(b=150))
    return fig


def gate_heatmaps(gates: Mapping[str, np.ndarray], cell: str | None = None) -> go.Figure:
    """One panel per gate (LSTM i, f, g, o; GRU r, z, n): units (rows) x timesteps (columns).

    Sigmoid gates share one colour bar on [0, 1] (0 = closed, 1 = open); the tanh
    candidates g and n share a diverging one on [-1, 1]. Each ``gates[name]`` is (L, H),
    e.g. ``Trace.gates[name][layer, direction, sample]``; panels follow the cell's gate order
    (``cells.Cell.gates``), then any gate the cell does not know. ``gates`` may be an LSTM or GRU
    ``Trace`` alone (its layer 1, forward, sequence 1; the cell from ``Trace.cell_type``).
    """
    gates, cell = unpack.gates(gates, cell)
    known = cells.CELLS[cell].gates if cell in cells.CELLS else ()
    order = [g for g in known if g in gates] + [g for g in gates if g not in known]
    if not order:
        raise RnnvizError(f"gate_heatmaps needs at least one gate, got none for cell {cell!r}")
    titles = [f"{GATE_TITLES.get(g, g)} ({'tanh, −1…1' if g in TANH_GATES else 'σ, 0…1'})" for g in order]
    fig = make_subplots(
        # room for each panel's title above it even when the figure is squeezed to a projector's height
        rows=len(order), cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=0.1
    )
    bad, total = False, 0
    for row, name in enumerate(order, start=1):
        z, bad_z = _grid(gates[name], f"gates[{name!r}]")
        bad |= bad_z
        L, H = z.shape
        total += z.size
        zt, t, units, _ = _thin_grid(z.T, _timesteps(L), np.arange(1, H + 1, dtype=np.int32), MAX_CELLS // len(order))
        fig.add_trace(
            go.Heatmap(
                x=t,
                y=units,
                z=zt,
                name=GATE_TITLES.get(name, name),
                coloraxis="coloraxis2" if name in TANH_GATES else "coloraxis",
                hovertemplate=f"{name}: t=%{{x}}, unit %{{y}}<br>{name} = %{{z:.3f}}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="unit", row=row, col=1)
    fig.update_xaxes(title_text="timestep t", row=len(order), col=1)
    label = CELL_LABELS.get(cell, cell)
    _styled(fig, "gate_heatmaps", f"{label} gates at every timestep (units × time)" + _thinned_note(total, MAX_CELLS),
            height=120 + 200 * len(order),
            not_finite=bad)
    _gate_colour_axes(fig, has_tanh=any(g in TANH_GATES for g in order))
    fig.update_annotations(font_size=BASE_FONT_SIZE)
    return fig


def _gate_colour_axes(fig: go.Figure, has_tanh: bool) -> None:
    """Sigmoid gates on one colour axis [0, 1]; tanh candidates (if any) on a diverging one [-1, 1].

    The two colour bars are stacked on the right (sigmoid above, tanh below), so their titles never overlap."""
    sigmoid_bar = dict(y=0.77, len=0.46, yanchor="middle") if has_tanh else dict(y=0.5, len=0.9)
    layout = dict(
        coloraxis=dict(
            colorscale="Viridis",
            cmin=0,
            cmax=1,
            colorbar=dict(title=dict(text="gate value<br>0 closed, 1 open", side="right"), **sigmoid_bar),
        )
    )
    if has_tanh:
        layout["coloraxis2"] = dict(
            colorscale="RdBu_r",
            cmin=-1,
            cmax=1,
            cmid=0,
            colorbar=dict(title=dict(text="candidate value<br>−1 … 1", side="right"), y=0.23, len=0.46,
                          yanchor="middle"),
        )
    fig.update_layout(layout)


def saturation_curve(steps, per_gate: Mapping[str, tuple], low: float = 0.1, high: float = 0.9) -> go.Figure:
    """Fraction of saturated gate units per training step: above ``high`` solid, below ``low`` dashed.

    ``per_gate[name] = (below (S,), above (S,))`` from :func:`rnnviz.analysis.saturation`; for the
    tanh candidates (g, n) pass the fractions of |value| (saturated means |g| near 1), which the
    legend spells ``|g| > 0.9``. A forget gate mostly above 0.9 is remembering; a gate stuck at 0
    or 1 (or a candidate at ±1) passes almost no gradient (sigma' < 0.09, tanh' < 0.19 there).
    """
    steps = np.asarray(steps)
    fig = go.Figure()
    bad = False
    for name, (below, above) in per_gate.items():
        _same_length(steps=steps, below=below, above=above)
        colour = gate_colour(name)
        label = GATE_TITLES.get(name, name)
        shown = f"|{name}|" if name in TANH_GATES else name  # tanh candidates saturate at both ends
        for values, rel, threshold, dash in ((above, ">", high, "solid"), (below, "<", low, "dash")):
            y, bad_y = _curve(values, label)
            bad |= bad_y
            fig.add_trace(_line(steps, y, f"{shown} {rel} {threshold:g}", colour,
                                f"{label}<br>step %{{x}}<br>{rel} {threshold:g}: %{{y:.1%}}<extra></extra>",
                                dash=dash, legendgroup=name))
    _styled(
        fig,
        "saturation_curve",
        f"Gate saturation: units above {high:g} or below {low:g}",
        "training step",
        "units saturated (%)",
        not_finite=bad,
    )
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    _step_axis(fig, steps)
    return fig


# --------------------------------------------------------------------------------------
# PCA trajectories
# --------------------------------------------------------------------------------------


def pca_trajectory_figure(proj, explained) -> go.Figure:
    """The hidden-state path h_1 .. h_T projected on its top 2 or 3 principal components.

    ``proj`` (L, 2|3) and ``explained`` (k,) come from :func:`rnnviz.analysis.pca_trajectory`.
    Points are coloured by timestep; the start (t=1) and the end (t=T) are marked.
    """
    p = np.array(proj, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] not in (2, 3):
        raise RnnvizError(f"proj must be (L, 2) or (L, 3), got shape {p.shape}")
    bad = ~np.all(np.isfinite(p), axis=1)
    p[bad] = np.nan
    L, k = p.shape
    explained = np.asarray(explained, dtype=np.float64)
    axis_titles = [f"PC{j + 1} ({explained[j]:.0%} of variance)" for j in range(k)]
    fig = go.Figure()
    hover = "t=%{marker.color}<br>" + "<br>".join(f"PC{j + 1} = %{{{c}:.3g}}" for j, c in enumerate("xyz"[:k]))
    path = dict(
        mode="lines+markers",
        name="h_t",
        showlegend=False,
        line=dict(color=_LIGHT, width=2),
        marker=dict(
            color=_timesteps(L), colorscale="Viridis", size=7,
            colorbar=dict(title=dict(text="timestep t", side="right")),
        ),
        hovertemplate=hover + "<extra></extra>",
    )
    scatter = go.Scatter if k == 2 else go.Scatter3d
    fig.add_trace(scatter(**dict(zip("xyz", p.T, strict=False)), **path))
    ends = [(0, "start t=1", "square", "#009E73"), (L - 1, f"end t={L}", "diamond", "#B00020")] if L else []
    for i, name, symbol, colour in ends:
        fig.add_trace(scatter(**{c: [p[i, j]] for j, c in enumerate("xyz"[:k])}, mode="markers", name=name,
                              marker=dict(symbol=symbol, size=18 if k == 2 else 10, color=colour),
                              hovertemplate=f"{name}<extra></extra>"))
    if k == 2:
        _styled(fig, "pca_trajectory", "Hidden-state trajectory (PCA projection)", *axis_titles, height=560,
                not_finite=bad.any())
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    else:
        _styled(fig, "pca_trajectory", "Hidden-state trajectory (PCA projection, 3D)", height=640,
                not_finite=bad.any())
        # short titles in a smaller font: the three long ones ran into each other around the cube
        short = [f"PC{j + 1} ({explained[j]:.0%})" for j in range(k)]
        scene = {f"{c}axis": dict(title=dict(text=title, font=dict(size=14)), tickfont=dict(size=12))
                 for c, title in zip("xyz", short, strict=True)}
        fig.update_layout(scene=dict(scene, aspectmode="cube"))
    return fig
