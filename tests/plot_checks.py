"""Checks shared by the tests of rnnviz.plots (tests/test_plots_*.py) and of the Learn page's figures."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go

from rnnviz import plots

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
