"""Shared drawing: N sessions on one run redraw the same step — figure builds and time per redraw.

Opens 1 + N sessions of the app in-process (streamlit.testing AppTest, the same script runner the tests
use; no browser) on one link, so they share one run (ui/server.py ``shared_runs``). The first plays one
tick and pauses; then every session redraws that step, in rounds, with the server's figure cache (one build
per chart for all of them) and without it (a cache that keeps nothing: every session builds every chart),
interleaved. Prints the builds per round and the median seconds per session redraw, side by side.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_shared_figures.py --sessions 30 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SMALL = {"seq_len": "50", "hidden_size": "64", "batch_size": "32"}  # the default size, the Playground page


def _open(query):
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    PagesManager.uses_pages_directory = False
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *a, **k):  # as tests/app/conftest.py: the server leaves legacy pages mode for good
        original(self, *a, **k)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    import ui.server as server
    from rnnviz.shared import FigureCache
    from rnnviz.trainer import limit_threads

    limit_threads(1)
    shared = server.figure_cache()
    sessions = [_open(SMALL) for _ in range(1 + args.sessions)]
    lead = sessions[0]
    lead.button(key="ctl.play").click().run()
    lead.button(key="ctl.play").click().run()
    step = lead.session_state["rnnviz.session"].current_step
    runs = {id(at.session_state["rnnviz.session"].trainer) for at in sessions}
    print(f"{len(sessions)} sessions on {len(runs)} run(s), all at step {step}")
    keep_nothing = FigureCache(max_bytes=0)
    results = {"shared": ([], []), "each builds": ([], [])}
    for _ in range(args.rounds):
        for name, cache in (("shared", shared), ("each builds", keep_nothing)):
            server.figure_cache = lambda cache=cache: cache  # noqa: B023 - the cache for this round
            import ui.widgets as widgets

            widgets.figure_cache = server.figure_cache
            shared.clear()
            before = cache.builds
            times = []
            for at in sessions[1:]:
                t = time.perf_counter()
                at.run()
                times.append(time.perf_counter() - t)
            results[name][0].append(cache.builds - before)
            results[name][1].append(statistics.median(times))
    print(f"{'':14} {'figure builds per round of ' + str(args.sessions) + ' redraws':>40} {'median s per redraw':>20}")
    for name, (builds, times) in results.items():
        print(f"{name:14} {statistics.median(builds):>40.0f} {statistics.median(times):>20.3f}")


if __name__ == "__main__":
    main()
