"""A session that must wait for a training slot says so before it waits, and gives up cleanly after its
bounded wait (issue 16: Step, x10, building a run, Compare and uploads all go through the gate)."""

from __future__ import annotations

import threading
import time

import pytest

import rnnviz.session as session_module
from rnnviz.capacity import ServerBusy, TrainingGate
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.lockstep import CompareSession
from rnnviz.session import PlaySession, queued_text
from rnnviz.trainer import limit_threads

limit_threads(1)
SMALL = ExperimentConfig(seq_len=20, hidden_size=8, batch_size=4)


def test_the_queued_text_names_the_other_runs_the_action_and_the_bounded_wait():
    assert queued_text("training a step", 3) == (
        "Queued: the server is busy with 3 other run(s); training a step starts when a slot frees (up to 30 s).")


def test_a_free_slot_tells_nothing():
    told = []
    sess = PlaySession(SMALL, gate=TrainingGate(slots=1), notify=told.append)
    sess.step(10)
    sess.reset()
    assert told == [] and sess.current_step == 0


def test_step_waiting_for_a_slot_says_queued_first_then_trains_when_the_slot_frees():
    gate = TrainingGate(slots=1)
    told: list[str] = []
    sess = PlaySession(SMALL, gate=gate, notify=told.append)
    assert gate.acquire("other")
    done = threading.Thread(target=sess.step, args=(10,))
    done.start()
    deadline = time.monotonic() + 10
    while not told and time.monotonic() < deadline:
        time.sleep(0.01)
    assert told == [queued_text("training a step", 1)]  # said while still waiting: nothing trained yet
    assert sess.current_step == 0
    gate.release("other")
    done.join(timeout=30)
    assert sess.current_step == 10 and gate.active == 0
    assert told == [queued_text("training a step", 1)]  # x10 in several slot holds is told once


def test_building_a_run_and_compare_say_queued_and_give_up_with_server_busy(monkeypatch):
    monkeypatch.setattr(session_module, "COMPUTE_WAIT_SECONDS", 0.05)
    gate = TrainingGate(slots=1)
    assert gate.acquire("other")
    told: list[str] = []
    with pytest.raises(ServerBusy, match=r"^building the run must wait for one of the server's 1 training slot\(s\), "
                                         r"got none free within 0.05 s \(the server is busy\); try again$"):
        PlaySession(SMALL, gate=gate, notify=told.append)
    with pytest.raises(ServerBusy, match=r"^building the runs to compare must wait"):
        CompareSession(SMALL, gate=gate, notify=told.append)
    assert told == [queued_text("building the run", 1), queued_text("building the runs to compare", 1)]
    assert issubclass(ServerBusy, RnnvizError)  # every handler of RnnvizError still catches it
    gate.release("other")


def test_compute_runs_in_a_slot_of_its_own_beside_the_sessions_tick_and_is_bounded(monkeypatch):
    gate = TrainingGate(slots=2)
    sess = PlaySession(SMALL, gate=gate, notify=lambda text: None)
    inside = []
    with gate.slot(sess.owner) as admitted:  # the play loop's tick holds the session's own slot
        assert admitted
        assert sess.compute("reading the file", lambda b: inside.append(gate.active) or len(b), b"abc") == 3
    assert inside == [2] and gate.active == 0  # held while parsing, released after
    monkeypatch.setattr(session_module, "COMPUTE_WAIT_SECONDS", 0.05)
    assert gate.acquire("a") and gate.acquire("b")
    told: list[str] = []
    sess.notify = told.append
    with pytest.raises(ServerBusy, match=r"^reading the file must wait for one of the server's 2 training slot"):
        sess.compute("reading the file", inside.append, "never")
    assert inside == [2] and told == [queued_text("reading the file", 2).replace("30 s", "0.05 s")]
