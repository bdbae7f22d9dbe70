"""The Phase diagram in a real browser: the heatmap fits a 1280x720 screen, and a click on a cell opens
that cell's config in the Playground (its two values in the link and in the sidebar)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from conftest import wait_for_app

QUERY = "init=scaled&rho=0.9&hidden_size=16&batch_size=8"
ROWS = np.linspace(0.5, 2.0, 16)  # the page's default rows: rho 0.5..2.0, 16 points
COLS = list(range(20, 201, 20))  # columns: seq_len 20..200, 10 points


def open_phase(browser, server_url, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    pg = context.new_page()
    pg.set_default_timeout(120_000)
    pg.goto(f"{server_url}/phase_diagram?{QUERY}")
    wait_for_app(pg)
    pg.wait_for_selector("[data-testid=stPlotlyChart] .nsewdrag")
    return context, pg


def plot_area(pg):
    return pg.locator("[data-testid=stPlotlyChart] .nsewdrag").first.bounding_box()


@pytest.mark.parametrize("width, height", [(1920, 1080), (1280, 720)])
def test_heatmap_is_above_the_fold(browser, server_url, artifacts_dir, width, height):
    context, pg = open_phase(browser, server_url, width, height)
    try:
        pg.wait_for_timeout(1000)  # let plotly finish drawing before the screenshot
        pg.screenshot(path=str(artifacts_dir / f"phase-{width}x{height}.png"))
        box = plot_area(pg)
        assert box["y"] > 0 and box["y"] + box["height"] <= height, box
        assert pg.locator("[data-testid=stException]").count() == 0
    finally:
        context.close()


def test_clicking_a_cell_opens_it_in_the_playground(browser, server_url, artifacts_dir):
    context, pg = open_phase(browser, server_url, 1280, 720)
    try:
        box = plot_area(pg)
        row, col = 12, 6  # rho = ROWS[12], seq_len = 140
        x = box["x"] + (col + 0.5) / len(COLS) * box["width"]
        y = box["y"] + (1 - (row + 0.5) / len(ROWS)) * box["height"]
        pg.mouse.move(x, y)
        pg.wait_for_timeout(300)
        pg.mouse.click(x, y)
        pg.wait_for_url(lambda u: "seq_len=140" in u, timeout=120_000)
        wait_for_app(pg)
        query = parse_qs(urlparse(pg.url).query)
        assert float(query["rho"][0]) == pytest.approx(ROWS[row], abs=1e-12)
        assert query["seq_len"] == ["140"] and query["init"] == ["scaled"] and query["hidden_size"] == ["16"]
        assert urlparse(pg.url).path.rstrip("/") in ("", "/playground")
        sidebar = pg.locator("[data-testid=stSidebar]")
        pg.wait_for_function("() => document.querySelector('[data-testid=stSidebarNav] a[aria-current=page]')"
                             "?.textContent.includes('Playground')")
        rho_box = sidebar.get_by_role("spinbutton", name="Spectral radius ρ")
        assert float(rho_box.input_value()) == pytest.approx(ROWS[row], abs=1e-9)
        assert sidebar.get_by_role("spinbutton", name="Sequence length / lag T").input_value() == "140"
        pg.screenshot(path=str(artifacts_dir / "phase-click-playground-1280x720.png"))
        assert pg.locator("[data-testid=stException]").count() == 0
    finally:
        context.close()
