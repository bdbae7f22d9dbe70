"""The shipped server settings (.streamlit/config.toml) a class relies on."""

import tomllib
from pathlib import Path

from rnnviz import uploads

CONFIG = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())


def test_users_see_a_short_message_and_the_traceback_stays_in_the_server_log():
    """D7: no traceback with server paths reaches the page (Streamlit's "none": a generic message only)."""
    assert CONFIG["client"]["showErrorDetails"] == "none"


def test_the_upload_cap_is_the_one_the_app_states():
    assert CONFIG["server"]["maxUploadSize"] == uploads.MAX_UPLOAD_MB


def test_serve_caps_the_heap_arenas_before_anything_starts(monkeypatch):
    """serve.py: mallopt(M_ARENA_MAX, 2) first thing (30 script threads over many glibc arenas kept +23% of the
    server's memory after a class left, +3% with two)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import serve

    calls = []

    class _Libc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(serve.ctypes, "CDLL", lambda name: _Libc())
    assert serve.limit_malloc_arenas() is True
    assert calls == [(-8, 2)]
    order = []
    monkeypatch.setattr(serve, "limit_malloc_arenas", lambda: order.append("arenas"))
    monkeypatch.setattr(serve.warmup, "warm_up", lambda: (order.append("warm-up"), (_ for _ in ()).throw(SystemExit)))
    try:
        serve.main()
    except SystemExit:
        pass
    assert order == ["arenas", "warm-up"]
    monkeypatch.undo()
    assert serve.limit_malloc_arenas(libc="no-such-libc.so") is False
