"""Shared runs and rooms through AppTest (issue 13): two sessions on one run drawing one build of each
chart; a student following the teacher, branching and rejoining. AppTest instances in one process share
the server's registries (st.cache_resource), as the sessions of one server do."""

from __future__ import annotations

from conftest import assert_no_exception, figures, open_app, session

from rnnviz.trainer import limit_threads
from ui.server import figure_cache, rooms

limit_threads(1)
SMALL = {"seq_len": "20", "hidden_size": "16", "batch_size": "8"}


def _play_then_pause(at):
    at.button(key="ctl.play").click().run()  # the live area draws, then trains one tick
    at.button(key="ctl.play").click().run()
    assert_no_exception(at)


def test_sessions_on_the_same_link_share_one_run_and_one_build_of_each_chart():
    first = open_app(SMALL)
    others = [open_app(SMALL) for _ in range(3)]
    assert all(session(at).trainer is session(first).trainer for at in others)
    assert session(first).shared.watchers() == 4
    _play_then_pause(first)
    step = session(first).current_step
    assert step > 0 and all(session(at).current_step == step for at in others)
    first.run()  # draws the newest step: its three charts are built once here ...
    cache = figure_cache()
    builds = cache.builds
    for at in others:
        at.run()  # ... and reused by every other session on the run
        assert_no_exception(at)
        assert figures(at) == figures(first)
    assert cache.builds == builds
    # a Step gives that session its own copy; the others keep the shared run where it was
    others[0].button(key="ctl.step1").click().run()
    assert session(others[0]).current_step == step + 1 and session(first).current_step == step
    assert session(others[0]).trainer is not session(first).trainer
    assert session(first).shared.watchers() == 3


def test_a_student_follows_the_teacher_branches_and_rejoins():
    teacher = open_app({**SMALL, "room": "Lab-1", "role": "teacher"})
    student = open_app({"room": "lab-1"})
    t, s = session(teacher), session(student)
    assert s.trainer is t.trainer and s.config == t.config
    assert student.button(key="ctl.play").disabled and student.button(key="ctl.step1").disabled
    teacher.run()  # the census is read when the teacher's page is drawn
    assert "Room lab-1" in teacher.info[0].value and "1 student(s)" in teacher.info[0].value
    assert "you follow the teacher as student #1" in student.info[0].value
    assert student.query_params["room"] == "lab-1" and "role" not in student.query_params
    # the teacher plays: the student plays the same run, at the same step
    teacher.button(key="ctl.play").click().run()
    student.run()
    assert s.playing and s.current_step == t.current_step > 0
    teacher.button(key="ctl.play").click().run()
    # the teacher moves to another page: the student is taken there
    teacher.switch_page("pages/hidden_states.py").run()
    student.run()
    assert_no_exception(student)
    assert any(m.value == "Hidden states" for m in student.title)
    # try it myself: a private copy at the current step, every control back
    step = t.current_step
    student.button(key="room.branch").click().run()
    assert_no_exception(student)
    assert s.trainer is not t.trainer and s.current_step == step
    assert not student.button(key="ctl.step1").disabled
    student.button(key="ctl.step1").click().run()
    assert s.current_step == step + 1 and t.current_step == step
    teacher.run()
    assert "trying it themselves: #1" in teacher.info[0].value
    # rejoin: back on the teacher's run
    student.button(key="room.rejoin").click().run()
    assert_no_exception(student)
    assert s.trainer is t.trainer and s.current_step == step
    assert student.button(key="ctl.step1").disabled
    teacher.run()
    assert "all following you" in teacher.info[0].value
    assert rooms().get("lab-1").census().students == 1


def test_a_bad_room_name_is_a_notice_not_a_crash():
    at = open_app({"room": "<img src=x>" + "y" * 60})
    text = " ".join(w.value for w in at.warning)
    assert "room must be 1 to 40 letters, digits" in text and "not in a room" in text
    assert "room" not in at.query_params


def test_the_share_page_builds_the_teachers_and_the_students_links():
    at = open_app({**SMALL, "lock": "cell"}, page="pages/share.py")
    at.text_input(key="share.room").input("Bio-101").run()
    assert_no_exception(at)
    links = [c.value for c in at.code if "room=" in c.value]
    assert len(links) == 2
    teacher, students = links
    assert teacher.endswith("?hidden_size=16&seq_len=20&batch_size=8&lock=cell&room=bio-101&role=teacher")
    assert students.endswith("/?room=bio-101")
    at.text_input(key="share.room").input("no spaces").run()
    assert [e.value for e in at.error] == [
        "room must be 1 to 40 letters, digits, '-' or '\\_', starting with a letter or digit, got 'no spaces'"]
    assert not [c.value for c in at.code if "room=" in c.value]


def test_a_reloaded_teacher_tab_takes_the_classs_run_back_where_it_was():
    teacher = open_app({**SMALL, "room": "r2", "role": "teacher"})
    teacher.button(key="ctl.step10").click().run()  # the teacher's own run, at step 10
    student = open_app({"room": "r2"})
    student.button(key="room.branch").click().run()  # nobody else is on the teacher's run now
    again = open_app({**SMALL, "room": "r2", "role": "teacher"})  # the teacher reloads the tab
    assert session(again).trainer is session(teacher).trainer and session(again).current_step == 10
    assert "you lead" in again.info[0].value
