"""Per-browser-session state, set up once with ``setdefault`` semantics.

``st.session_state`` holds one :class:`rnnviz.session.PlaySession` (config -> trainer -> history)
and, on demand, one :class:`rnnviz.lockstep.CompareSession`. The URL is the shareable form of
the config: on the first run of a session the query parameters are parsed leniently
(``ExperimentConfig.from_params``); every later config change writes them back.

Instructor mode: ``?lock=cell,rho&hide=optimizer`` locks or hides controls so a demo cannot be
wrecked; the flags are read once per session and written back with the config. Besides the config
fields the controls are ``preset`` (the picker and the Learn page's preset buttons), ``play`` (play,
step, x10, here and on Compare), ``reset``, ``upload`` (runs, CSV, text) and ``download`` (every
download button). A locked field also holds against presets and uploads that would change it.

Shared runs and rooms (issue 13): a session opened from a link joins the server's run for that config
(``ui.server.shared_runs``; rnnviz/session.py states the rules). ``?room=NAME`` (``&role=teacher``) puts
the session in a follow-the-teacher room (ui/rooms.py); while it follows, every control is locked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from rnnviz import challenges
from rnnviz.config import FIELDS, PRESETS, ExperimentConfig, preset_key
from rnnviz.errors import RnnvizError
from rnnviz.lockstep import CompareSession
from rnnviz.rooms import STUDENT, TEACHER, room_name, room_role
from rnnviz.session import PlaySession
from ui.server import shared_runs, training_gate, wait_notice

SESSION_KEY = "rnnviz.session"
COMPARE_KEY = "rnnviz.compare"
FLAGS_KEY = "rnnviz.flags"
NOTICES_KEY = "rnnviz.notices"
PRESET_KEY = "rnnviz.preset"  # the preset the current config came from (None: custom)
CHALLENGE_KEY = "rnnviz.challenge"  # the challenge the link named (rnnviz.challenges; None: none)
VIEW_KEY = "rnnviz.view"  # "present" (lecture: no sidebar, one control strip, key chart first) or "normal"
VIEW_PARAM = "view"  # ?view=present: the presentation view, kept in every link
PRESENT = "present"
ROOM_KEY = "rnnviz.room"  # (room name, "teacher" | "student") from the link, or None
FOLLOWING_KEY = "rnnviz.following"  # True while a student shows the teacher's run (every control locked)
ROOM_PARAMS = ("room", "role")


def _room(params: dict[str, str]) -> tuple[tuple[str, str] | None, list[str]]:
    """The room the link asks for, and a notice if its name or role cannot be used."""
    if "room" not in params:
        return None, []
    try:
        name = room_name(params["room"])
    except RnnvizError as e:
        return None, [f"room: {e}; not in a room"]
    try:
        role = room_role(params.get("role"))
    except RnnvizError as e:
        return (name, STUDENT), [f"role: {e}; joined as a student"]
    return (name, role), []


@dataclass(frozen=True)
class InstructorFlags:
    """Controls locked (shown, disabled) or hidden by the URL (``lock=...``, ``hide=...``)."""

    locked: frozenset[str] = field(default_factory=frozenset)
    hidden: frozenset[str] = field(default_factory=frozenset)

    CONTROLS = (*FIELDS, "preset", "play", "reset", "upload", "download")
    PARAMS = ("lock", "hide")  # URL keys that are flags, not config fields

    @classmethod
    def from_params(cls, params: dict[str, str]) -> tuple[InstructorFlags, list[str]]:
        problems: list[str] = []
        sets = {}
        for flag in ("lock", "hide"):
            names = [n.strip() for n in str(params.get(flag, "")).split(",") if n.strip()]
            unknown = [n for n in names if n not in cls.CONTROLS]
            if unknown:
                problems.append(f"{flag}: {', '.join(unknown)} is not a control; ignored")
            sets[flag] = frozenset(n for n in names if n in cls.CONTROLS)
        return cls(locked=sets["lock"], hidden=sets["hide"]), problems

    def to_params(self) -> dict[str, str]:
        out = {}
        if self.locked:
            out["lock"] = ",".join(sorted(self.locked))
        if self.hidden:
            out["hide"] = ",".join(sorted(self.hidden))
        return out

    def usable(self, name: str) -> bool:
        return name not in self.locked and name not in self.hidden

    def blocked(self, old: ExperimentConfig, new: ExperimentConfig) -> list[str]:
        """Locked fields that ``new`` would change (a preset or an upload must not touch them)."""
        return [n for n in FIELDS if n in self.locked and getattr(old, n) != getattr(new, n)]


def _gate():
    """The server's training gate: building a run takes a training slot like a tick does."""
    return training_gate()


def _query_params() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params.keys()}


def session() -> PlaySession:
    """The session's live run, created on its first script run from the URL's parameters."""
    if SESSION_KEY not in st.session_state:
        params = _query_params()
        config_params = {k: v for k, v in params.items()
                         if k not in (*InstructorFlags.PARAMS, VIEW_PARAM, *challenges.PARAMS, *ROOM_PARAMS)}
        challenge, challenge_problems = challenges.from_params(params)
        if challenge is not None and challenge.key and not config_params:
            config_params = challenge.config.to_params()  # a shipped challenge's own config, unless the link has one
        config, problems = ExperimentConfig.from_params(config_params)
        flags, flag_problems = InstructorFlags.from_params(params)
        if challenge is not None:
            flags = InstructorFlags(flags.locked | challenge.locked, flags.hidden | set(challenge.hide))
        st.session_state.setdefault(CHALLENGE_KEY, challenge)
        flag_problems += challenge_problems
        room, room_problems = _room(params)
        flag_problems += room_problems
        st.session_state.setdefault(ROOM_KEY, room)
        preset = preset_key(params["preset"]) if "preset" in params else None
        preset = preset if preset is not None and PRESETS[preset].config == config else None
        st.session_state.setdefault(FLAGS_KEY, flags)
        st.session_state.setdefault(PRESET_KEY, preset)
        view, view_problems = view_from_params(params)
        st.session_state.setdefault(NOTICES_KEY, problems + flag_problems + view_problems)
        st.session_state.setdefault(VIEW_KEY, view)
        st.session_state.setdefault(SESSION_KEY, PlaySession(config, gate=_gate(), registry=shared_runs(),
                                                             notify=wait_notice))
        st.session_state[SESSION_KEY].client = _client_id()  # shared runs: is this browser still connected
    return st.session_state[SESSION_KEY]


