"""The protocol client of benchmarks/load_server.py against a real server (no browser): two sessions
open a link over /_stcore/stream, press Play by widget id, follow the fragment's auto-reruns, and see
steps and redraws; what they drew equals the same config trained alone. No timing assertion: the
speed figures are the benchmark's, this checks the client measures what it says."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import load_server  # noqa: E402


def run_async(coro):
    """``asyncio.run`` on a thread of its own: Playwright's sync API, used by the browser tests earlier in the
    same pytest process, leaves an event loop running on the main thread, where asyncio.run refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def server():
    proc, url = load_server.start_server(Path(tempfile.gettempdir()) / "rnnviz-test-load-server.log")
    yield proc, url
    proc.terminate()
    proc.wait(timeout=30)


def test_two_sessions_over_the_websocket_see_steps_redraws_and_their_own_run(server):
    proc, url = server
    result = run_async(load_server.run_mix("smoke", url, proc.pid, seconds=4.0, settle=1.0, n=2, ttl_wait=0))
    assert [name for name, _, _ in result.rows] == ["s0", "s1"]
    for _, seen, plays in result.rows:
        assert plays
        assert seen.steps_per_s > 0  # the Step counter moved while playing
        assert seen.redraws_per_s > 0
    assert result.equal == {"s0": True, "s1": True}  # seeds 0 and 1: each its own run, exactly
    start, peak, _ = result.rss
    assert 0 < start <= peak


def test_a_session_finds_the_run_buttons_by_key_and_x10_trains_exactly_ten_steps(server):
    _, url = server

    async def go():
        sess = load_server.Session("one", "preset=lstm-remembers&seed=3")
        await sess.open(url)
        await sess.wait_run()
        before = sess.steps[-1][1]
        assert {"ctl.play", "ctl.step1", "ctl.step10", "ctl.reset"} <= set(sess.buttons)
        await sess.press(load_server.STEP10)
        after = sess.steps[-1][1]
        await sess.close()
        return before, after, sess

    before, after, sess = run_async(go())
    assert (before, after) == (0, 10)
    assert load_server.equal_alone([sess]) == {"one": True}
    assert load_server.config_of(sess.query).seed == 3


def test_seen_measures_rate_gap_and_stall_from_the_counters():
    sess = load_server.Session("x", "")
    sess.steps = [(0.0, 0), (1.0, 10), (2.0, 10), (3.0, 10), (4.0, 40)]
    s = load_server.seen(sess, 0.0, 5.0)
    assert s.steps_per_s == 10.0  # 40 steps between t=0 and t=4
    assert s.redraws_per_s == 1.0  # 5 redraws in 5 s
    assert s.worst_gap == 1.0
    assert s.stall == 3.0  # step 10 from t=1 to t=4
