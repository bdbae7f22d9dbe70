"""The phase diagram: the gradient ratio ||dL/dh_1|| / ||dL/dh_T|| over a grid of two config fields.

Cells sit on integer coordinates (column j, row i), so every cell is the same size whatever the
spacing of its values (linear or log) and a click lands on exactly one cell; the axis labels and the
hover say the real values. A theory line at fractional row r lies between rows floor(r) and
floor(r) + 1, in proportion: linear interpolation of the measured quantity between those rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from rnnviz.errors import RnnvizError
from rnnviz.plots.style import _NEUTRAL, BASE_FONT_SIZE, _styled

#: The invisible markers that carry each cell's numbers (hover) and make it clickable.
PICK_TRACE = "grid cells"
#: The marker of the sidebar's own run.
LIVE_TRACE = "your run"
#: Ticks per axis at most (every k-th value is labelled beyond that).
MAX_AXIS_TICKS = 12
#: Line styles of the theory lines, by TheoryLine.name.
LINE_DASH = {"sigma": "solid", "radius": "dash"}


def _ticks(values: Sequence, max_ticks: int = MAX_AXIS_TICKS) -> dict:
    n = len(values)
    stride = max(1, math.ceil(n / max_ticks))
    idx = list(range(0, n, stride))
    return dict(tickmode="array", tickvals=idx, ticktext=[_value_text(values[i]) for i in idx],
                range=[-0.5, n - 0.5])


def _value_text(v) -> str:
    return str(int(v)) if isinstance(v, int | np.integer) else f"{float(v):.4g}"


def _colour_range(z: np.ndarray) -> tuple[int, int, list[int]]:
    """Whole decades around ratio 1 (log 0): at least one decade each side, ticks at most 9."""
    finite = z[np.isfinite(z)]
    lo = min(-1, math.floor(float(finite.min()) + 1e-3)) if finite.size else -1
    hi = max(1, math.ceil(float(finite.max()) - 1e-3)) if finite.size else 1
    stride = max(1, math.ceil((hi - lo) / 8))
    ticks = {*range(0, hi + 1, stride), *range(0, lo - 1, -stride)}
    for end in (lo, hi):  # label each end too, unless its side is too thin to hold a second label
        if abs(end) / (hi - lo) >= 0.08 and all(abs(end - t) >= stride / 2 for t in ticks):
            ticks.add(end)
    return lo, hi, sorted(ticks)


def diverging_scale(zmin: float, zmax: float) -> list:
    """RdBu reversed with its white exactly at z = 0 (ratio 1) however uneven the range: blue from
    zmin to 0 (vanishing), red from 0 to zmax (exploding), each side with the palette's full range."""
    palette = list(reversed(plotly.colors.diverging.RdBu))  # blue .. white (middle) .. red, 11 colours
    mid = len(palette) // 2
    p = -zmin / (zmax - zmin)
    blue = [(p * i / mid, palette[i]) for i in range(mid + 1)]
    red = [(p + (1 - p) * i / mid, palette[mid + i]) for i in range(1, mid + 1)]
    return [[float(v), c] for v, c in blue + red]


def _ratio_text(v: float) -> str:
    if not math.isfinite(v):
        return "no value"
    return "0 (no gradient reached h_1)" if v == 0 else f"{v:.3g}"


