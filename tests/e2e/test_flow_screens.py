"""Gradient flow in a real browser at 1280x720 on a task with a loss at every step (copy) and on one with
the loss on the last step only (adding): the first shows the measured transport and no Pascanu bound on
||dL/dh_t||, the second the bound labelled with what it bounds; each verdict reads the transport.
Screenshots: tests/e2e/artifacts/flow-copy.png and flow-adding.png."""

import pytest

from tests.e2e.conftest import wait_for_app

SETTINGS = "seq_len=30&hidden_size=32&batch_size=8"


@pytest.mark.parametrize("task, expect, absent", [
    ("copy", "Transport back through time", "bound on ||dL/dh_t||"),
    ("adding", "bound on ||dL/dh_t|| from the last-step loss", None),
])
def test_gradient_flow_shows_a_true_bound_or_the_transport(browser, server_url, artifacts_dir, task, expect, absent):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server_url}/gradient_flow?task={task}&{SETTINGS}")
        wait_for_app(page)
        page.wait_for_selector("text=measured transport")  # the verdict reads the transport
        page.locator(".js-plotly-plot").first.wait_for()
        charts = page.locator(".js-plotly-plot")
        charts.first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(800)
        page.screenshot(path=str(artifacts_dir / f"flow-{task}.png"))  # the gradient chart and the verdict
        charts.nth(1).evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(800)
        page.screenshot(path=str(artifacts_dir / f"flow-{task}-transport.png"))
        legends = " ".join(page.locator(".legendtext").all_text_contents())
        titles = " ".join(page.locator(".gtitle").all_text_contents())
        assert expect in legends + " " + titles
        if absent:
            assert absent not in legends
        assert "tanh RNN:" in page.locator("[data-testid=stMarkdown]").all_inner_texts().__str__()
    finally:
        context.close()
