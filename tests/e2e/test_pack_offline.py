"""A lecture pack in Chromium from file:// with the network blocked (issue 17): the slider moves the step,
the charts show that step's recorded values, and no request leaves the page."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import pack
from rnnviz.pack.pages import frame_steps

PRESETS = ("vanishing-tanh", "gru-remembers")
STEPS = 6


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    runs = [pack.preset_run(name, STEPS) for name in PRESETS]
    out = tmp_path_factory.mktemp("pack") / "lecture"
    pack.write_pack(out, runs)
    return out, {r.slug: r.history for r in runs}


@pytest.fixture
def offline(browser):
    """A page whose every non-file request is aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    left: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            left.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("request", lambda r: None if r.url.startswith("file://") else left.append(r.url))
    yield pg, left, errors
    context.close()


def trace_data(pg, panel: str, trace: int, key: str):
    return pg.evaluate(f"() => document.getElementById('panel-{panel}').data[{trace}].{key}")


def test_a_pack_page_replays_the_recorded_steps_offline(lecture, offline, artifacts_dir):
    out, histories = lecture
    pg, left, errors = offline
    pg.goto((out / "index.html").as_uri())
    assert pg.locator("a[href='vanishing-tanh.html']").count() == 1
    pg.click("a[href='gru-remembers.html']")
    pg.wait_for_function("() => document.body.dataset.frame === '0' && document.getElementById('panel-flow').data")
    hist = histories["gru-remembers"]
    steps = frame_steps(hist.recorded_steps())
    assert list(steps) == list(range(STEPS))
    first = trace_data(pg, "flow", 0, "y")
    assert first == hist.record_at(0).grad_norms[0, 0].astype(np.float64).tolist()

    pg.focus("#step-slider")
    pg.keyboard.press("End")  # the last recorded step
    pg.wait_for_function("() => document.body.dataset.frame === '5'")
    last = hist.record_at(int(steps[-1]), full=True)
    assert trace_data(pg, "flow", 0, "y") == hist.record_at(int(steps[-1])).grad_norms[0, 0].astype(np.float64).tolist()
    assert trace_data(pg, "flow", 0, "y") != first
    assert trace_data(pg, "hidden", 1, "z") == last.hidden[0, 0, 0].T.astype(np.float64).tolist()
    assert trace_data(pg, "gates", 1, "z") == last.gates["z"][0, 0, 0].T.astype(np.float64).tolist()
    assert pg.text_content("#step-label") == f"training step {steps[-1]} (frame 6 of 6)"
    assert pg.locator("#lines li").first.text_content().startswith(f"Training step {steps[-1]}: loss ")
    cursor = pg.evaluate("() => document.getElementById('panel-loss').layout.shapes.at(-1).x0")
    assert cursor == int(steps[-1])

    pg.keyboard.press("ArrowLeft")
    pg.wait_for_function("() => document.body.dataset.frame === '4'")
    assert trace_data(pg, "flow", 0, "y") == hist.record_at(int(steps[4])).grad_norms[0, 0].astype(np.float64).tolist()
    pg.screenshot(path=str(artifacts_dir / "pack-gru.png"))

    pg.click("#play")
    pg.wait_for_function("() => document.body.dataset.frame === '5'")  # play animates to the end
    assert errors == []
    assert left == []


def test_the_same_folder_works_from_a_static_http_server(lecture, browser):
    """Any static host: Python's http.server on 127.0.0.1 serving the folder as it is; every request
    that is not to it is aborted and recorded."""
    import functools
    import http.server
    import threading

    out, histories = lecture
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    left: list[str] = []
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base)
                  else (left.append(r.request.url), r.abort()))
    try:
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(base + "index.html")
        pg.click("a[href='vanishing-tanh.html']")
        pg.wait_for_function("() => document.body.dataset.frame === '0' && document.getElementById('panel-flow').data")
        hist = histories["vanishing-tanh"]
        assert trace_data(pg, "flow", 0, "y") == hist.record_at(0).grad_norms[0, 0].astype(np.float64).tolist()
        assert errors == [] and left == []
    finally:
        context.close()
        httpd.shutdown()
        httpd.server_close()
