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

    started, argv = [], []
    monkeypatch.setattr(warmup, "warm_up", lambda: started.append(True))
    monkeypatch.setattr(cli, "main", lambda: argv.extend(sys.argv))
    monkeypatch.setattr(sys, "argv", ["serve.py", "--server.port", "8555"])
    serve.main()
    assert started == [True]
    assert argv[:2] == ["streamlit", "run"] and argv[2].endswith("/app.py") and argv[3:] == ["--server.port", "8555"]
