"""Through AppTest: while every training slot of the server is taken, Step and an upload say they are
queued (a toast naming the other runs), give up after the bounded wait with a message instead of an
exception, and work once a slot is free (issue 16: a session that waits says so)."""

from __future__ import annotations

import re

import pytest
from conftest import assert_no_exception, open_app, session

import rnnviz.session as session_module
from rnnviz.config import ExperimentConfig
from rnnviz.io import run_to_bytes
from rnnviz.session import queued_text
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
SMALL = {"seq_len": "20", "hidden_size": "16", "batch_size": "8"}
WAIT = 0.2  # the bounded wait, shortened (the app waits COMPUTE_WAIT_SECONDS = 30 s)


@pytest.fixture
def busy_server(monkeypatch):
    """The server's gate with every slot held by other sessions (released after the test)."""
    from ui.server import training_gate

    training_gate.clear()
    gate = training_gate()
    monkeypatch.setattr(session_module, "COMPUTE_WAIT_SECONDS", WAIT)
    others = [f"other-{k}" for k in range(gate.slots)]
    yield gate, others
    for o in others:
        gate.release(o)
    training_gate.clear()


def toasts(at) -> list[str]:
    return [t.value for t in at.toast]


def test_step_on_a_busy_server_says_queued_then_gives_up_cleanly_and_steps_once_a_slot_frees(busy_server):
    gate, others = busy_server
    at = open_app(SMALL)
    for o in others:
        assert gate.acquire(o)
    at.button(key="ctl.step1").click().run()
    assert_no_exception(at)
    # the link's run is shared (rnnviz/shared.py): a Step first copies it, and that copy waits for a slot too
    what = "copying the shared run"
    busy = (f"{what} must wait for one of the server's {gate.slots} training slot(s), got none free "
            f"within {WAIT:g} s (the server is busy); try again.")
    assert toasts(at) == [queued_text(what, gate.slots), busy]
    assert session(at).current_step == 0  # nothing trained, and the app still runs
    for o in others:
        gate.release(o)
    at.button(key="ctl.step1").click().run()
    assert_no_exception(at)
    assert session(at).current_step == 1 and toasts(at) == []


def test_an_upload_on_a_busy_server_waits_in_line_and_is_read_once_a_slot_frees(busy_server):
    gate, others = busy_server
    t = Trainer(ExperimentConfig(seq_len=20, hidden_size=8, batch_size=4))
    t.step(3)
    data = run_to_bytes(t.history)
    at = open_app(SMALL, page="pages/share.py")
    for o in others:
        assert gate.acquire(o)
    at.file_uploader(key="upload.run").upload("mine.npz", data, "application/octet-stream").run()
    assert_no_exception(at)
    assert toasts(at) == [queued_text("opening the run file", gate.slots)]
    assert any(re.match(r"^opening the run file must wait for one of the server's \d training slot", e.value)
               for e in at.error)
    assert session(at).loaded is None
    for o in others:
        gate.release(o)
    at.run()  # the same file: a busy server was not remembered as a refusal
    assert_no_exception(at)
    assert session(at).loaded is not None and session(at).current_step == 2


def test_a_csv_upload_on_a_busy_server_is_parsed_once_a_slot_frees(busy_server):
    gate, others = busy_server
    rows = "\n".join(f"{k},{(k * 7) % 11}.5" for k in range(60))
    at = open_app(SMALL, page="pages/share.py")
    for o in others:
        assert gate.acquire(o)
    at.file_uploader(key="upload.csv").upload("series.csv", f"a,b\n{rows}\n".encode(), "text/csv").run()
    assert_no_exception(at)
    assert toasts(at) == [queued_text("reading the file", gate.slots)]
    assert any("reading the file must wait for one of the server's" in e.value for e in at.error)
    assert not any(m.key.startswith("upload.csv.columns") for m in at.multiselect)
    for o in others:
        gate.release(o)
    at.run()
    assert_no_exception(at)
    assert not at.error and any(m.key.startswith("upload.csv.columns") for m in at.multiselect)
