"""The lecture view in a real browser: on a projector nothing is cut off and the key chart fits.

One server and one browser context per screen size; every page is opened in both views, before and
while the run plays. Screenshots of every page in both views go to tests/e2e/artifacts/ (git-ignored).
"""

from __future__ import annotations

import re

import pytest
from conftest import strip_button, wait_for_app, wait_until
from test_flows import settle

from ui.frame import PAGE_TABLE

#: Small enough to train at a live pace on 2 cores; an LSTM so the Gates page has gates.
QUERY = "cell=lstm&seq_len=30&hidden_size=16&batch_size=8"
CHART_PAGES = ("playground", "hidden_states", "gates", "gradient_flow", "compare")
PAGES = tuple(url for _, _, _, url in PAGE_TABLE)
TITLES = {url: title for _, title, _, url in PAGE_TABLE}

#: Every button, metric and chart text that is cut off: a box whose content is wider than the box,
#: or a chart title, legend or colour-bar title reaching past its chart (SVG text has no scrollWidth).
OVERFLOW_JS = """() => {
    const out = [];
    const wide = (el) => el.scrollWidth > el.clientWidth + 1;
    const say = (kind, el) => out.push(kind + ': ' + (el.innerText || el.textContent).trim().slice(0, 60));
    for (const b of document.querySelectorAll('[data-testid=stMain] button')) {
        if (b.offsetParent === null) continue;
        if (wide(b)) say('button', b);
        for (const p of b.querySelectorAll('p, [data-testid=stMarkdownContainer]')) if (wide(p)) say('button', p);
    }
    for (const m of document.querySelectorAll('[data-testid=stMetricValue], [data-testid=stMetricLabel]')) {
        if (wide(m)) say('metric', m);
        for (const d of m.querySelectorAll('div, p')) if (wide(d)) say('metric', d);
    }
    for (const plot of document.querySelectorAll('.js-plotly-plot')) {
        const box = plot.getBoundingClientRect();
        if (box.width === 0) continue;
        for (const t of plot.querySelectorAll('.gtitle, .legend, .cbtitle, .g-xtitle, .g-ytitle')) {
            const r = t.getBoundingClientRect();
            if (r.width && (r.left < box.left - 1 || r.right > box.right + 1)) say('chart text', t);
        }
    }
    return out;
}"""


def open_page(page, url: str, path: str, present: bool) -> None:
    """Open the app on ``path`` (a new browser session: the run starts at step 0)."""
    page.goto(f"{url}/{'' if path == PAGES[0] else path}?{QUERY}{'&view=present' if present else ''}")
    wait_for_app(page)
    page.wait_for_selector(".st-key-control-strip")
    settle(page)


def go_to(page, path: str) -> None:
    """Switch page in the same session, as a person does: the navigation link (sidebar or top bar)."""
    page.locator("a", has_text=re.compile(rf"{re.escape(TITLES[path])}\s*$")).first.click()  # after its icon
    page.wait_for_timeout(300)
    wait_for_app(page)
    page.wait_for_selector(".st-key-control-strip")
    settle(page)


def current_step(page) -> int:
    """The step in the status bar: the "Step" metric, or "Step N ·" in the presentation view's line."""
    text = page.locator("[data-testid=stMain]").inner_text()
    match = re.search(r"Step\s*\n?\s*([\d,]+)", text)
    return int(match.group(1).replace(",", "")) if match else -1


def pause(page) -> None:
    """Press Pause until the strip shows Play (a click landing while a tick redraws the strip is lost)."""
    for _ in range(5):
        strip_button(page, "Pause").click()
        try:
            strip_button(page, "Play").wait_for(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 (playwright's TimeoutError: press again)
            continue
    settle(page)


def key_chart_box(page) -> dict:
    chart = page.locator("[data-testid=stPlotlyChart]").first
    chart.wait_for()
    page.wait_for_timeout(300)  # plotly lays out after the element appears
    return chart.bounding_box()


@pytest.fixture(scope="module", params=[(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def screen(request, browser):
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg, width, height
    context.close()


@pytest.mark.parametrize("present", [False, True], ids=["normal", "present"])
def test_no_text_is_cut_off_and_the_key_chart_fits(server_url, screen, present, artifacts_dir):
    page, width, height = screen
    view = "present" if present else "normal"
    open_page(page, server_url, "playground", present)
    strip_button(page, "×10").click()
    wait_until(lambda: current_step(page) >= 10)
    problems = {}
    for path in PAGES:
        go_to(page, path)
        assert ("view=present" in page.url) == present and "cell=lstm" in page.url, page.url  # the full link
        if path == "compare":
            strip_button(page, "×10").click()
            settle(page)
        if path in CHART_PAGES:
            box = key_chart_box(page)
            if present and (width, height) == (1280, 720):
                inside = box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width \
                    and box["y"] + box["height"] <= height
                assert inside, f"{path}: key chart at {box}, not wholly on a {width}x{height} screen"
        page.screenshot(path=str(artifacts_dir / f"lecture-{width}x{height}-{view}-{path}.png"))
        problems[(path, "paused")] = page.evaluate(OVERFLOW_JS)
        if path in CHART_PAGES:
            strip_button(page, "Play").click()
            page.wait_for_timeout(2500)  # a few ticks of play: Pause shown, numbers moving
            problems[(path, "playing")] = page.evaluate(OVERFLOW_JS)
            page.screenshot(path=str(artifacts_dir / f"lecture-{width}x{height}-{view}-{path}-playing.png"))
            pause(page)
    assert {k: v for k, v in problems.items() if v} == {}


def test_the_presentation_view_is_in_the_link_and_has_no_sidebar(server_url, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        open_page(page, server_url, "gradient_flow", present=False)
        assert page.locator("[data-testid=stSidebar]").is_visible()
        page.locator(".st-key-control-strip").get_by_text("Presentation view").click()
        settle(page)
        wait_until(lambda: "view=present" in page.url)
        assert not page.locator("[data-testid=stSidebar]").is_visible()
        assert "cell=lstm" in page.url  # the full link stays in the address bar
        assert page.locator(".st-key-control-strip").get_by_role("combobox", name="Preset").count() == 1
    finally:
        context.close()
