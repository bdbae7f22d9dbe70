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

    .venv/bin/python benchmarks/first_chart.py [--rounds 3] [--warm 4] [--before main]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402

LINK = "/?preset=lstm-remembers"  # a typical shared link: a preset, the default page
FIRST_CHART = """
(() => {
  const seen = () => document.querySelector('.js-plotly-plot .main-svg');
  new MutationObserver((_, obs) => {
    if (window.__firstChart === undefined && seen()) { window.__firstChart = performance.now(); obs.disconnect(); }
  }).observe(document, {childList: true, subtree: true});
})();
"""


def first_chart_ms(browser, url: str) -> float:
    """Milliseconds from navigation start to the first drawn Plotly chart, in a new browser context."""
    context = browser.new_context(viewport={"width": 1500, "height": 1200})
    try:
        page = context.new_page()
        page.add_init_script(FIRST_CHART)
        page.goto(url + LINK, wait_until="commit")
        page.wait_for_function("window.__firstChart !== undefined", timeout=120_000, polling=100)
        return float(page.evaluate("window.__firstChart"))
    finally:
        context.close()


def snapshot(ref: str, into: Path) -> Path:
    """The tree of git ref ``ref`` (tracked files only) unpacked into ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def measure(browser, root: Path, warm: int) -> tuple[float, list[float]]:
    proc, url = start_server(root=root)
    try:
        cold = first_chart_ms(browser, url)
        return cold, [first_chart_ms(browser, url) for _ in range(warm)]
    finally:
        stop_server(proc)


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="fresh servers per side")
    p.add_argument("--warm", type=int, default=4, help="warm visits per server")
    p.add_argument("--before", metavar="REF", help="also serve this git ref, interleaved (e.g. main)")
    args = p.parse_args()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="rnnviz-before-") as tmp:
        sides = {"this tree": ROOT}
        if args.before:
            sides = {f"before ({args.before})": snapshot(args.before, Path(tmp)), **sides}
        results = {name: ([], []) for name in sides}
        print(f"first chart of {LINK!r}; {args.rounds} rounds x ({', '.join(sides)}); load average {load()}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for r in range(args.rounds):
                for name, root in sides.items():
                    cold, warm = measure(browser, root, args.warm)
                    results[name][0].append(cold)
                    results[name][1].extend(warm)
                    print(f"  round {r + 1} {name:>16s}: cold {cold / 1e3:5.2f} s, warm "
                          f"{', '.join(f'{w / 1e3:.2f}' for w in warm)} s  (load {load()})", flush=True)
            browser.close()
    print(f"{'':18s} {'cold median':>12s} {'warm median':>12s}   (targets: warm <= 1.5 s, cold <= 3 s)")
    for name, (cold, warm) in results.items():
        print(f"{name:18s} {statistics.median(cold) / 1e3:10.2f} s {statistics.median(warm) / 1e3:10.2f} s")
    print(f"load average after {load()} (1, 5, 15 min; 2 cores)")


if __name__ == "__main__":
    main()
