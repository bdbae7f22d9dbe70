"""Clicking a cell of the Hidden-states heatmap opens that unit's equations (a real browser: AppTest cannot
click a Plotly chart, and Plotly reports no selection on a heatmap itself, hence the click layer)."""

from __future__ import annotations

from conftest import wait_for_app

QUERY = "cell=lstm&seq_len=20&hidden_size=8&batch_size=4"

#: Page coordinates of data point (t, unit) on the heatmap's axes (x2, y2: the input strip is row 1).
_POINT_JS = """([t, unit]) => {
    const gd = document.querySelector('.st-key-hidden-heatmap .js-plotly-plot');
    const fl = gd._fullLayout, box = gd.getBoundingClientRect();
    return [box.left + fl.xaxis2._offset + fl.xaxis2.l2p(t), box.top + fl.yaxis2._offset + fl.yaxis2.l2p(unit)];
}"""


def test_clicking_a_heatmap_cell_opens_its_equations(page, server_url):
    page.goto(f"{server_url}/hidden_states?{QUERY}")
    wait_for_app(page)
    plot = page.locator(".st-key-hidden-heatmap .js-plotly-plot")
    plot.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('.st-key-hidden-heatmap .js-plotly-plot')?._fullLayout")
    x, y = page.evaluate(_POINT_JS, [5, 3])
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.locator(".st-key-hidden-cell-t input").wait_for()
    wait_for_app(page)
    assert page.locator(".st-key-hidden-cell-t input").input_value() == "5"
    assert page.locator(".st-key-hidden-cell-unit input").input_value() == "3"
    page.get_by_text("Unit 3 at t=5 of probe sequence #1").wait_for()
    assert page.locator(".katex").count() >= 6  # i f g o, c_t, h_t