VIEWS = (PRESENT, "normal")


def view_from_params(params: dict[str, str]) -> tuple[str, list[str]]:
    """The view the link asks for ("normal" without ``view=``) and a notice for a value that is not a view."""
    value = params.get(VIEW_PARAM)
    if value is None or value in VIEWS:
        return value or "normal", []
    return "normal", [f"{VIEW_PARAM}: must be one of {', '.join(VIEWS)}, got {str(value)[:40]!r}; ignored"]


def challenge():
    """The challenge the link named (an ``rnnviz.challenges.Challenge``), or None."""
    session()
    return st.session_state[CHALLENGE_KEY]


def _client_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def flags() -> InstructorFlags:
    """The link's instructor flags; while a student follows the teacher, every control but the downloads is
    locked (the teacher's run is read-only to them)."""
    session()
    own = st.session_state[FLAGS_KEY]
    if st.session_state.get(FOLLOWING_KEY):
        return InstructorFlags(locked=frozenset(InstructorFlags.CONTROLS) - {"download"}, hidden=own.hidden)
    return own


def room() -> tuple[str, str] | None:
    """(room name, role) from the link, or None."""
    session()
    return st.session_state[ROOM_KEY]


def notices() -> list[str]:
    """Problems met while reading the URL (each names the parameter, the rule and the value)."""
    session()
    return st.session_state[NOTICES_KEY]


def dismiss_notices() -> None:
    st.session_state[NOTICES_KEY] = []


def presenting() -> bool:
    """True in the presentation view (``?view=present``)."""
    session()
    return st.session_state[VIEW_KEY] == PRESENT


def set_presenting(on: bool) -> None:
    """Switch the presentation view on or off; the address bar keeps it (``view=present``)."""
    session()
    st.session_state[VIEW_KEY] = PRESENT if on else "normal"
    write_current_url()


def write_current_url() -> None:
    """Put the live run's full link into the address bar (after any action that changed the run)."""
    sess = session()
    write_url(sess.live_config, preset_name())


def preset_name() -> str | None:
    session()
    return st.session_state[PRESET_KEY]


KEEP = object()  # apply_config(data=KEEP): keep the session's own data while the task stays the same


def apply_config(config: ExperimentConfig, preset: str | None = None, data=KEEP, *,
                 keep_playing: bool = False) -> bool:
    """Switch the live run to ``config`` (rebuilt at step 0 when it changed) and update the URL.

    ``data`` (an uploaded CSV array or text) defaults to the data already in use, as long as the
    task does not change. Raises RnnvizError (and changes nothing) when the run cannot be built.
    ``keep_playing``: a playing run plays on from step 0 of the new config (PlaySession.set_config).
    """
    sess = session()
    if data is KEEP:
        data = sess.data if config.task == sess.live_config.task else None
    changed = sess.set_config(config, data, keep_playing=keep_playing)
    st.session_state[PRESET_KEY] = preset
    write_url(config, preset)
    return changed


def data_note(sess: PlaySession | None = None) -> str | None:
    """Why a link cannot reproduce this run exactly (uploaded data stays in this browser session)."""
    sess = sess or session()
    if sess.data is not None and sess.loaded is None:
        what = "CSV series" if sess.config.task == "csv" else "text"
        return (f"This run trains on your uploaded {what}, which never leaves this session: the link "
                f"carries the settings, and whoever opens it trains on the shipped sample instead.")
    return None


def url_params(config: ExperimentConfig, preset: str | None) -> dict[str, str]:
    """The query parameters that reproduce a run: ``preset=NAME`` when untouched, else every non-default
    field; plus the instructor flags and ``view=present`` in the presentation view. The one place a
    link's parameters are built."""
    params = {"preset": preset} if preset else config.to_params()
    params.update(st.session_state[FLAGS_KEY].to_params() if FLAGS_KEY in st.session_state else flags().to_params())
    if challenge() is not None:
        params.update(challenge().to_params())
    if presenting():
        params[VIEW_PARAM] = PRESENT
    joined = room()
    if joined is not None:
        params["room"] = joined[0]
        if joined[1] == TEACHER:
            params["role"] = TEACHER
    return params


def write_url(config: ExperimentConfig, preset: str | None) -> None:
    """Put :func:`url_params` into the address bar (only when they changed)."""
    params = url_params(config, preset)
    if {k: st.query_params.get(k) for k in st.query_params.keys()} != params:
        st.query_params.from_dict(params)


def compare_session() -> CompareSession:
    """RNN vs LSTM vs GRU on the live run's task, seed and batches (rebuilt when the config changes)."""
    sess = session()
    base, data = sess.live_config, sess.data
    current = st.session_state.get(COMPARE_KEY)
    if current is None or not current.matches(base, data):
        current = CompareSession(base, data=data, gate=_gate(), notify=wait_notice)
        st.session_state[COMPARE_KEY] = current
    return current
