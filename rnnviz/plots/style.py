"""The shared look of every figure: fonts, colour-blind-safe colours, the template, the styling step,
data cleaning (non-finite values become gaps) and log-axis helpers.

Conventions (for every module of :mod:`rnnviz.plots`):
- Time is 1-based on every axis (t = 1 .. T, T = L), as in the lessons and verdicts.
- Non-finite values (a diverged run) never raise: they are masked to NaN (a gap) and the
  figure says "diverged: values not finite". Values <= 0 are also gaps on log axes.
- Heatmaps go to plotly as float32 arrays (sent as compact base64, no Python lists);
  curves as float64 so tiny gradient norms (1e-40) survive on log axes.
- Figures are bounded whatever the run: a heatmap keeps at most ``MAX_CELLS`` cells (evenly spaced
  rows/columns, labelled with their real steps, timesteps and units: :func:`_thin_grid`), a curve at
  most ``MAX_CURVE_POINTS`` points (the lowest and highest point of each bucket, so spikes survive:
  :func:`_thin_curve`). A float32 cell is ~5.3 bytes in the message, so no chart is over a few MB.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from rnnviz import cells
from rnnviz.errors import RnnvizError

# --------------------------------------------------------------------------------------
# Look: fonts, colours, names
# --------------------------------------------------------------------------------------

BASE_FONT_SIZE = 18  # px; readable from the back of a classroom
TITLE_FONT_SIZE = 22

# Per-cell colours and words come from the one cell table (rnnviz.cells); the Okabe-Ito palette.
CELL_COLOURS: dict[str, str] = {name: c.colour for name, c in cells.CELLS.items()}
CELL_LABELS: dict[str, str] = {name: c.label for name, c in cells.CELLS.items()}
GATE_COLOURS: dict[str, str] = {
    "i": "#E69F00",
    "f": "#0072B2",
    "g": "#009E73",
    "o": "#CC79A7",
    "r": "#D55E00",
    "z": "#56B4E9",
    "n": "#009E73",
}
#: Gates squashed by tanh (range -1..1), over every cell; all the others are sigmoids (range 0..1).
TANH_GATES: frozenset[str] = frozenset().union(*(c.tanh_gates for c in cells.CELLS.values()))
#: "forget gate f", "candidate g": the gate's words (``cells.Cell.gate_labels``) and its letter.
GATE_TITLES: dict[str, str] = {
    g: f"{words} {g}" if g in c.tanh_gates else f"{words} gate {g}"
    for c in cells.CELLS.values()
    for g, words in c.gate_labels.items()
}

#: px above the title: the height of Plotly's toolbar (modebar), so on hover it never covers a title.
TOOLBAR_MARGIN = 34

_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_NEUTRAL = "#555555"
_LIGHT = "#BBBBBB"
_AXIS = dict(
    showgrid=True,
    gridcolor="#E5E5E5",
    zeroline=False,
    showline=True,
    linecolor="#444444",
    ticks="outside",
    automargin=True,
    exponentformat="e",  # 1e-6, as in the verdict lines
)
_TEMPLATE = go.layout.Template(
    layout=dict(
        plot_bgcolor="white",
        paper_bgcolor="white",
        colorway=list(_PALETTE),
        xaxis=_AXIS,
        yaxis=_AXIS,
        hoverlabel=dict(font_size=BASE_FONT_SIZE),
        font=dict(size=BASE_FONT_SIZE),
        # The title hangs TOOLBAR_MARGIN below the top, so the toolbar (modebar, top right, shown on hover)
        # never covers it; _styled sizes the top margin for all its lines (_top_margin), so a subtitle never
        # meets the plot or a y-axis title.
        title=dict(x=0.0, xanchor="left", xref="container", y=1.0, yanchor="top", yref="container",
                   pad=dict(t=TOOLBAR_MARGIN), font_size=TITLE_FONT_SIZE),
        margin=dict(l=20, r=20, t=TOOLBAR_MARGIN, b=20),
        hovermode="closest",
        # Legend in rows below the x-axis title: never on top of the title, colour bars or a right-hand
        # axis, however many entries a half-width chart has to wrap.
        legend=dict(orientation="h", x=0.0, xanchor="left", yref="container", y=0.0, yanchor="bottom"),
    )
)
NOT_FINITE_NOTE = "diverged: values not finite"


#: Words in a free label that name a cell, checked in this order ("IRNN" is the relu RNN of Le et al. 2015).
_CELL_WORDS = (("lstm", "lstm"), ("gru", "gru"), ("irnn", "rnn_relu"), ("relu", "rnn_relu"), ("rnn", "rnn_tanh"))


def cell_of_label(label: str) -> str | None:
    """The cell a label names: a cell name ("lstm"), a cell's label ("tanh RNN") or a free label
    containing one of its words ("LSTM, seed 3", "IRNN"); None when it names no cell."""
    key = label.lower()
    for name, c in cells.CELLS.items():
        if key in (name, c.label.lower()):
            return name
    return next((name for word, name in _CELL_WORDS if word in key), None)


#: The named runs of rnnviz/branches.py by slot (0: the original, 1..4: branches): colour and dash, so an
#: overlaid run keeps its look whichever run is shown. Okabe-Ito, colour-blind safe (tests/test_colour_blind.py).
RUN_COLOURS = ("#0072B2", "#E69F00", "#CC79A7", "#56B4E9", "#000000")
RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def run_style(slot: int) -> tuple[str, str]:
    """(colour, dash) of the run in ``slot``."""
    return RUN_COLOURS[slot % len(RUN_COLOURS)], RUN_DASHES[slot % len(RUN_DASHES)]


def cell_colour(label: str, index: int = 0) -> str:
    """Colour of the cell a label names (:func:`cell_of_label`); else the ``index``-th palette colour."""
    name = cell_of_label(label)
    return CELL_COLOURS[name] if name else _PALETTE[index % len(_PALETTE)]


def gate_colour(block: str) -> str:
    """Colour of a gate ("f") or of a parameter block named after it ("W_hf", "b_iz")."""
    return GATE_COLOURS.get(block[-1:], _NEUTRAL)  # "W_hh" (vanilla RNN) ends in h: neutral grey


# --------------------------------------------------------------------------------------
# Shared helpers: layout, data cleaning, annotations
# --------------------------------------------------------------------------------------


def _styled(
    fig: go.Figure,
    kind: str,
    title: str,
    x_title: str | None = None,
    y_title: str | None = None,
    height: int = 480,
    not_finite: bool = False,
    note: str = NOT_FINITE_NOTE,
) -> go.Figure:
    """The common look (the template) plus title, axis titles, height and ``uirevision=kind``; when
    ``not_finite`` (the data had inf/nan, drawn as gaps) also the red banner saying so (``note``).

    One ``update_layout`` call: plotly validates every call, and figures redraw twice a second."""
    layout = dict(
        template=_TEMPLATE,
        font=dict(size=BASE_FONT_SIZE),
        title=dict(text=title),
        margin=dict(t=_top_margin(title)),
        uirevision=kind,
        height=height,
    )
    if x_title is not None:
        layout["xaxis"] = dict(title=dict(text=x_title))
    if y_title is not None:
        layout["yaxis"] = dict(title=dict(text=y_title))
    fig.update_layout(layout)
    if not_finite:
        _note_not_finite(fig, note)
    return fig


#: px a title line takes: the title font's line, and a ``<sub>`` subtitle line's.
_TITLE_LINE, _SUB_LINE = 30, 24


def _top_margin(title: str) -> int:
    """Top margin for ``title``: its lines (a ``<sub>`` line is smaller) and their gap to the plot, plus
    ``TOOLBAR_MARGIN`` above them, so the toolbar shown on hover stays above the title."""
    lines = title.split("<br>") if title else []
    height = sum(_SUB_LINE if line.lstrip().startswith("<sub>") else _TITLE_LINE for line in lines)
    return TOOLBAR_MARGIN + height + 10


def _curve(values, name: str = "values", log: bool = False) -> tuple[np.ndarray, bool]:
    """float64 1-D copy with non-finite (and, on log axes, non-positive) entries set to NaN.

    Returns (clean, had_non_finite)."""
    a = np.array(values, dtype=np.float64)
    if a.ndim != 1:
        raise RnnvizError(f"{name} must be 1-D, got shape {a.shape}")
    bad = ~np.isfinite(a)
    a[bad] = np.nan
    if log:
        a[a <= 0] = np.nan
    return a, bool(bad.any())


def _grid(values, name: str) -> tuple[np.ndarray, bool]:
    """float32 2-D copy with non-finite entries set to NaN; returns (clean, had_non_finite)."""
    a = np.array(values, dtype=np.float32)
    if a.ndim != 2:
        raise RnnvizError(f"{name} must be 2-D, got shape {a.shape}")
    bad = ~np.isfinite(a)
    a[bad] = np.nan
    return a, bool(bad.any())


#: Heatmap cells per figure (~1 MB of base64 float32): a 1000-timestep x 256-unit grid is 256,000.
MAX_CELLS = 200_000
#: Rows a thinned heatmap keeps at least (before it thins its columns).
MIN_ROWS = 100
#: Points per curve: 10x the pixels of a wide screen; a 100,000-step loss curve is thinned to this.
MAX_CURVE_POINTS = 20_000


def _even_index(n: int, keep: int) -> np.ndarray:
    """``keep`` evenly spaced indices of ``0 .. n-1``, first and last included (all when keep >= n)."""
    if keep >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(2, keep)).round().astype(np.int64))


def _thin_grid(z: np.ndarray, x, y, max_cells: int = MAX_CELLS) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """At most ``max_cells`` cells of the heatmap ``z`` (len(y) rows x len(x) columns): evenly spaced rows
    and columns (first and last kept), with their own x/y labels, so every cell shown is a real value at
    a real coordinate. Columns are the timesteps in every rnnviz heatmap (the axis the lessons read), so
    rows (training steps, units) are thinned first, down to ``MIN_ROWS``, and columns only then.

    Returns ``(z, x, y, note)``; ``note`` says what is shown ("evenly spaced 200 of 5,000 rows shown"),
    "" when nothing was thinned.
    """
    x, y = np.asarray(x), np.asarray(y)
    rows, cols = z.shape
    if rows * cols <= max_cells:
        return z, x, y, ""
    keep_r = min(rows, max(MIN_ROWS, max_cells // cols))
    keep_c = min(cols, max(2, max_cells // keep_r))
    ri, ci = _even_index(rows, keep_r), _even_index(cols, keep_c)
    parts = [f"{len(ri):,} of {rows:,} rows"] if len(ri) < rows else []
    parts += [f"{len(ci):,} of {cols:,} columns"] if len(ci) < cols else []
    return z[np.ix_(ri, ci)], x[ci], y[ri], "evenly spaced " + " and ".join(parts) + " shown"


def _thin_curve(x, y, max_points: int = MAX_CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``max_points`` points of the curve (x, y): in each of ``max_points // 2`` buckets of
    consecutive points, its lowest and its highest (NaN gaps kept as the bucket's first point when it
    has nothing else), plus the first and last point. Every point kept is a real (x, y) of the curve."""
    x, y = np.asarray(x), np.asarray(y, dtype=np.float64)
    n = len(y)
    if n <= max_points:
        return x, y
    buckets = max(1, max_points // 2)
    size = -(-n // buckets)
    pad = np.full(buckets * size, np.nan)
    pad[:n] = y
    grid = pad.reshape(buckets, size)
    with np.errstate(invalid="ignore"):
        lo = np.where(np.isnan(grid), np.inf, grid).argmin(axis=1)
        hi = np.where(np.isnan(grid), -np.inf, grid).argmax(axis=1)
    base = np.arange(buckets) * size
    idx = np.unique(np.concatenate([base + lo, base + hi, base, [0, n - 1]]))
    idx = idx[idx < n]
    return x[idx], y[idx]


def _same_length(**arrays) -> None:
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        raise RnnvizError(f"arrays must have the same length, got {lengths}")


def _line_mode(steps) -> str:
    """Lines, plus markers while there are too few points for a line to show (e.g. only step 0)."""
    return "lines" if len(steps) > 2 else "lines+markers"


def _timesteps(L: int) -> np.ndarray:
    return np.arange(1, L + 1, dtype=np.int32)


def _note_not_finite(fig: go.Figure, text: str = NOT_FINITE_NOTE) -> None:
    """Red banner inside the plot area, top left: the data had inf/nan that are not drawn."""
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0.01,
        y=0.99,
        xanchor="left",
        yanchor="top",
        showarrow=False,
        font=dict(color="#B00020", size=BASE_FONT_SIZE),
        bgcolor="rgba(255,255,255,0.85)",
        bordercolor="#B00020",
        borderwidth=1,
        name="not-finite",
    )


def _log_y(fig: go.Figure, max_ticks: int = 8, *, axis: str = "y") -> None:
    """Log y axis fitted to the data, labelled without crowding: one label per decade (every k-th
    decade over more than ``max_ticks`` of them), or, when the data span less than two whole decades,
    at 1, 2, 5 x 10^k (never a lone "1e-3", never Plotly's crowded minor labels).

    ``axis`` names the y axis ("y", "y2", ...) whose traces are read and which is set.
    """
    ys = [np.asarray(t.y, dtype=np.float64) for t in fig.data
          if t.y is not None and len(t.y) and (t.yaxis or "y") == axis]
    y = np.concatenate(ys) if ys else np.empty(0)
    y = y[np.isfinite(y) & (y > 0)]
    name = "yaxis" if axis == "y" else "yaxis" + axis[1:]
    settings: dict = dict(type="log", minor=dict(showgrid=False, ticks=""))
    if y.size:
        lo, hi = math.log10(float(y.min())), math.log10(float(y.max()))
        pad = max(0.25, 0.05 * (hi - lo))  # at least half a decade shown: two labels fit
        settings.update(range=[lo - pad, hi + pad], **_log_ticks(lo - pad, hi + pad, max_ticks))
    fig.update_layout({name: settings})


#: Decades between labels on a log axis, smallest first: labels sit on multiples of the stride (1e-12,
#: 1e-10, ... or 1e-300, 1e-250, ...), so every range up to the whole float64 span gets a few round labels.
_DECADE_STRIDES = (1, 2, 3, 5, 10, 20, 25, 50, 100, 200)


def _log_ticks(lo: float, hi: float, max_ticks: int = 8) -> dict:
    """Tick values and labels for a log axis over [10^lo, 10^hi]: whole decades when at least three lie
    inside (on multiples of the smallest stride of ``_DECADE_STRIDES`` that keeps at most ``max_ticks``
    inside, so 13 decades are labelled 1e-12, 1e-10, ... and 300 decades 1e-300, 1e-250, ...), else
    1-2-5 x 10^k (1-3 x 10^k when 1-2-5 would crowd; 1..9 x 10^k for a narrow span). Decade values a
    little beyond the range are listed too, so a caller that widens the range still gets labels there."""
    first, last = math.ceil(lo), math.floor(hi)
    decades = range(-320, 308)  # 10.0**k is a finite, non-zero float64 (a bound may reach 1e308)
    if last - first >= 2:
        step = next((s for s in _DECADE_STRIDES if last // s - (first - 1) // s <= max_ticks), _DECADE_STRIDES[-1])
        values = [10.0**k for k in range(first - 2 * step, last + 2 * step + 1) if k % step == 0 and k in decades]
    else:
        def inside(mantissas) -> list[float]:
            return [m * 10.0**k for k in range(math.floor(lo), math.ceil(hi) + 1) if k in decades
                    for m in mantissas if lo <= math.log10(m * 10.0**k) <= hi]

        for mantissas in ((1, 2, 5), (1, 2, 3, 5, 7), range(1, 10)):
            values = inside(mantissas)
            if len(values) >= 2:
                break
        if len(values) > max_ticks - 2:  # almost three decades: 1-2-5 would crowd a half-width chart
            values = inside((1, 3))
    return dict(tickmode="array", tickvals=values, ticktext=[_tick_label(v) for v in values])


def _tick_label(v: float) -> str:
    """0.01 .. 1000 as plain numbers, others as 1e-6 / 2e+12 (as the verdict lines write them)."""
    if 1e-2 <= v < 1e4:
        return f"{v:g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _step_axis(fig: go.Figure, *steps) -> None:
    """A training-step x axis that stays sensible at step 0: with a single step shown the axis spans
    steps 0..10 (Plotly would centre the lone point on -1..1)."""
    lo, hi = _span(*steps)
    if hi - lo < 1:
        fig.update_xaxes(range=[min(lo, 0) - 0.5, max(hi, 0) + 10])


def _hline_trace(fig: go.Figure, x0: float, x1: float, y: float, name: str, colour: str = _NEUTRAL) -> None:
    """A dashed horizontal reference line as a trace (so it has a legend entry and hover)."""
    fig.add_trace(
        go.Scatter(
            x=[x0, x1],
            y=[y, y],
            mode="lines",
            name=name,
            line=dict(color=colour, dash="dash", width=2),
            hovertemplate=f"{name}<extra></extra>",
        )
    )


def _circle_trace(radius: float, name: str) -> go.Scatter:
    """The dotted circle |z| = ``radius`` in the plane (no hover): the unit circle, the clipping radius."""
    angle = np.linspace(0, 2 * np.pi, 121)
    return go.Scatter(
        x=np.round(radius * np.cos(angle), 4),
        y=np.round(radius * np.sin(angle), 4),
        mode="lines",
        name=name,
        line=dict(color=_NEUTRAL, dash="dot", width=2),
        hoverinfo="skip",
    )


def _line(x, y, name: str, colour: str, hover: str, *, width: int = 3, dash: str = "solid", mode: str = "lines",
          **kwargs) -> go.Scatter:
    """One curve in the house style: ``line`` of ``colour``/``width``/``dash`` and the hover text ``hover``
    (a plotly hovertemplate); ``kwargs`` go to ``go.Scatter`` (``yaxis``, ``legendgroup``, ``marker`` ...).
    A curve longer than ``MAX_CURVE_POINTS`` is thinned (:func:`_thin_curve`)."""
    if x is not None and y is not None and np.ndim(y) == 1 and len(y) > MAX_CURVE_POINTS:
        x, y = _thin_curve(x, y)
    return go.Scatter(x=x, y=y, mode=mode, name=name, line=dict(color=colour, dash=dash, width=width),
                      hovertemplate=hover, **kwargs)


def _span(*xs: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite x over several arrays (0, 1 when there is none)."""
    x = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in xs] + [np.empty(0)])
    x = x[np.isfinite(x)]
    return (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------


def figure_to_html(fig: go.Figure) -> str:
    """Standalone HTML (plotly.js inlined, works offline) for the download buttons."""
    return fig.to_html(include_plotlyjs=True, full_html=True)
