"""Follow-the-teacher rooms (issue 13, part 2). Pure Python: no Streamlit (ui/rooms.py wires it).

``?room=NAME&role=teacher`` makes a session the room's leader; ``?room=NAME`` joins it as a follower
(a student, numbered in the order they joined: "#1", "#2", ...). The room name is the only secret.

- A following student is on the leader's current run (``PlaySession.follow``: the run's one history,
  no copy), shows it playing when the leader plays, and is shown the leader's page and preset;
  :func:`follow_leader` does this on every redraw, so a follower is at most one redraw behind. Only the
  leader's ticks train the leader's run (ui/live.py), so the leader's Pause stops it exactly.
- A student can never change the leader's run: while following, every control is locked (ui/rooms.py),
  and even an action that got through would copy the run first (rnnviz/session.py, copy-on-write).
- "Try it myself" (:meth:`Room.branch`): a private copy of the run at its current step, every control
  back; "Rejoin" (:meth:`Room.rejoin`): back on the leader's run at the next redraw.
- The teacher sees :meth:`Room.census`: how many students are in the room and which of them branched.
- Leadership: the newest session that opens the teacher link leads (a teacher who reloads the tab keeps
  the room); the one it replaces, if its tab is still open, follows as a student from its next run.
- Sessions are held weakly: a closed tab leaves the room when its session goes (the session TTL), and
  :meth:`RoomRegistry.sweep` drops rooms with nobody in them.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass

from rnnviz.errors import RnnvizError

#: A room name: 1 to ROOM_NAME_MAX letters, digits, "-" or "_", starting with a letter or digit; case is ignored.
ROOM_NAME_MAX = 40
_NAME = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{ROOM_NAME_MAX - 1}}}")
TEACHER = "teacher"
STUDENT = "student"
ROLES = (TEACHER, STUDENT)
#: At most this many characters of a refused name are quoted back (the rest is cut, with "...").
SHOWN_MAX = 24


def room_name(text) -> str:
    """The room's name from a link, lower-cased; a bad one raises RnnvizError quoting (a cut of) it."""
    name = str(text).strip().lower()
    if _NAME.fullmatch(name):
        return name
    shown = str(text)[:SHOWN_MAX] + ("..." if len(str(text)) > SHOWN_MAX else "")
    raise RnnvizError(f"room must be 1 to {ROOM_NAME_MAX} letters, digits, '-' or '_', starting with a letter "
                      f"or digit, got {shown!r}", field="room", rule="room name", value=shown)


def room_role(text) -> str:
    """``teacher`` or ``student`` (the default) from a link's ``role=``."""
    role = str(text or STUDENT).strip().lower()
    if role in ROLES:
        return role
    shown = str(text)[:SHOWN_MAX] + ("..." if len(str(text)) > SHOWN_MAX else "")
    raise RnnvizError(f"role must be one of {list(ROLES)}, got {shown!r}", field="role", rule="room role",
                      value=shown)


@dataclass
class Member:
    """A student in a room: their number (join order, from 1) and whether they branched."""

    number: int
    branched: bool = False


@dataclass(frozen=True)
class Census:
    """What the teacher sees: students in the room now, and the numbers of those trying it themselves."""

    students: int
    branched: tuple[int, ...]


class Room:
    """One room: its leader (held weakly), its students, and what the leader shows (page, preset)."""

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._leader: weakref.ref | None = None
        self._members: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._next = 1
        self.page: str | None = None  # the leader's page (a url path), None until the leader has drawn one
        self.preset: str | None = None  # the preset the leader's run came from (None: custom settings)
        self.run = None  # the leader's run as last drawn (a reloaded teacher tab takes it back)

    def lead(self, session) -> None:
        """``session`` leads from now on (it stops being a student). The session it replaces (most often the
        same teacher's reloaded tab) is not counted as a student unless it joins again (:func:`follow_leader`)."""
        with self._lock:
            self._members.pop(session, None)
            self._leader = weakref.ref(session)

    def leader_locked(self):
        return self._leader() if self._leader is not None else None

    def leader(self):
        """The leading session, or None (no teacher yet, or their session has gone)."""
        with self._lock:
            return self.leader_locked()

    def is_leader(self, session) -> bool:
        return self.leader() is session

    def _add(self, session) -> Member:
        member = self._members.get(session)
        if member is None:
            member = self._members[session] = Member(self._next)
            self._next += 1
        return member

    def join(self, session) -> Member:
        """``session`` joins as a student (once; joining again returns the same member)."""
        with self._lock:
            if self.leader_locked() is session:
                raise RnnvizError(f"the teacher of room {self.name!r} cannot also join it as a student, got "
                                  "the leading session")
            return self._add(session)

    def member(self, session) -> Member | None:
        with self._lock:
            return self._members.get(session)

    def branch(self, session) -> None:
        """"Try it myself": the student gets a private copy of the run at its current step."""
        member = self.member(session)
        if member is None:
            raise RnnvizError(f"only a student of room {self.name!r} can branch from it, got a session "
                              "that is not in it")
        session.branch()
        member.branched = True

    def rejoin(self, session) -> None:
        """Back on the leader's run (at the next :func:`follow_leader`)."""
        member = self.member(session)
        if member is None:
            raise RnnvizError(f"only a student of room {self.name!r} can rejoin it, got a session that is not in it")
        member.branched = False

    def census(self) -> Census:
        with self._lock:
            members = list(self._members.values())
        return Census(len(members), tuple(sorted(m.number for m in members if m.branched)))

    def empty(self) -> bool:
        with self._lock:
            return self.leader_locked() is None and not len(self._members)


def follow_leader(room: Room, session) -> str:
    """Put a student of ``room`` on the leader's run, playing when the leader plays. Returns what the
    session does now: ``leading``, ``branched`` (on its own copy), ``waiting`` (no teacher yet) or
    ``following``."""
    leader = room.leader()
    if leader is session:
        return "leading"
    member = room.join(session)
    if member.branched:
        return "branched"
    if leader is None or leader.shared is None:
        session.playing = False
        return "waiting"
    session.follow(leader.shared)
    session.playing = bool(leader.playing and leader.loaded is None)
    return "following"


class RoomRegistry:
    """The server's rooms by name (:func:`room_name`); rooms with nobody in them go at :meth:`sweep`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rooms: dict[str, Room] = {}

    def room(self, name: str) -> Room:
        """The room called ``name`` (checked by :func:`room_name`), opened if it is new."""
        name = room_name(name)
        with self._lock:
            room = self._rooms.get(name)
            if room is None:
                room = self._rooms[name] = Room(name)
            return room

    def get(self, name: str) -> Room | None:
        with self._lock:
            return self._rooms.get(name)

    def __len__(self) -> int:
        with self._lock:
            return len(self._rooms)

    def sweep(self) -> int:
        """Drop the rooms nobody is in (their sessions went with the TTL); returns how many went."""
        with self._lock:
            empty = [n for n, r in self._rooms.items() if r.empty()]
            for n in empty:
                del self._rooms[n]
        return len(empty)
