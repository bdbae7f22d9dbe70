"""A shared link straight to a page, as the very first request of a freshly started server.

Regression test: with a folder named pages/, Streamlit starts in its legacy multipage mode, and the
first request to /<page> used to run that page file alone (no sidebar, no wide layout, the legacy
menu). ui.frame.ensure_frame() now reruns it inside app.py's frame.
"""

from __future__ import annotations

import pytest
from conftest import start_server, stop_server, wait_for_app


@pytest.fixture
def fresh_server(artifacts_dir):
    proc, url = start_server()
    yield url
    stop_server(proc)


def test_first_request_to_a_page_link_gets_the_whole_app(fresh_server, page, artifacts_dir):
    page.goto(f"{fresh_server}/gradient_flow?preset=vanishing-tanh")
    wait_for_app(page)
    page.get_by_role("heading", name="Gradient flow").wait_for()
    page.get_by_role("button", name="↺ Reset").first.wait_for()  # the control strip above every page
    sidebar = page.locator("[data-testid=stSidebar]")
    assert sidebar.get_by_role("combobox", name="Preset").input_value() == "Vanishing gradients (tanh RNN)"
    nav = page.locator("[data-testid=stSidebarNav]")
    assert nav.get_by_text("Playground").count() == 1 and nav.get_by_text("app").count() == 0  # not the legacy menu
    page.wait_for_selector("[data-testid=stPlotlyChart]")
    assert page.locator("[data-testid=stException]").count() == 0
    page.screenshot(path=str(artifacts_dir / "direct-link-gradient-flow.png"))
