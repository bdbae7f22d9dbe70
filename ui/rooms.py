"""Follow-the-teacher rooms in the app (rnnviz/rooms.py has the rules; ui/state.py reads ``?room=``).

- :func:`sync` (app.py, every run, before the sidebar and the page): a teacher's page and preset are
  recorded in the room; a following student is put on the teacher's run and page.
- :func:`refresh` (ui/live.py, every redraw of the live area): a following student picks up the teacher's
  run, play state, page and preset; when one of them changed, the whole app reruns so the sidebar, the
  control strip and the page show it. A student's live area redraws every tick even while the teacher is
  paused, so a teacher's Play reaches them within one redraw.
- :func:`banner`: the teacher sees the room's census; a student sees "Try it myself" / "Rejoin".
"""

from __future__ import annotations

import streamlit as st

from rnnviz.rooms import TEACHER, follow_leader
from ui import state
from ui.server import rooms
from ui.text import md_escape

SEEN_KEY = "rnnviz.room_seen"  # what the student's app last drew: (run id, page, playing, preset)


def current():
    """This session's room (rnnviz.rooms.Room) and role, or (None, None)."""
    joined = state.room()
    if joined is None:
        return None, None
    return rooms().room(joined[0]), joined[1]


def following() -> bool:
    """True while this session is a student showing the teacher's run."""
    return bool(st.session_state.get(state.FOLLOWING_KEY))


def watching() -> bool:
    """True for a student who has not branched (following, or waiting for the teacher): the live area then
    redraws every tick, playing or not, to pick up what the teacher does."""
    room, role = current()
    if room is None or role == TEACHER:
        return False
    member = room.member(state.session())
    return member is None or not member.branched


def _page_of(url_path: str):
    from ui.frame import PAGE_TABLE

    return next((p for p in PAGE_TABLE if p[3] == url_path), None)


def _seen(doing: str, room, sess) -> tuple:
    return (doing, getattr(sess.shared, "id", None), room.page, sess.playing, room.preset)


def sync(page: str) -> None:
    """Run once per app run with the page being shown (its url path)."""
    room, role = current()
    if room is None:
        return
    sess = state.session()
    if role == TEACHER:
        if not room.is_leader(sess):
            room.lead(sess)
        room.page, room.preset = page, state.preset_name()
        st.session_state[state.FOLLOWING_KEY] = False
        return
    doing = follow_leader(room, sess)
    st.session_state[state.FOLLOWING_KEY] = doing == "following"
    st.session_state[SEEN_KEY] = _seen(doing, room, sess)
    if doing != "following":
        return
    st.session_state[state.PRESET_KEY] = room.preset
    target = _page_of(room.page) if room.page else None
    if target is not None and room.page != page:
        st.switch_page(target[0])


def refresh() -> None:
    """In the live area of a following student: follow the teacher; rerun the app when what it shows moved."""
    if not watching():
        return
    room, _ = current()
    sess = state.session()
    doing = follow_leader(room, sess)
    if _seen(doing, room, sess) != st.session_state.get(SEEN_KEY):
        st.rerun()


def _branch() -> None:
    room, _ = current()
    room.branch(state.session())
    st.session_state[state.FOLLOWING_KEY] = False


def _rejoin() -> None:
    room, _ = current()
    room.rejoin(state.session())


def banner() -> None:
    """The room line at the top of every page (nothing outside a room)."""
    room, role = current()
    if room is None:
        return
    name = md_escape(room.name)
    with st.container(horizontal=True, vertical_alignment="center", key="room-banner"):
        if role == TEACHER:
            census = room.census()
            who = ", ".join(f"#{n}" for n in census.branched)
            tried = f"; trying it themselves: {who}" if who else "; all following you"
            st.info(f"**Room {name}** · you lead · {census.students} student(s) in the room{tried}.",
                    icon=":material/co_present:", width="stretch")
            return
        member = room.member(state.session())
        number = f" as student #{member.number}" if member else ""
        if following():
            st.info(f"**Room {name}**: you follow the teacher{number}. Their run, page and play/pause drive "
                    "this view; your controls are locked.", icon=":material/groups:", width="stretch")
            st.button("Try it myself", key="room.branch", on_click=_branch, width="content",
                      help="Your own copy of the run at this step, with every control: the teacher's run is "
                           "not touched.")
        elif member is not None and member.branched:
            st.warning(f"**Room {name}**: you are trying it yourself{number}, on your own copy of the run.",
                       icon=":material/science:", width="stretch")
            st.button("Rejoin the teacher", key="room.rejoin", on_click=_rejoin, width="content")
        else:
            st.info(f"**Room {name}**: waiting for the teacher{number}.", icon=":material/hourglass_top:",
                    width="stretch")
