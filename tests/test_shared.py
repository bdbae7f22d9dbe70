"""Shared runs and shared figures (rnnviz/shared.py, PlaySession(registry=...)): keys, sharing, copy-on-write,
one training thread per run, readers that never see a half-written record, freeing (issue 13, part 1)."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import numpy as np
import pytest

from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.session import TICK_WINDOW_SECONDS, PlaySession
from rnnviz.shared import FigureCache, RunRegistry, data_digest, run_key
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
SMALL = ExperimentConfig(seq_len=20, hidden_size=8, batch_size=4)
SERIES = np.stack([np.sin(np.arange(80) / 4), np.cos(np.arange(80) / 7)], axis=1)


def _alone(config, steps, data=None):
    t = Trainer(config, data=data)
    t.step(steps)
    return t.history.scalars


def _again(run):
    """Let the next tick of any session on ``run`` train (the tick window has passed)."""
    run.last_tick -= 10 * TICK_WINDOW_SECONDS


def _side_by_side(sessions, *workers):
    """Run every ``worker(session)`` for every session, each on a thread of its own, until all return."""
    threads = [threading.Thread(target=w, args=(s,)) for w in workers for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# ---------------------------------------------------------------- keys


def test_the_key_is_the_whole_config_and_the_data_content():
    assert run_key(SMALL) == run_key(ExperimentConfig(seq_len=20, hidden_size=8, batch_size=4))
    assert run_key(SMALL) != run_key(SMALL.replace(seed=1))
    assert run_key(SMALL) != run_key(SMALL.replace(lr=SMALL.lr * 2))
    other = SERIES.copy()
    assert data_digest(SERIES) == data_digest(other)  # same bytes, another object: the same key
    other[40, 1] += 1e-12
    assert data_digest(SERIES) != data_digest(other)  # one value differs: never shared
    assert data_digest(SERIES) != data_digest(SERIES.astype(np.float32))
    assert data_digest(SERIES[:, :1]) != data_digest(SERIES[:, 1:])
    assert data_digest("abc") == data_digest("ab" + "c") != data_digest("abd")
    assert data_digest(None) == "none"
    with pytest.raises(RnnvizError, match=r"^run data must be None, a str or a NumPy array, got list$"):
        data_digest([1, 2])


def test_sessions_on_the_same_config_share_one_run_built_once_even_when_they_arrive_together():
    reg = RunRegistry()
    sessions, errors = [], []

    def open_link():
        try:
            sessions.append(PlaySession(SMALL, registry=reg))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=open_link) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert reg.builds == 1 and len(reg) == 1
    assert len({id(s.trainer) for s in sessions}) == 1
    assert reg.get(run_key(SMALL)).watchers() == 8
    # another seed is another run
    assert PlaySession(SMALL.replace(seed=3), registry=reg).trainer is not sessions[0].trainer
    assert reg.builds == 2


def test_two_different_csvs_never_share_and_the_same_csv_does():
    reg = RunRegistry()
    csv = SMALL.replace(task="csv")
    other = SERIES[::-1].copy()
    a, b = PlaySession(csv, SERIES, registry=reg), PlaySession(csv, other, registry=reg)
    c = PlaySession(csv, SERIES.copy(), registry=reg)
    assert a.trainer is not b.trainer and a.trainer is c.trainer
    np.testing.assert_array_equal(a.history.scalars["loss"], _alone(csv, 1, SERIES)["loss"])
    np.testing.assert_array_equal(b.history.scalars["loss"], _alone(csv, 1, other)["loss"])


# ---------------------------------------------------------------- training and copy-on-write


def test_a_shared_run_trains_once_per_tick_window_and_equals_the_run_trained_alone():
    reg = RunRegistry()
    s1, s2 = PlaySession(SMALL, registry=reg), PlaySession(SMALL, registry=reg)
    s1.play()
    s2.play()
    first = s1.tick(budget=60, max_steps=5)
    assert first.steps == 5 and s2.current_step == s1.current_step == 5
    second = s2.tick(budget=60, max_steps=5)  # the same window: s2 reads what s1 trained
    assert second.steps == 0 and second.stopped is None and s2.playing and s2.current_step == 5
    _again(s1.shared)
    assert s2.tick(budget=60, max_steps=4).steps == 4
    assert s1.current_step == 9 and s1.rate is s2.rate
    s2.pause()  # pausing one session does not stop the run while another plays
    _again(s1.shared)
    assert s1.tick(budget=60, max_steps=3).steps == 3 and s2.current_step == 12
    np.testing.assert_array_equal(s2.history.scalars["loss"], _alone(SMALL, 13)["loss"])


def test_step_on_a_shared_run_gives_a_private_copy_and_the_others_are_untouched():
    reg = RunRegistry()
    s1, s2 = PlaySession(SMALL, registry=reg), PlaySession(SMALL, registry=reg)
    s1.play()
    s1.tick(budget=60, max_steps=4)
    shared = s1.shared
    s2.step(3)
    assert s2.trainer is not s1.trainer and s2.shared is not shared and s2.shared.key is None
    assert s1.current_step == 4 and s2.current_step == 7
    assert shared.watchers() == 1 and reg.get(run_key(SMALL)) is shared
    np.testing.assert_array_equal(s2.history.scalars["loss"], _alone(SMALL, 8)["loss"])
    np.testing.assert_array_equal(s1.history.scalars["loss"], _alone(SMALL, 5)["loss"])
    # the copy is the session's own now: further steps change it in place
    mine = s2.trainer
    s2.step(1)
    assert s2.trainer is mine and s2.current_step == 8


def test_reset_and_a_knob_on_a_shared_run_are_private_and_branch_copies_at_the_current_step():
    reg = RunRegistry()
    s1, s2, s3 = (PlaySession(SMALL, registry=reg) for _ in range(3))
    s1.play()
    s1.tick(budget=60, max_steps=6)
    s2.reset()
    assert s2.current_step == 0 and s1.current_step == 6 and s2.trainer is not s1.trainer
    assert s2.set_config(SMALL.replace(lr=0.02)) is True
    assert s2.current_step == 0 and s2.shared.key is None
    s3.play()
    s3.try_it_myself()
    assert not s3.playing and s3.current_step == 6 and s3.trainer is not s1.trainer
    assert s1.shared.watchers() == 1 and s1.current_step == 6


def test_branch_from_here_on_a_shared_run_copies_it_first_and_the_others_never_see_the_branch():
    """Rewind-and-branch (rnnviz/branches.py) on a run other sessions read: the session gets its own copy at
    the current step, the branch lives in that copy, and the shared run and its readers are untouched."""
    reg = RunRegistry()
    s1, s2 = PlaySession(SMALL, registry=reg), PlaySession(SMALL, registry=reg)
    s1.play()
    s1.tick(budget=60, max_steps=6)
    shared_trainer = s1.trainer
    run = s2.branch(4, {"lr": 0.02})
    assert s2.runs.names == ["original", run.name] and s2.config.lr == 0.02
    assert s2.runs.original.trainer is not shared_trainer and s2.runs.original.trainer.step_count == 7
    assert s1.trainer is shared_trainer and s1.runs.names == ["original"] and s1.current_step == 6
    assert s1.config.lr == SMALL.lr and s1.shared.watchers() == 1


def test_a_follower_never_changes_the_run_it_follows():
    reg = RunRegistry()
    leader = PlaySession(SMALL, registry=reg)
    leader.step(2)  # the leader's own (copied) run
    follower = PlaySession(SMALL.replace(seed=9), registry=reg)
    follower.follow(leader.shared)
    assert follower.trainer is leader.trainer and follower.config == leader.config
    follower.step(5)
    assert leader.current_step == 2 and follower.current_step == 7
    leader.step(1)  # the leader still owns its run: in place
    assert leader.current_step == 3 and leader.shared.watchers() == 1


# ---------------------------------------------------------------- threads


def test_ticks_from_many_sessions_train_one_thread_at_a_time_and_readers_never_see_half_a_record():
    reg = RunRegistry()
    sessions = [PlaySession(SMALL, registry=reg) for _ in range(4)]
    for s in sessions:
        s.play()
    trainer = sessions[0].trainer
    inside, most, lock = [0], [0], threading.Lock()
    step = trainer.step

    def counted(*a, **k):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            time.sleep(0.0005)  # widen the window two trainers would overlap in
            return step(*a, **k)
        finally:
            with lock:
                inside[0] -= 1

    trainer.step = counted
    stop = time.monotonic() + 2.0
    bad, ticks = [], []

    def ticker(s):
        while time.monotonic() < stop:
            _again(s.shared)
            ticks.append(s.tick(budget=0.02, max_steps=4).steps)

    def reader(s):
        while time.monotonic() < stop:
            with s.lock:
                h = s.history
                scal = h.scalars
                n = trainer.step_count
                if not (len(scal["step"]) == len(scal["loss"]) == len(scal["grad_norm"]) == n
                        and int(scal["step"][-1]) == n - 1):
                    bad.append(("scalars", n, len(scal["step"])))
                rec = h.record_at(int(h.recorded_steps()[-1]))
                if rec is None or rec.grad_norms is None or len(h.recorded_steps()) != len(h.light("grad_norms")):
                    bad.append(("record", n))

    _side_by_side(sessions, ticker, reader)
    assert not bad
    assert most[0] == 1  # never two training threads on the run
    assert sum(ticks) == trainer.step_count - 1 > 20
    np.testing.assert_array_equal(trainer.history.scalars["loss"], _alone(SMALL, trainer.step_count)["loss"])


def test_drawing_reads_a_snapshot_consistent_with_its_step_while_the_run_trains_and_never_blocks_training():
    """PlaySession.reading(): the pages draw without the run's lock (30 students holding it to draw queued
    behind the teacher's training tick and each other: 10 followers were redrawn 0.05-0.15 times a second).
    Inside it every reader sees one moment of the run: the step counter, the scalars and the records agree."""
    reg = RunRegistry()
    sessions = [PlaySession(SMALL, registry=reg) for _ in range(3)]
    for s in sessions:
        s.play()
    trainer = sessions[0].trainer
    stop = time.monotonic() + 2.0
    bad, seen = [], []

    def ticker(s):
        while time.monotonic() < stop:
            _again(s.shared)
            s.tick(budget=0.02, max_steps=4)

    def reader(s):
        while time.monotonic() < stop:
            with s.reading():
                h, n = s.history, s.current_step + 1
                time.sleep(0.001)  # training goes on meanwhile: the snapshot must not move
                scal = h.scalars
                if not (len(scal["step"]) == len(scal["loss"]) == len(scal["grad_norm"]) == n
                        and int(scal["step"][-1]) == n - 1 == s.current_step):
                    bad.append(("scalars", n, len(scal["step"])))
                rec = h.record_at(s.current_step)
                if rec is None or len(h.recorded_steps()) != len(h.light("grad_norms")) or h.key != trainer.history.key:
                    bad.append(("record", n))
                seen.append(n)

    _side_by_side(sessions, ticker, reader)
    assert not bad
    assert len(set(seen)) > 10  # the readers saw the run move
    assert sessions[0].trainer is trainer and sessions[0].history is trainer.history  # outside: the live run

    # a reader inside reading() does not hold up a tick of the same run in another thread
    done = threading.Event()
    with sessions[1].reading():
        before = sessions[1].current_step
        _again(sessions[0].shared)
        threading.Thread(target=lambda: (sessions[0].tick(budget=0.05, max_steps=3), done.set())).start()
        assert done.wait(30)
        assert sessions[1].current_step == before  # the drawing still shows its moment
    assert sessions[1].current_step == before + 3
    np.testing.assert_array_equal(trainer.history.scalars["loss"], _alone(SMALL, trainer.step_count)["loss"])


def test_an_action_from_inside_a_drawing_acts_on_the_live_run():
    s = PlaySession(SMALL, registry=RunRegistry())
    with s.reading():
        shown = s.history
        s.step(3)  # a button pressed while the page draws: the live run trains ...
        assert s.current_step == 3 and len(s.history) == 4  # ... and the drawing goes on with what it did
        assert len(shown) == 1  # (a snapshot taken before stays as it was)
        while s.trainer.step_count < 6:  # as a lesson's run button steps until its last step
            s.step(1)
    assert s.current_step == 5 and len(s.history) == 6


# ---------------------------------------------------------------- freeing


def test_a_run_nobody_is_on_is_freed_after_the_ttl():
    reg = RunRegistry()
    s1, s2 = PlaySession(SMALL, registry=reg), PlaySession(SMALL, registry=reg)
    gone = weakref.ref(s1.trainer)
    s2.set_config(SMALL.replace(seed=4))  # s2 leaves for a private run
    now = 1000.0
    assert reg.sweep(ttl=60, now=now) == 0 and len(reg) == 1  # s1 still watches
    del s1
    gc.collect()
    assert reg.sweep(ttl=60, now=now) == 0  # nobody watches: the TTL starts now
    assert reg.sweep(ttl=60, now=now + 59) == 0 and len(reg) == 1
    assert reg.sweep(ttl=60, now=now + 61) == 1 and len(reg) == 0
    gc.collect()
    assert gone() is None  # the trainer and its history are freed
    assert PlaySession(SMALL, registry=reg).current_step == 0 and reg.builds == 2


def test_a_run_everyone_left_is_not_joined_the_next_visitor_starts_afresh():
    reg = RunRegistry()
    s1 = PlaySession(SMALL, registry=reg)
    s1.play()
    s1.tick(budget=60, max_steps=5)
    keep = s1.trainer
    del s1
    gc.collect()
    s2 = PlaySession(SMALL, registry=reg)
    assert s2.current_step == 0 and s2.trainer is not keep and len(reg) == 1 and reg.builds == 2


# ---------------------------------------------------------------- shared figures


def test_a_figure_is_built_once_for_thirty_readers_and_the_cache_is_bounded_in_bytes():
    cache = FigureCache(max_bytes=1000)
    builds = []

    def build():
        builds.append(1)
        time.sleep(0.05)  # every reader arrives while the first still builds
        return "x" * 300

    out = []
    threads = [threading.Thread(target=lambda: out.append(cache.get(("run", 5, "loss"), build))) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and cache.builds == 1 and cache.hits == 29 and out == ["x" * 300] * 30
    for step in (6, 7, 8):
        cache.get(("run", step, "loss"), lambda: "y" * 300)
    assert len(cache) == 3 and cache.nbytes == 900  # the oldest (step 5) went first
    assert cache.get(("run", 5, "loss"), lambda: "z") == "z"
    assert cache.get(("big",), lambda: "w" * 1001) == "w" * 1001 and cache.nbytes <= 1000
    pairs = FigureCache(max_bytes=10)  # (spec, height) entries are sized by their text
    pairs.get("a", lambda: ("x" * 6, 400))
    pairs.get("b", lambda: ("y" * 6, 400))
    assert len(pairs) == 1 and pairs.nbytes == 6
    with pytest.raises(ValueError, match="boom"):
        cache.get(("bad",), lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert cache.get(("bad",), lambda: "ok") == "ok"


def test_figures_nobody_drew_lately_are_dropped_and_the_others_kept():
    now = [0.0]
    cache = FigureCache(max_bytes=1000, clock=lambda: now[0])
    cache.get("old", lambda: "a" * 100)
    now[0] = 20.0
    cache.get("read", lambda: "b" * 50)
    cache.get("fresh", lambda: "c" * 10)
    now[0] = 40.0
    cache.get("read", lambda: "never built again")  # read at 40: kept
    assert cache.expire(30.0) == 100  # "old" was last used at 0
    assert len(cache) == 2 and cache.nbytes == 60
    now[0] = 100.0
    assert cache.expire(30.0) == 60 and len(cache) == 0 and cache.nbytes == 0
    assert cache.builds == 3


def test_a_run_whose_sessions_all_closed_their_browsers_is_not_joined():
    connected = set()
    reg = RunRegistry(alive=lambda s: id(s) in connected)
    s1 = PlaySession(SMALL, registry=reg)
    connected.add(id(s1))
    s1.step(1)  # s1's own copy: the listed run has no session now
    s1b = PlaySession(SMALL, registry=reg)
    connected.add(id(s1b))
    assert PlaySession(SMALL, registry=reg).trainer is s1b.trainer  # s1b is connected: joined
    connected.clear()  # every browser closed (the sessions linger until their TTL)
    s3 = PlaySession(SMALL, registry=reg)
    assert s3.trainer is not s1b.trainer and reg.builds == 3


def test_a_session_alone_on_its_run_counts_once_in_the_servers_demand():
    """The redraw interval stretches with the gate's demand (owners seen per slot). A session alone on a
    registry run built it, and trains it, under one owner: counted twice, every tick found the interval
    changed and reran the whole app (a knob turned mid-play drew step 64, not step 0)."""
    from rnnviz.capacity import TrainingGate

    gate = TrainingGate(slots=1)
    alone = PlaySession(SMALL, gate=gate, registry=RunRegistry())
    alone.play()
    assert alone.tick(budget=60, max_steps=2).steps == 2
    assert gate.demand() == 1.0
