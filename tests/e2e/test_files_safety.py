"""In Chromium: no request leaves the server during a page load (privacy), and a run file's text never
becomes a link or an image (D6). Run files are built in tests/injection_runs.py."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from conftest import wait_for_app
from test_flows import no_exception, settle

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from injection_runs import FILE_NAME, HOST, poisoned_runs  # noqa: E402

PATHS = ("", "playground", "hidden_states", "gates", "gradient_flow", "compare", "learn", "share")
QUERY = "seq_len=20&hidden_size=8&batch_size=4"


def _outside(urls: list[str]) -> list[str]:
    return [u for u in urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname != "127.0.0.1"]


def test_no_request_leaves_the_server_during_a_page_load(server_url, page):
    """Icons and fonts are served by the app itself (the page icon was a Material Symbols SVG fetched
    from fonts.gstatic.com on every load)."""
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    for path in PATHS:
        page.goto(f"{server_url}/{path}?{QUERY}")
        wait_for_app(page)
        page.wait_for_timeout(1500)  # the favicon and late font requests
        no_exception(page)
    assert len(urls) > 20
    assert _outside(urls) == []


def _dom_links_and_images(page) -> list[str]:
    return page.evaluate("""() => [
        ...[...document.querySelectorAll('a[href]')].map(a => a.href),
        ...[...document.querySelectorAll('img[src], image[href]')].map(i => i.src || i.getAttribute('href')),
    ]""")


def test_a_run_files_markup_is_shown_as_text_not_links_or_images(server_url, page):
    accepted, refused = poisoned_runs("diverged")
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.goto(f"{server_url}/share?{QUERY}")
    wait_for_app(page)
    uploader = page.locator("[data-testid=stFileUploader]").filter(has_text="Run file")
    uploader.locator("input[type=file]").set_input_files(
        {"name": FILE_NAME, "mimeType": "application/octet-stream", "buffer": refused})
    page.locator("[data-testid=stAlert]").filter(has_text="Could not open").first.wait_for()
    settle(page)
    assert HOST in page.locator("[data-testid=stAlert]").filter(has_text="Could not open").first.inner_text()
    assert [u for u in _dom_links_and_images(page) if HOST in u] == []

    uploader.locator("input[type=file]").set_input_files(
        {"name": FILE_NAME, "mimeType": "application/octet-stream", "buffer": accepted})
    page.get_by_text("Browsing", exact=False).first.wait_for()
    settle(page)
    page.locator("[data-testid=stSidebarNav] a", has_text="Playground").click()
    banner = page.locator("[data-testid=stAlert]").filter(has_text="The run diverged")
    banner.first.wait_for()
    settle(page)
    text = banner.first.inner_text()
    assert f"https:\u2060//{HOST}/a" in text and "<img src=" in text  # shown as characters (+ word joiners)
    assert [u for u in _dom_links_and_images(page) if HOST in u] == []
    assert page.locator("[data-testid=stAlert] a, [data-testid=stAlert] img").count() == 0
    assert [u for u in urls if HOST in u] == []
    no_exception(page)
