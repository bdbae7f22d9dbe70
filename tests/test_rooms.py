"""Follow-the-teacher rooms (rnnviz/rooms.py): names, leader and students, branch and rejoin, freeing."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.rooms import ROOM_NAME_MAX, Census, RoomRegistry, follow_leader, room_name, room_role
from rnnviz.session import TICK_WINDOW_SECONDS, PlaySession
from rnnviz.shared import RunRegistry
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
SMALL = ExperimentConfig(seq_len=20, hidden_size=8, batch_size=4)


def test_room_names_are_checked_cut_and_case_free():
    assert room_name(" Bio-101_a ") == "bio-101_a"
    assert room_name("x" * ROOM_NAME_MAX) == "x" * ROOM_NAME_MAX
    rule = "room must be 1 to 40 letters, digits, '-' or '_', starting with a letter or digit, got "
    for bad, shown in (("", "''"), ("-a", "'-a'"), ("a b", "'a b'"), ("<script>", "'<script>'"),
                       ("x" * 41, repr("x" * 24 + "...")), ("é", "'é'"), ("a/../b", "'a/../b'")):
        with pytest.raises(RnnvizError) as e:
            room_name(bad)
        assert str(e.value) == rule + shown
        assert e.value.field == "room"
    assert room_role(None) == "student" and room_role("Teacher") == "teacher"
    with pytest.raises(RnnvizError, match=r"^role must be one of \['teacher', 'student'\], got 'admin'$"):
        room_role("admin")


def test_students_follow_the_leaders_run_and_play_state_and_never_change_it():
    runs, rooms = RunRegistry(), RoomRegistry()
    room = rooms.room("Class")
    assert rooms.room("class") is room and len(rooms) == 1
    teacher = PlaySession(SMALL, runs=runs)
    a, b = PlaySession(SMALL.replace(seed=5), runs=runs), PlaySession(SMALL.replace(seed=6), runs=runs)
    assert follow_leader(room, a) == "waiting" and not a.playing  # no teacher yet
    room.lead(teacher)
    assert follow_leader(room, teacher) == "leading"
    teacher.play()
    assert follow_leader(room, a) == follow_leader(room, b) == "following"
    assert a.trainer is b.trainer is teacher.trainer and a.playing and b.playing
    assert room.census() == Census(2, ())
    teacher.tick(budget=60, max_steps=3)
    assert a.current_step == b.current_step == teacher.current_step == 3
    # the leader changes a knob: a new run; the students are on it at their next redraw
    teacher.set_config(SMALL.replace(lr=0.005))
    teacher.play()
    assert follow_leader(room, a) == "following" and a.config == teacher.config and a.current_step == 0
    assert a.trainer is teacher.trainer
    # a follower's tick trains the leader's run at most once per tick window, like the leader's own
    teacher.shared.last_tick -= 10 * TICK_WINDOW_SECONDS
    assert a.tick(budget=60, max_steps=2).steps == 2 and teacher.current_step == 2
    # an action that got through would copy first: the leader's run is never changed by a student
    a.step(4)
    assert teacher.current_step == 2 and a.current_step == 6
    teacher.pause()
    assert follow_leader(room, b) == "following" and not b.playing


def test_try_it_myself_branches_at_the_current_step_and_rejoin_returns_to_the_leader():
    runs, room = RunRegistry(), RoomRegistry().room("r1")
    teacher, s = PlaySession(SMALL, runs=runs), PlaySession(SMALL, runs=runs)
    room.lead(teacher)
    teacher.step(5)
    follow_leader(room, s)
    room.branch(s)
    assert s.trainer is not teacher.trainer and s.current_step == 5 and not s.playing
    assert follow_leader(room, s) == "branched" and room.census() == Census(1, (1,))
    s.step(2)
    teacher.step(1)
    assert s.current_step == 7 and teacher.current_step == 6
    alone = Trainer(SMALL)
    alone.step(8)
    np.testing.assert_array_equal(s.history.scalars["loss"], alone.history.scalars["loss"])
    room.rejoin(s)
    assert follow_leader(room, s) == "following" and s.trainer is teacher.trainer and s.current_step == 6
    assert room.census() == Census(1, ())
    with pytest.raises(RnnvizError, match=r"^only a student of room 'r1' can branch from it"):
        room.branch(teacher)
    with pytest.raises(RnnvizError, match=r"^the teacher of room 'r1' cannot also join it as a student"):
        room.join(teacher)


def test_the_newest_teacher_leads_and_the_old_tab_follows_only_if_it_runs_again():
    runs, room = RunRegistry(), RoomRegistry().room("r")
    t1, t2 = PlaySession(SMALL, runs=runs), PlaySession(SMALL.replace(seed=2), runs=runs)
    room.lead(t1)
    room.lead(t2)  # the teacher reloaded the tab
    assert room.is_leader(t2) and room.member(t1) is None and room.census() == Census(0, ())
    assert follow_leader(room, t1) == "following" and t1.trainer is t2.trainer  # the old tab is still open
    assert room.member(t1).number == 1


def test_students_are_numbered_once_even_when_many_join_together():
    runs, room = RunRegistry(), RoomRegistry().room("many")
    sessions = [PlaySession(SMALL, runs=runs) for _ in range(12)]
    threads = [threading.Thread(target=room.join, args=(s,)) for s in sessions for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(room.member(s).number for s in sessions) == list(range(1, 13))
    assert room.census().students == 12


def test_a_room_goes_when_its_sessions_have_gone():
    runs, rooms = RunRegistry(), RoomRegistry()
    room = rooms.room("gone")
    teacher, student = PlaySession(SMALL, runs=runs), PlaySession(SMALL, runs=runs)
    room.lead(teacher)
    room.join(student)
    assert rooms.sweep() == 0
    del teacher
    gc.collect()
    assert room.leader() is None and follow_leader(room, student) == "waiting"
    assert rooms.sweep() == 0 and room.census().students == 1
    del student
    gc.collect()
    assert room.census().students == 0 and rooms.sweep() == 1 and rooms.get("gone") is None
