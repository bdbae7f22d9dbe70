"""ui.widgets.chart: the Plotly config every chart is drawn with."""

import plotly.graph_objects as go

from ui import widgets


def test_chart_passes_a_config_where_the_wheel_scrolls_the_page(monkeypatch):
    """A newcomer scrolled the page over a chart and it zoomed instead: scrollZoom is off for every chart
    drawn through widgets.chart (the phase page passes the same PLOTLY_CONFIG)."""
    calls = []
    monkeypatch.setattr(widgets.st, "plotly_chart", lambda fig, **kw: calls.append(kw))
    monkeypatch.setattr(widgets.state, "presenting", lambda: False)
    widgets.chart(go.Figure(go.Scatter(x=[0, 1], y=[1, 2])), "test.chart")
    assert len(calls) == 1
    config = calls[0]["config"]
    assert config["scrollZoom"] is False
    assert config["displaylogo"] is False and config is widgets.PLOTLY_CONFIG
