"""ui/server.py without a browser: closed tabs' sessions are freed by the sweeper, not by the next visitor."""

from __future__ import annotations

import gc
import threading
import time
import weakref

from streamlit.runtime.memory_session_storage import MemorySessionStorage
from streamlit.runtime.session_manager import SessionInfo

from rnnviz.config import ExperimentConfig
from rnnviz.session import PlaySession
from ui import server


class _Session:  # what Streamlit's storage keeps of a closed tab: the AppSession, here holding a run
    def __init__(self, sid: str):
        self.id = sid
        self.run = PlaySession(ExperimentConfig(seq_len=20, hidden_size=8, batch_size=4))


def test_a_closed_session_is_freed_once_its_ttl_passed_without_a_new_connection():
    storage = MemorySessionStorage(ttl_seconds=1)
    session = _Session("closed-tab")
    storage.save(SessionInfo(client=None, session=session))
    alive = weakref.ref(session.run)
    del session
    time.sleep(1.2)  # the TTL has passed; nobody connects
    gc.collect()
    assert alive() is not None  # Streamlit alone keeps it: its cache drops expired entries only when used
    lock = threading.Lock()
    assert server.sweep_closed_sessions(lock, storage._cache) == 1
    assert alive() is None and storage.list() == []
    assert server.sweep_closed_sessions(lock, storage._cache) == 0


def test_the_sweeper_runs_on_its_own_against_the_runtime(monkeypatch):
    storage = MemorySessionStorage(ttl_seconds=0.2)
    session = _Session("closed-tab")
    storage.save(SessionInfo(client=None, session=session))
    alive = weakref.ref(session.run)
    del session

    class _Manager:
        _storage_lock = threading.Lock()
        _session_storage = storage

    class _Runtime:
        _session_mgr = _Manager()

        @staticmethod
        def instance():
            return _Runtime

    import streamlit.runtime

    monkeypatch.setattr(streamlit.runtime, "Runtime", _Runtime)
    monkeypatch.setattr(server, "SWEEP_SECONDS", 0.1)
    server.session_sweeper.clear()
    try:
        thread = server.session_sweeper()
        assert thread is not None and thread.is_alive() and thread.daemon
        deadline = time.monotonic() + 5
        while alive() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive() is None
    finally:
        server.session_sweeper.clear()
