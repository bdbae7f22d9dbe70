"""First picture: how long a visitor opening a link waits for the first drawn chart.

Measured in Debian's Chromium (headless, never `playwright install`) from navigation start to the
moment the first Plotly chart has drawn its SVG (``.js-plotly-plot .main-svg`` appears; a
MutationObserver installed before any page script notes ``performance.now()``, i.e. milliseconds
since navigation start), on a `streamlit run app.py` server listening on 127.0.0.1:

- ``cold``: the first visitor of a freshly started server (started, /_stcore/health answered, then
  the link opened at once);
- ``warm``: later visitors of the same server, each a new browser context (a new session).

``--before REF`` serves a snapshot of git ref REF (``git archive``, in a temporary directory) in the
same rounds, interleaved with this tree, so both sides see the same machine load; medians printed
side by side with the load average.

``--floor``: the same measure of two minimal Streamlit apps on this machine and browser, for scale: one
line of text (the first text drawn), and one three-point Plotly chart (the first chart drawn): what any
Streamlit page, and any page with a Plotly chart, costs before rnnviz draws anything.

``--server-only``: no browser; a websocket client (benchmarks/load_server.py) opens the link and times
the server's part: from connecting to the first Plotly chart's delta received. The rest of a browser's
wait (page and JS, the 4.7 MB Plotly chunk, drawing) is the browser's; ``--breakdown`` prints, per
Chromium visit, when the page's DOM was loaded, the websocket opened, the first chart's delta arrived
and the chart was drawn.

    .venv/bin/python benchmarks/first_chart.py [--rounds 3] [--warm 4] [--before main] [--server-only] [--breakdown]
                                               [--floor]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402

LINK = "/?preset=lstm-remembers"  # a typical shared link: a preset, the default page
CHART_DRAWN = ".js-plotly-plot .main-svg"
FIRST_CHART = """
(() => {
  const seen = () => document.querySelector('SELECTOR');
  new MutationObserver((_, obs) => {
    if (window.__firstChart === undefined && seen()) { window.__firstChart = performance.now(); obs.disconnect(); }
  }).observe(document, {childList: true, subtree: true});
})();
""".replace("SELECTOR", CHART_DRAWN)
#: --floor: (app source, what its first picture is) of two minimal apps
FLOOR_APPS = {
    "one line of text": ('import streamlit as st\nst.write("hello")\n', "[data-testid=stMarkdownContainer] p"),
    "one Plotly chart": ("import plotly.graph_objects as go\nimport streamlit as st\n"
                         "st.plotly_chart(go.Figure(go.Scatter(y=[1, 3, 2])), theme=None)\n", CHART_DRAWN),
}


BREAKDOWN = False  # --breakdown: print where each visit's time went


def first_chart_ms(browser, url: str, link: str = LINK, selector: str = CHART_DRAWN) -> float:
    """Milliseconds from navigation start to the first drawn Plotly chart (or the first element matching
    ``selector``), in a new browser context."""
    import time

    context = browser.new_context(viewport={"width": 1500, "height": 1200})
    marks: dict[str, float] = {}

    def on_websocket(ws):
        marks.setdefault("websocket open", time.perf_counter())

        def frame(payload):
            if isinstance(payload, bytes) and b'"layout"' in payload and b'"data"' in payload:
                marks.setdefault("chart delta", time.perf_counter())
        ws.on("framereceived", frame)

    try:
        page = context.new_page()
        page.add_init_script(FIRST_CHART.replace(CHART_DRAWN, selector))
        page.on("websocket", on_websocket)
        t0 = time.perf_counter()
        page.goto(url + link, wait_until="commit")
        page.wait_for_function("window.__firstChart !== undefined", timeout=120_000, polling=100)
        drawn = float(page.evaluate("window.__firstChart"))
        if BREAKDOWN:
            dom = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
            split = {"DOM loaded": dom / 1e3, **{k: v - t0 for k, v in marks.items()}, "drawn": drawn / 1e3}
            print("    " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()), flush=True)
        return drawn
    finally:
        context.close()


def server_first_chart_ms(url: str) -> float:
    """Milliseconds from a websocket client's connecting to the first Plotly chart's delta (no browser)."""
    import asyncio
    import time

    from load_server import Session

    async def visit() -> float:
        sess = Session("visit", LINK.lstrip("/?"))
        t0 = time.monotonic()
        await sess.open(url)
        await sess.wait_run()
        await sess.close()
        if sess.first_chart is None:
            raise RuntimeError("the first script run drew no Plotly chart")
        return (sess.first_chart - t0) * 1e3

    return asyncio.run(visit())


def snapshot(ref: str, into: Path) -> Path:
    """The tree of git ref ``ref`` (tracked files only) unpacked into ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def measure(browser, root: Path, warm: int) -> tuple[float, list[float]]:
    """(cold, warm visits) in ms on a fresh server of the tree at ``root``; ``browser`` None: server only."""
    proc, url = start_server(root=root)
    visit = server_first_chart_ms if browser is None else lambda u: first_chart_ms(browser, u)
    try:
        cold = visit(url)
        return cold, [visit(url) for _ in range(warm)]
    finally:
        stop_server(proc)


