"""Per-browser-session state, set up once with ``setdefault`` semantics.

``st.session_state`` holds one :class:`rnnviz.session.PlaySession` (config -> trainer -> history)
and, on demand, one :class:`rnnviz.session.CompareSession`. The URL is the shareable form of
the config: on the first run of a session the query parameters are parsed leniently
(``ExperimentConfig.from_params``); every later config change writes them back.

Instructor mode: ``?lock=cell,rho&hide=optimizer`` locks or hides sidebar controls so a demo
cannot be wrecked; the flags are read once per session and written back with the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from rnnviz.config import FIELDS, PRESETS, ExperimentConfig
from rnnviz.session import CompareSession, PlaySession

SESSION_KEY = "rnnviz.session"
COMPARE_KEY = "rnnviz.compare"
FLAGS_KEY = "rnnviz.flags"
NOTICES_KEY = "rnnviz.notices"
PRESET_KEY = "rnnviz.preset"  # the preset the current config came from (None: custom)


@dataclass(frozen=True)
class InstructorFlags:
    """Controls locked (shown, disabled) or hidden by the URL (``lock=...``, ``hide=...``)."""

    locked: frozenset[str] = field(default_factory=frozenset)
    hidden: frozenset[str] = field(default_factory=frozenset)

    CONTROLS = (*FIELDS, "preset", "play", "reset")

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


def _query_params() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params.keys()}


def session() -> PlaySession:
    """The session's live run, created on its first script run from the URL's parameters."""
    if SESSION_KEY not in st.session_state:
        params = _query_params()
        config, problems = ExperimentConfig.from_params(params)
        flags, flag_problems = InstructorFlags.from_params(params)
        preset = params.get("preset")
        preset = preset if preset in PRESETS and PRESETS[preset].config == config else None
        st.session_state.setdefault(FLAGS_KEY, flags)
        st.session_state.setdefault(NOTICES_KEY, problems + flag_problems)
        st.session_state.setdefault(PRESET_KEY, preset)
        st.session_state.setdefault(SESSION_KEY, PlaySession(config))
    return st.session_state[SESSION_KEY]


def flags() -> InstructorFlags:
    session()
    return st.session_state[FLAGS_KEY]


def notices() -> list[str]:
    """Problems met while reading the URL (each names the parameter, the rule and the value)."""
    session()
    return st.session_state[NOTICES_KEY]


def preset_name() -> str | None:
    session()
    return st.session_state[PRESET_KEY]


def apply_config(config: ExperimentConfig, preset: str | None = None) -> bool:
    """Switch the live run to ``config`` (rebuilt at step 0 when it changed) and update the URL."""
    sess = session()
    st.session_state[PRESET_KEY] = preset
    changed = sess.set_config(config)
    write_url(config, preset)
    return changed


def write_url(config: ExperimentConfig, preset: str | None) -> None:
    """The link that reproduces this run: ``preset=NAME`` when untouched, else every non-default field."""
    params = {"preset": preset} if preset else config.to_params()
    params.update(flags().to_params())
    if {k: st.query_params.get(k) for k in st.query_params.keys()} != params:
        st.query_params.from_dict(params)


def compare_session() -> CompareSession:
    """RNN vs LSTM vs GRU on the live run's task, seed and batches (rebuilt when the config changes)."""
    base = session().config
    current = st.session_state.get(COMPARE_KEY)
    if current is None or not current.matches(base):
        current = CompareSession(base)
        st.session_state[COMPARE_KEY] = current
    return current
