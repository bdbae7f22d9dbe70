"""Which runs learn: the success rate of training sweeps against sequence length (Pascanu et al. 2013)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.plots.style import _line, _styled, cell_colour

#: (symbol, size) per line: equal rates draw the lines on top of each other, so each line's markers differ in
#: shape and size (an open square around a diamond around a dot) and every cell stays visible.
MARKERS = (("circle", 10), ("square-open", 20), ("diamond", 13), ("triangle-up-open", 18))


def success_vs_length(lengths, rates: Mapping[str, object], seeds: int, subtitle: str = "") -> go.Figure:
    """Success rate (fraction of ``seeds`` runs that learned) against sequence length T, one line per cell.

    ``lengths`` (n,) and ``rates[cell] (n,)`` in 0..1, ``cell`` a name in ``rnnviz.cells.CELLS`` (coloured and
    dashed as everywhere) or any label. A rate is k/seeds, so the hover says "k of seeds"; T is on a log axis
    (lengths from 10 to 1000 spread evenly). ``subtitle``: what success means and how long each run trained.
    """
    x = np.asarray(lengths, dtype=np.int64)
    if x.ndim != 1 or not x.size:
        raise RnnvizError(f"lengths must be a non-empty list of sequence lengths, got shape {x.shape}")
    fig = go.Figure()
    for index, (cell, rate) in enumerate(rates.items()):
        y = np.asarray(rate, dtype=np.float64)
        if y.shape != x.shape:
            raise RnnvizError(f"rates[{cell!r}] must have one rate per length ({x.size}), got shape {y.shape}")
        row = cells.CELLS.get(cell)
        label = row.label if row else cell
        k = np.rint(y * seeds).astype(int)
        fig.add_trace(_line(x, y, label, row.colour if row else cell_colour(label, index),
                            f"{label}<br>T = %{{x}}<br>%{{customdata}} of {seeds} seeds learned<extra></extra>",
                            dash=row.dash if row else "solid", mode="lines+markers", customdata=k,
                            marker=dict(size=MARKERS[index % len(MARKERS)][1],
                                        symbol=MARKERS[index % len(MARKERS)][0])))
    title = f"Success rate against sequence length ({seeds} seeds per point)"
    _styled(fig, "success_vs_length", title, "sequence length T (log scale)", "success rate (fraction of seeds)")
    if subtitle:  # plotly's own subtitle: a "<br><sub>" line pushed the title's first line off the top
        fig.update_layout(title_subtitle_text=subtitle, title_subtitle_font_size=14, margin_t=100)
    fig.update_xaxes(type="log", tickvals=x.tolist(), ticktext=[str(v) for v in x])
    fig.update_yaxes(range=[-0.05, 1.05], tickvals=[0, 0.25, 0.5, 0.75, 1])
    return fig
