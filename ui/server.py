"""Server-wide resources of the app (one per server process, shared by every session).

- :func:`training_gate`: the cap on sessions training at once (``rnnviz.capacity.TrainingGate``).
- :func:`session_sweeper`: a thread that frees closed tabs' sessions once their TTL has passed, then the
  shared runs and rooms nobody is on any more.
- :func:`shared_runs`, :func:`figure_cache`, :func:`rooms`: runs shared by sessions on the same config and
  data, serialised figures every session reuses, follow-the-teacher rooms (issue 13).
- :func:`wait_notice`: how a session waiting for a training slot says so.

Imports no other ui module, so ``ui.state`` and ``ui.live`` can both use it without a cycle.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
import time

import streamlit as st

from rnnviz.capacity import TrainingGate
from rnnviz.rooms import RoomRegistry
from rnnviz.shared import FigureCache, RunRegistry

#: How often closed tabs' sessions are looked for (they go once server.disconnectedSessionTTL has passed).
SWEEP_SECONDS = 10.0
#: A shared figure nobody has drawn for this long (s) is dropped: every session drawing it redraws twice a second.
FIGURE_IDLE_SECONDS = 30.0

_LOG = logging.getLogger(__name__)


@st.cache_resource
def training_gate() -> TrainingGate:
    """The server-wide cap on sessions training at once (RNNVIZ_TRAINING_SLOTS, default one per core)."""
    return TrainingGate()


def wait_notice(text: str) -> None:
    """Tell the user an action waits for a training slot (``PlaySession.notify``: Step, x10, reset,
    building a run, Compare, an upload). A toast: sent at once, from a button's callback too, while the
    script waits; it shows for 10 s ("long")."""
    st.toast(text, icon=":material/hourglass_top:", duration="long")


@st.cache_resource
def shared_runs() -> RunRegistry:
    """The server's runs shared by every session opened on the same config and data; a run is joined only
    while a session on it is connected (a closed tab's session lingers until its TTL)."""
    return RunRegistry(alive=_connected)


def _connected(sess) -> bool:
    """Is the browser of ``sess`` (a PlaySession; ``client`` = its Streamlit session id) connected?"""
    client = getattr(sess, "client", None)
    try:
        from streamlit.runtime import Runtime

        return client is None or not Runtime.exists() or Runtime.instance().is_active_session(client)
    except Exception:  # noqa: BLE001 - another Streamlit: count it as watching
        return True


@st.cache_resource
def figure_cache() -> FigureCache:
    """Serialised figures, built once per (run, step, chart, view) for every session that shows them."""
    return FigureCache()


@st.cache_resource
def rooms() -> RoomRegistry:
    """The server's follow-the-teacher rooms (``?room=NAME``)."""
    return RoomRegistry()


@st.cache_resource
def session_sweeper() -> threading.Thread | None:
    """Free closed tabs' sessions (and their runs) once their TTL has passed, without waiting for a new
    connection: Streamlit keeps a disconnected session in a TTL cache that only drops expired entries
    when it is written to or its length is asked, i.e. when someone else connects. Every SWEEP_SECONDS
    this thread asks (under the session manager's own lock), then collects the freed runs' cycles and
    hands the freed heap back to the system. One per server; None if the runtime is not Streamlit's."""
    try:
        from streamlit.runtime import Runtime

        manager = Runtime.instance()._session_mgr
        lock, cache = manager._storage_lock, manager._session_storage._cache
    except Exception:  # noqa: BLE001 - a test harness or another Streamlit: nothing to sweep
        _LOG.info("rnnviz: no session storage to sweep", exc_info=True)
        return None

    # read here, in a script run: the thread has no script context
    runs, room_registry, figures = shared_runs(), rooms(), figure_cache()

    def sweep() -> None:
        while True:
            time.sleep(SWEEP_SECONDS)
            try:
                sweep_closed_sessions(lock, cache)
                sweep_shared(runs, room_registry)
                if figures.expire(FIGURE_IDLE_SECONDS) > 2**20:
                    _trim_heap()
            except Exception:  # noqa: BLE001 - the sweeper must never die
                _LOG.warning("rnnviz: session sweep failed", exc_info=True)

    thread = threading.Thread(target=sweep, name="rnnviz-session-sweeper", daemon=True)
    thread.start()
    return thread


def sweep_closed_sessions(lock, cache) -> int:
    """One sweep: the TTL cache of disconnected sessions drops its expired entries (on a length query);
    then their runs' reference cycles are collected and the heap trimmed. Returns how many went."""
    with lock:
        before = len(getattr(cache, "_data", ()))  # expired entries too, until the line below
        after = len(cache)
    if after < before:
        gc.collect()
        _trim_heap()
    return before - after


def sweep_shared(runs: RunRegistry, room_registry: RoomRegistry) -> int:
    """Unlist the shared runs nobody watches and drop the rooms nobody is in (their sessions went with the
    TTL already, so no second wait); returns how many runs went."""
    gone = runs.sweep(ttl=0.0)
    room_registry.sweep()
    if gone:
        gc.collect()
        _trim_heap()
    return gone


def _trim_heap() -> None:
    """glibc keeps freed memory for reuse; ``malloc_trim(0)`` returns what it can to the system."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
