"""Server start-up warm-up (rnnviz/warmup.py, serve.py): it runs every cell's first step and leaves
nothing a session could see."""

import torch

from rnnviz import warmup
from rnnviz.trainer import limit_threads


def test_warm_up_runs_every_cell_and_leaves_the_global_rng_alone():
    before = limit_threads(1)
    try:
        rng = torch.get_rng_state()
        seconds = warmup.warm_up()
        assert seconds > 0
        assert torch.equal(torch.get_rng_state(), rng)  # models are built under their own seeded generators
        assert torch.get_num_threads() == 1  # as app.py sets it
    finally:
        limit_threads(before)


def test_start_runs_the_warm_up_in_a_daemon_thread():
    before = torch.get_num_threads()
    try:
        thread = warmup.start()
        assert thread.daemon and thread.name == "rnnviz-warm-up"
        thread.join(timeout=120)
        assert not thread.is_alive()
    finally:
        limit_threads(before)


def test_serve_runs_app_py_with_the_given_options(monkeypatch):
    import sys

    from streamlit.web import cli

    import serve
    from ui import warm

    started, argv = [], []
    monkeypatch.setattr(warmup, "warm_up", lambda: started.append("torch"))
    monkeypatch.setattr(warm, "warm_up", lambda: started.append("ui"))
    monkeypatch.setattr(cli, "main", lambda: argv.extend(sys.argv))
    monkeypatch.setattr(sys, "argv", ["serve.py", "--server.port", "8555"])
    serve.main()
    assert started == ["torch", "ui"]  # torch first, then Streamlit's side, both before the server listens
    assert argv[:2] == ["streamlit", "run"] and argv[2].endswith("/app.py") and argv[3:] == ["--server.port", "8555"]


def test_the_ui_warm_up_draws_the_first_pages_elements_in_bare_mode_and_leaves_the_loggers_as_they_were():
    import logging

    from ui import warm

    names = [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]
    levels = {n: logging.getLogger(n).level for n in names}
    assert warm.warm_up() > 0
    assert {n: logging.getLogger(n).level for n in names} == levels
    import sys

    assert {"ui.controls", "ui.live", "ui.share", "ui.sidebar", "ui.state", "ui.widgets", "streamlit.emojis"} <= set(
        sys.modules)