def phase_heatmap(ratio, y_values: Sequence, x_values: Sequence, y_label: str, x_label: str, *,
                  ratio_min=None, ratio_max=None, sigma_max=None, spectral_radius=None, diverged=None,
                  lines: Sequence = (), live: tuple[float, float] | None = None,
                  when: str = "at initialisation", seeds: int = 1,
                  height: int = 400) -> go.Figure:
    """Colour = log10 of the gradient ratio (rows: ``y_values``, columns: ``x_values``): white at ratio 1,
    blue below (vanishing), red above (exploding), each side spanning the data's decades (``diverging_scale``).

    ``ratio`` and the optional per-cell arrays are (len(y_values), len(x_values)). Cells whose ratio is
    0 (no gradient reached h_1: it underflowed on the way back, or saturated/dead units stopped it), inf or nan
    are left blank and counted in a note.
    ``lines``: objects with ``name`` ("sigma" | "radius"), ``label`` and ``rows`` (fractional row per
    column, nan where there is no crossing), drawn through the column centres.
    """
    r = np.array(ratio, dtype=np.float64)
    ny, nx = len(y_values), len(x_values)
    if r.shape != (ny, nx):
        raise RnnvizError(f"ratio must have shape (rows, columns) = ({ny}, {nx}), got {r.shape}")
    extra = {}
    for name, a in (("ratio_min", ratio_min), ("ratio_max", ratio_max), ("sigma_max", sigma_max),
                    ("spectral_radius", spectral_radius), ("diverged", diverged)):
        a = np.full((ny, nx), np.nan) if a is None else np.array(a, dtype=np.float64)
        if a.shape != (ny, nx):
            raise RnnvizError(f"{name} must have shape ({ny}, {nx}), got {a.shape}")
        extra[name] = a
    ok = np.isfinite(r) & (r > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(ok, np.log10(np.where(ok, r, 1.0)), np.nan)
    zmin, zmax, ticks = _colour_range(z)
    fig = go.Figure(go.Heatmap(
        x=np.arange(nx), y=np.arange(ny), z=z, zmin=zmin, zmax=zmax, colorscale=diverging_scale(zmin, zmax),
        hoverinfo="skip",
        colorbar=dict(title=dict(text="ratio (log)", side="right"), tickvals=ticks,
                      ticktext=["1" if t == 0 else f"1e{t}" for t in ticks]),
        name="gradient ratio", showscale=True))
    _pick_markers(fig, r, y_values, x_values, y_label, x_label, extra, seeds)
    for line in lines:
        _theory_line(fig, line, nx)
    if live is not None and all(math.isfinite(v) for v in live):
        fig.add_trace(go.Scatter(x=[live[1]], y=[live[0]], mode="markers", name=LIVE_TRACE, hoverinfo="skip",
                                 marker=dict(symbol="circle-open", size=20, color="black", line=dict(width=3))))
    median = f"median of {seeds} seeds" if seeds > 1 else "one seed"
    _styled(fig, "phase_heatmap", f"Gradient ratio ||dL/dh_1|| / ||dL/dh_T|| {when} ({median}; log colour)",
            x_label, y_label, height=height)
    fig.update_layout(xaxis=_ticks(x_values), yaxis=_ticks(y_values), clickmode="event+select", dragmode=False,
                      hoverdistance=-1,
                      legend=dict(y=-0.02, font=dict(size=BASE_FONT_SIZE - 2)))
    blank = int((~ok).sum())
    if blank:
        zeros, div = int((r == 0).sum()), int((extra["diverged"] > 0).sum())
        words = [f"{zeros} with ratio 0 (no gradient reached h_1)"] if zeros else []
        words += [f"{div} with a diverged run"] if div else []
        rest = blank - zeros - (div if div else 0)
        words += [f"{rest} without a value"] if rest > 0 else []
        fig.add_annotation(text=f"blank cells: {', '.join(words)}", xref="paper", yref="paper", x=0.0, y=1.0,
                           xanchor="left", yanchor="bottom", showarrow=False, name="blank-note",
                           font=dict(size=BASE_FONT_SIZE - 2, color=_NEUTRAL))
    return fig


def _pick_markers(fig: go.Figure, r, y_values, x_values, y_label, x_label, extra, seeds) -> None:
    """One invisible square marker per cell: the hover text, and the point a click selects."""
    ny, nx = r.shape
    jj, ii = np.meshgrid(np.arange(nx), np.arange(ny))
    text = []
    for i, j in zip(ii.ravel(), jj.ravel(), strict=True):
        lines = [f"{y_label} = {_value_text(y_values[i])}, {x_label} = {_value_text(x_values[j])}",
                 f"ratio = {_ratio_text(r[i, j])}"]
        lo, hi = extra["ratio_min"][i, j], extra["ratio_max"][i, j]
        if seeds > 1 and math.isfinite(lo) and math.isfinite(hi):
            lines.append(f"seeds: {_ratio_text(lo)} to {_ratio_text(hi)}")
        s, rad = extra["sigma_max"][i, j], extra["spectral_radius"][i, j]
        if math.isfinite(s):
            lines.append(f"σ_max(W_hh) = {s:.3g}, ρ = {rad:.3g}")
        if extra["diverged"][i, j] > 0:
            lines.append(f"{int(extra['diverged'][i, j])} run(s) diverged")
        lines.append("click: open in the Playground")
        text.append("<br>".join(lines))
    fig.add_trace(go.Scatter(
        x=jj.ravel(), y=ii.ravel(), mode="markers", name=PICK_TRACE, showlegend=False, text=text,
        customdata=np.stack([ii.ravel(), jj.ravel()], axis=1),
        marker=dict(symbol="square", size=12, opacity=0.0, color=_NEUTRAL),
        hovertemplate="%{text}<extra></extra>"))


def _theory_line(fig: go.Figure, line, nx: int) -> None:
    rows = np.asarray(line.rows, dtype=np.float64)
    if rows.shape != (nx,):
        raise RnnvizError(f"a theory line needs one row per column ({nx}), got shape {rows.shape}")
    # Through the column centres, extended to the outer edges of the first and last cells.
    x = np.concatenate([[-0.5], np.arange(nx), [nx - 0.5]])
    y = np.concatenate([rows[:1], rows, rows[-1:]])
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=line.label, connectgaps=False,
                             line=dict(color="black", width=3, dash=LINE_DASH.get(line.name, "dot")),
                             hoverinfo="skip"))
