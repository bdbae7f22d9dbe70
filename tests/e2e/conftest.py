"""Real-browser fixtures: a live `streamlit run app.py` server and Debian's headless Chromium.

The browser is Debian's `chromium` (installed by `make test`); `playwright install` is never
used (no browser downloads on these machines). When CI=true and the browser is missing the
suite fails; off CI it is skipped with the reason shown.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("RNNVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Wait for ``url``'s /_stcore/health (through nginx too); fail at once if ``proc`` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server process exited with code {proc.returncode} before becoming healthy")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server at {url} not healthy after {timeout:.0f} s")


def start_server(port: int | None = None, extra_args: list[str] | None = None,
                 root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """Start the server (of the tree at ``root``) headless on a free loopback port, as `make run` does
    (`serve.py`: `streamlit run app.py` with a warm start; older trees without it: `streamlit run`);
    return (process, base url)."""
    port = port or _free_port()
    serve = root / "serve.py"
    start = [str(serve)] if serve.exists() else ["-m", "streamlit", "run", str(root / "app.py")]
    cmd = [sys.executable, *start,
           "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", *(extra_args or [])]
    log = open(ARTIFACTS / f"server-{port}.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
    except Exception:
        proc.kill()
        raise
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def step_counter(page, timeout: float | None = None) -> int:
    """The value of the status bar's "Step" metric (not "Steps / s")."""
    label = page.locator("[data-testid=stMetricLabel]", has_text=re.compile(r"^\s*Step\s*$"))
    metric = page.locator("[data-testid=stMetric]").filter(has=label).first
    value = metric.locator("[data-testid=stMetricValue]")
    text = value.inner_text(timeout=timeout) if timeout is not None else value.inner_text()
    return int(text.replace(",", ""))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def server_url(artifacts_dir):
    proc, url = start_server()
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        msg = f"Debian's chromium is missing at {CHROMIUM}: run `make test` (it installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 2300}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def wait_for_app(pg) -> None:
    """Wait until the app's script has finished running and no exception is shown."""
    pg.wait_for_selector("[data-testid=stApp]")
    pg.wait_for_selector("[data-test-script-state=notRunning]", state="attached", timeout=90_000)


def wait_until(predicate, timeout: float = 60.0, every: float = 0.1):
    """Poll ``predicate`` until it returns something true (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout:.0f} s")


def strip_button(page, name: str):
    """A run button of the control strip at the top of the page (the one play control of every page)."""
    return page.locator(".st-key-control-strip").get_by_role("button", name=name)
