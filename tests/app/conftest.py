"""AppTest helpers: open the app as a user would, on any page, and read figures back as data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 60  # seconds per script run (>= 30 s as the issue asks; first runs import torch)
PAGES = ("pages/playground.py", "pages/hidden_states.py", "pages/gates.py", "pages/gradient_flow.py",
         "pages/compare.py", "pages/learn.py")


@pytest.fixture(autouse=True)
def navigation_mode(monkeypatch):
    """Run AppTest the way the server runs the app.

    A real server leaves Streamlit's legacy ``pages/``-directory mode for good once app.py calls
    ``st.navigation`` (``PagesManager.uses_pages_directory = False``). AppTest resets that flag
    before every run, so each rerun after the first would execute the page file alone, without
    app.py and its sidebar. Mirror the server.
    """
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(autouse=True)
def fresh_shared_runs():
    """AppTest instances in one process share the server's registries (st.cache_resource), as sessions of
    one server do: each test starts with no run listed, so a run a previous test played is never joined."""
    from ui.server import shared_runs

    shared_runs().clear()
    yield


def open_app(query: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert_no_exception(at)
    return at


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def figures(at: AppTest) -> list[dict]:
    """Every Plotly chart on the page as its JSON spec (data + layout)."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def figure(at: AppTest, title_part: str) -> dict:
    """The chart whose title contains ``title_part``."""
    for fig in figures(at):
        title = fig.get("layout", {}).get("title", {}).get("text", "")
        if title_part.lower() in title.lower():
            return fig
    titles = [f.get("layout", {}).get("title", {}).get("text", "") for f in figures(at)]
    raise AssertionError(f"no chart titled like {title_part!r}; titles: {titles}")


def session(at: AppTest):
    from ui.state import SESSION_KEY

    return at.session_state[SESSION_KEY]


def values(v):
    """A Plotly data array from a chart spec as NumPy: plain lists, or typed arrays sent as base64."""
    import base64

    import numpy as np

    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        if shape:
            a = a.reshape([int(s) for s in str(shape).split(",")])
        return a
    return np.asarray(v, dtype=float) if v is not None else None


def trace_named(fig: dict, name_part: str) -> dict:
    for tr in fig["data"]:
        if name_part.lower() in str(tr.get("name", "")).lower():
            return tr
    raise AssertionError(f"no trace named like {name_part!r}; names: {[t.get('name') for t in fig['data']]}")
