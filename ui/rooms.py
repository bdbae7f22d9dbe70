"""Follow-the-teacher rooms in the app (rnnviz/rooms.py has the rules; ui/state.py reads ``?room=``).

- :func:`sync` (app.py, every run, before the sidebar and the page): a teacher's page and preset are
  recorded in the room; a following student is put on the teacher's run and page.
- :func:`refresh` (ui/live.py, every redraw of the live area): a following student picks up the teacher's
  run and play state at once; a new page of the teacher's is offered as a link there, and taken at the next
  full run of the student's app (see refresh's docstring for why not at once). A student's live area
  redraws every tick even while the teacher is paused, so a teacher's Play reaches them within one redraw.
- :func:`banner`: the teacher sees the room's census; a student sees "Try it myself" / "Rejoin".
"""

from __future__ import annotations

import streamlit as st

from rnnviz.rooms import TEACHER, follow_leader
from ui import state
from ui.server import rooms
from ui.text import md_escape

LED_KEY = "rnnviz.room_led"  # this session has claimed the room's lead once (a teacher link claims it once)
SEEN_KEY = "rnnviz.room_seen"  # what the student's app last drew: (doing, run id, page, preset)


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
    room, _ = current()
    if room is None or room.is_leader(state.session()):
        return False
    member = room.member(state.session())
    return member is None or not member.branched


def _page_of(url_path: str):
    from ui.frame import PAGE_TABLE

    return next((p for p in PAGE_TABLE if p[3] == url_path), None)


def _seen(doing: str, room, sess) -> tuple:
    """What a change of makes a student's whole app rerun: not the play state, which the live area (always
    redrawing for a student) shows by itself: a rerun of the app from a fragment costs a full redraw."""
    return (doing, getattr(sess.shared, "id", None), room.page, room.preset)


def sync(page: str) -> None:
    """Run once per app run with the page being shown (its url path)."""
    room, role = current()
    if room is None:
        return
    sess = state.session()
    if role == TEACHER and not st.session_state.get(LED_KEY):
        previous = room.run
        room.lead(sess)  # once: a newer teacher tab takes over, and this one then follows it
        st.session_state[LED_KEY] = True
        if previous is not None and previous is not sess.shared and previous.config == sess.live_config:
            sess.follow(previous)  # a reload of the same link: the class's run, where it was
    if room.is_leader(sess):
        room.page, room.preset, room.run = page, state.preset_name(), sess.shared
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
        _switch(sess, room, target)


def refresh() -> None:
    """In a following student's live area (every redraw): the teacher's run and play state. When the teacher
    is on another page, or started another run, it says so here, with a link to the teacher's page: the whole
    app is not rerun from the live area, because a full rerun (or ``st.switch_page``) requested from a
    ``run_every`` fragment can leave the browser's page blank ("Bad delta path index" in Streamlit 1.67's
    frontend, seen in tests/e2e/test_rooms_browser.py). The next full run of the app (any click, a reload)
    takes the student to the teacher's page (:func:`sync`)."""
    if not watching():
        return
    room, _ = current()
    sess = state.session()
    doing = follow_leader(room, sess)
    seen = st.session_state.get(SEEN_KEY)
    if doing != "following" or seen is None:
        return
    target = _page_of(room.page) if room.page else None
    if target is not None and room.page != seen[2]:
        st.page_link(target[0], label=f"The teacher is on {target[1]}: go there", icon=":material/arrow_forward:")
    if seen[1] != getattr(sess.shared, "id", None):
        st.caption("The teacher started another run (new settings or a reset): the charts below show it; the "
                   "sidebar shows its settings after your next click.")


def _switch(sess, room, target) -> None:
    """To the teacher's page; the link's parameters go along (switch_page clears them)."""
    st.switch_page(target[0], query_params=state.url_params(sess.live_config, room.preset))


def _branch() -> None:
    room, _ = current()
    room.branch(state.session())
    st.session_state[state.FOLLOWING_KEY] = False


def _rejoin() -> None:
    room, _ = current()
    room.rejoin(state.session())


def banner() -> None:
    """The room line at the top of every page (nothing outside a room)."""
    room, _ = current()
    if room is None:
        return
    name = md_escape(room.name)
    with st.container(horizontal=True, vertical_alignment="center", key="room-banner"):
        if room.is_leader(state.session()):
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
