"""TrainingGate: the cap holds, the queue is first come first served, nobody starves or deadlocks."""

from __future__ import annotations

import random
import threading
import time

import pytest

from rnnviz.capacity import USAGE_HALF_LIFE_SECONDS, TrainingGate
from rnnviz.errors import RnnvizError


def test_at_most_slots_owners_inside_at_once():
    gate = TrainingGate(slots=2)
    inside, peak, lock = [0], [0], threading.Lock()

    def worker(owner):
        for _ in range(30):
            while not gate.acquire(owner, timeout=0.05):
                pass
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.001)
            with lock:
                inside[0] -= 1
            gate.release(owner)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)  # no deadlock
    assert peak[0] == 2


def test_queued_owners_enter_in_arrival_order_and_keep_their_place():
    gate = TrainingGate(slots=1)
    assert gate.acquire("x")
    assert not gate.acquire("a", timeout=0.01)  # queued first
    assert not gate.acquire("b", timeout=0.01)
    assert (gate.position("a"), gate.position("b"), gate.position("x")) == (0, 1, -1)
    order = []

    def wait_for(owner):
        while not gate.acquire(owner, timeout=0.05):
            pass
        order.append(owner)
        time.sleep(0.02)
        gate.release(owner)

    tb = threading.Thread(target=wait_for, args=("b",))
    tb.start()  # b asks first this time...
    time.sleep(0.05)
    ta = threading.Thread(target=wait_for, args=("a",))
    ta.start()
    time.sleep(0.05)
    gate.release("x")  # ...but a has waited longer
    ta.join(5)
    tb.join(5)
    assert order == ["a", "b"]


def test_a_queued_owner_between_ticks_does_not_hold_a_slot_idle():
    gate = TrainingGate(slots=1)
    assert gate.acquire("x")
    assert not gate.acquire("a", timeout=0.0)  # a is queued, then stops asking for a while
    gate.release("x")
    assert gate.acquire("b", timeout=0.0)  # b, asking now, is not blocked by a's place
    gate.release("b")
    assert gate.acquire("a", timeout=0.0)  # and a, asking again, is first


def test_owners_that_stopped_asking_drop_out():
    now = [0.0]
    gate = TrainingGate(slots=1, stale_after=5.0, clock=lambda: now[0])
    assert gate.acquire("x")
    assert not gate.acquire("gone")
    assert gate.waiting == 1
    now[0] = 6.0
    assert not gate.acquire("c")  # the slot is still taken; the stale owner is dropped meanwhile
    assert gate.position("gone") == -1 and gate.position("c") == 0


def test_leave_gives_up_the_place():
    gate = TrainingGate(slots=1)
    gate.acquire("x")
    gate.acquire("a")
    gate.leave("a")
    assert gate.waiting == 0


def test_random_load_never_deadlocks_and_everyone_trains():
    gate = TrainingGate(slots=2)
    counts = {k: 0 for k in range(8)}
    stop = time.monotonic() + 1.5
    rng = random.Random(0)
    delays = {k: rng.uniform(0, 0.003) for k in counts}

    def session(owner):
        while time.monotonic() < stop:
            if gate.acquire(owner, timeout=rng.uniform(0, 0.02)):
                counts[owner] += 1
                time.sleep(delays[owner])
                gate.release(owner)
            time.sleep(0.001)

    threads = [threading.Thread(target=session, args=(k,)) for k in counts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert min(counts.values()) > 0, counts  # no starvation
    assert gate.active == 0


def test_rules_stated():
    with pytest.raises(RnnvizError, match="training slots must be an integer >= 1, got 0"):
        TrainingGate(slots=0)
    gate = TrainingGate(slots=1)
    gate.acquire("x")
    with pytest.raises(RnnvizError, match="already holds a training slot"):
        gate.acquire("x")


def test_demand_counts_recent_askers_per_slot():
    now = [0.0]
    gate = TrainingGate(slots=2, clock=lambda: now[0])
    for k in range(6):
        if gate.acquire(k):
            gate.release(k)
    assert gate.demand(window=5.0) == 3.0  # six sessions asked, two slots
    now[0] = 10.0
    assert gate.demand(window=5.0) == 0.0  # they all stopped asking


def test_default_slots_are_one_per_core_unless_the_environment_sets_them(monkeypatch):
    import os

    from rnnviz.capacity import SLOTS_ENV, default_slots

    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    monkeypatch.delenv(SLOTS_ENV, raising=False)
    assert default_slots() == 6 and TrainingGate().slots == 6
    monkeypatch.setenv(SLOTS_ENV, "3")
    assert default_slots() == 3 and TrainingGate().slots == 3
    assert default_slots({SLOTS_ENV: "abc"}) == 6 and default_slots({SLOTS_ENV: "0"}) == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert default_slots({}) == 1


def test_a_holder_that_used_about_as_much_as_the_asker_finishes_its_tick():
    from rnnviz.capacity import YIELD_MARGIN_SECONDS

    now = [0.0]
    gate = TrainingGate(slots=1, clock=lambda: now[0])
    gate._usage["a"] = (1.0, 0.0)
    gate._usage["b"] = (1.0 - YIELD_MARGIN_SECONDS / 2, 0.0)  # used a little less than "a"
    assert gate.acquire("a")
    t = threading.Thread(target=lambda: gate.acquire("b", timeout=5.0))
    t.start()
    while "b" not in gate._waiting:
        time.sleep(0.001)
    assert not gate.should_yield("a")  # within the margin: "a" finishes its tick
    now[0] = YIELD_MARGIN_SECONDS  # "a" has held the slot a while longer: now it used more by over the margin
    assert gate.should_yield("a")
    gate.release("a")
    t.join(timeout=5)
    assert gate.active == 1


def test_the_session_that_used_least_goes_first_and_a_holder_yields_to_it():
    now = [0.0]
    gate = TrainingGate(slots=1, clock=lambda: now[0])
    assert gate.acquire("heavy")
    now[0] = 2.0
    gate.release("heavy")  # heavy used 2 s of slot time
    assert gate.usage("heavy") == pytest.approx(2.0)
    now[0] = 2.0 + USAGE_HALF_LIFE_SECONDS  # one half-life later
    assert gate.usage("heavy") == pytest.approx(1.0)
    assert gate.acquire("other")
    assert not gate.acquire("heavy", timeout=0.0)  # queued first ...
    assert not gate.acquire("light", timeout=0.0)  # ... light after it
    assert gate.position("light") == 0 and gate.position("heavy") == 1  # but light used less: it goes first
    gate.release("other")
    assert not gate.should_yield("other")  # not inside any more
    assert gate.acquire("heavy", timeout=0.0)  # light ranks first but is not asking: no slot is held idle
    gate.release("heavy")
    assert gate.acquire("light", timeout=0.0)
    gate.release("light")

    results = {}
    assert gate.acquire("heavy")
    assert not gate.should_yield("heavy")  # nobody asking

    def ask():
        results["light"] = gate.acquire("light", timeout=5.0)

    t = threading.Thread(target=ask)
    t.start()
    while "light" not in gate._waiting:
        time.sleep(0.001)
    assert gate.should_yield("heavy")  # a session that used less is asking and no slot is free
    gate.release("heavy")
    t.join(timeout=5)
    assert results == {"light": True}
    gate.release("light")
