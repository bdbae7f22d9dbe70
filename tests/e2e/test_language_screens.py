"""Language, forecasting and saliency in a real browser at 1280x720 and 1920x1080: the page's main chart
stays above the fold, the new views sit below it; the probe text is coloured character by character; the
saliency strip marks the adding problem's two numbers and states their share. The coloured text is shown after
30 training steps, coloured by the unit the finder ranks first for vowels.
Screenshots: tests/e2e/artifacts/lang-*.png."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import step_counter, wait_for_app

SIZES = [(1280, 720), (1920, 1080)]
SETTINGS = "seq_len=50&hidden_size=32&batch_size=8"


def open_page(browser, server_url, path, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server_url}/{path}")
    wait_for_app(page)
    page.locator(".js-plotly-plot").first.wait_for()
    return context, page


def below_the_main_chart(page, view):
    """The new view starts below the page's first (key) chart: it never pushes that chart down."""
    main = page.locator(".js-plotly-plot").first.bounding_box()
    box = view.bounding_box()
    assert box["y"] >= main["y"] + main["height"] - 1, (main, box)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_hidden_states_colours_the_probe_text_by_a_unit(browser, server_url, artifacts_dir, size):
    context, page = open_page(browser, server_url, f"hidden_states?task=charlm&cell=lstm&{SETTINGS}", size)
    try:
        below_the_main_chart(page, page.get_by_role("tab", name="Find units that follow…"))
        for target in (10, 20, 30):  # a little training, so the units have something to follow
            page.get_by_role("button", name="×10").click()
            deadline = time.monotonic() + 60
            while step_counter(page) != target and time.monotonic() < deadline:
                page.wait_for_timeout(200)
            assert step_counter(page) == target
        wait_for_app(page)
        best = page.get_by_role("button", name=re.compile(r"^Colour the text by unit \d+$"))
        unit = int(best.inner_text().rsplit(" ", 1)[1])
        best.click()
        wait_for_app(page)
        page.get_by_role("tab", name="Text coloured by a unit").click()
        # the click's rerun may still be on its way on a loaded machine: wait for the box to show the unit
        expect(page.get_by_label(re.compile(r"^Unit \(1\.\.32\)"))).to_have_value(str(unit), timeout=60_000)
        text = page.locator(".rnnviz-coloured-text").first
        text.wait_for()
        assert text.locator("span").count() == 50  # one span per probe character
        text.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(600)
        page.screenshot(path=str(artifacts_dir / f"lang-coloured-text-{size[0]}x{size[1]}.png"))
        page.get_by_role("tab", name="Find units that follow…").click()
        page.get_by_text("Chance level").first.scroll_into_view_if_needed()
        page.wait_for_timeout(600)
        page.screenshot(path=str(artifacts_dir / f"lang-unit-finder-{size[0]}x{size[1]}.png"))
    finally:
        context.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_gradient_flow_saliency_marks_the_two_numbers(browser, server_url, artifacts_dir, size):
    context, page = open_page(browser, server_url, f"gradient_flow?task=adding&cell=lstm&{SETTINGS}", size)
    try:
        line = page.get_by_text("falls on the 2 marked numbers").first
        line.wait_for()
        chart = page.locator(".js-plotly-plot", has_text="Saliency").first
        below_the_main_chart(page, chart)
        chart.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(800)
        page.screenshot(path=str(artifacts_dir / f"lang-saliency-{size[0]}x{size[1]}.png"))
        assert "the 2 marked numbers" in " ".join(chart.locator(".legendtext").all_text_contents())
    finally:
        context.close()


@pytest.mark.parametrize("task, marker", [("charlm", ".rnnviz-generated"), ("sine", "text=persistence (last value)")])
def test_playground_shows_generated_text_or_the_forecast_below_its_charts(browser, server_url, artifacts_dir,
                                                                        task, marker):
    context, page = open_page(browser, server_url, f"?task={task}&{SETTINGS}", SIZES[0])
    try:
        view = page.locator(marker).first
        view.wait_for()
        below_the_main_chart(page, view)
        view.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(800)
        page.screenshot(path=str(artifacts_dir / f"lang-playground-{task}.png"))
    finally:
        context.close()