def floor(browser, warm: int) -> None:
    """--floor: first picture of each minimal app (FLOOR_APPS), a fresh server each, 1 + ``warm`` visits."""
    for name, (source, selector) in FLOOR_APPS.items():
        with tempfile.TemporaryDirectory(prefix="rnnviz-floor-") as tmp:
            (Path(tmp) / "app.py").write_text(source)
            proc, url = start_server(root=Path(tmp))  # no serve.py there: `streamlit run app.py`
            try:
                visits = [first_chart_ms(browser, url, "/", selector) / 1e3 for _ in range(1 + warm)]
            finally:
                stop_server(proc)
        print(f"  floor, {name:17s}: first visit {visits[0]:.2f} s, warm {', '.join(f'{v:.2f}' for v in visits[1:])}"
              f" s, warm median {statistics.median(visits[1:]):.2f} s  (load {load()})", flush=True)


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="fresh servers per side")
    p.add_argument("--warm", type=int, default=4, help="warm visits per server")
    p.add_argument("--before", metavar="REF", help="also serve this git ref, interleaved (e.g. main)")
    p.add_argument("--server-only", action="store_true", help="no browser: connect to the first chart's delta")
    p.add_argument("--breakdown", action="store_true", help="print where each browser visit's time went")
    p.add_argument("--floor", action="store_true", help="also time two minimal Streamlit apps (text; one chart)")
    args = p.parse_args()
    global BREAKDOWN
    BREAKDOWN = args.breakdown
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="rnnviz-before-") as tmp:
        sides = {"this tree": ROOT}
        if args.before:
            sides = {f"before ({args.before})": snapshot(args.before, Path(tmp)), **sides}
        results = {name: ([], []) for name in sides}
        print(f"first chart of {LINK!r}; {args.rounds} rounds x ({', '.join(sides)}); load average {load()}")
        with nullcontext() if args.server_only else sync_playwright() as pw:  # Playwright runs its own loop
            browser = None if pw is None else \
                pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            if args.floor and browser is not None:
                floor(browser, args.warm)
            for r in range(args.rounds):
                for name, root in sides.items():
                    cold, warm = measure(browser, root, args.warm)
                    results[name][0].append(cold)
                    results[name][1].extend(warm)
                    print(f"  round {r + 1} {name:>16s}: cold {cold / 1e3:5.2f} s, warm "
                          f"{', '.join(f'{w / 1e3:.2f}' for w in warm)} s  (load {load()})", flush=True)
            if browser is not None:
                browser.close()
    what = "server only: connect -> first chart delta" if args.server_only else "Chromium: navigation -> drawn"
    print(f"{what}\n{'':18s} {'cold median':>12s} {'warm median':>12s}   (targets, in Chromium: warm <= 1.5 s, "
          f"cold <= 3 s)")
    for name, (cold, warm) in results.items():
        print(f"{name:18s} {statistics.median(cold) / 1e3:10.2f} s {statistics.median(warm) / 1e3:10.2f} s")
    print(f"load average after {load()} (1, 5, 15 min; 2 cores)")


if __name__ == "__main__":
    main()
