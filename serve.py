"""Start the rnnviz server: ``python serve.py [options]`` is ``streamlit run app.py [options]`` with a
warm start: torch, its optimizers and the figure code (rnnviz/warmup.py), then the app's own modules and
Streamlit's element code (ui/warm.py) are loaded before the server listens, so the first visitor of a
fresh server does not pay for them.

Before, not beside: measured with benchmarks/first_chart.py under load ~7.5, a background warm-up
left the first visitor (arriving as soon as /_stcore/health answers) waiting for the rest of it
(cold 13.4 s vs 12.1 s without it): the server is only "started" once it is warm.
"""

import ctypes
import sys
from pathlib import Path

from rnnviz import warmup

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
#: Heap arenas for the whole process. glibc gives threads that contend for the heap arenas of their own (up
#: to 8 per core), each keeping what it freed: a class's 30 script threads spread the server over many of
#: them. With 2, `benchmarks/load_server.py --mix link` (30 sessions on one link, 2 cores) peaked at 424 MB
#: instead of 570, came back to +3% of the start instead of +23% after the TTL, and trained 57 steps/s
#: instead of 22 (one run each, same machine, same hour).
MALLOC_ARENAS = 2


def limit_malloc_arenas(n: int = MALLOC_ARENAS, libc: str = "libc.so.6") -> bool:
    """Cap the process's glibc heap arenas at ``n`` (``mallopt(M_ARENA_MAX, n)``, as the MALLOC_ARENA_MAX
    environment variable would); before any thread starts. False where there is no glibc (nothing done)."""
    try:
        return bool(ctypes.CDLL(libc).mallopt(M_ARENA_MAX, int(n)))
    except (OSError, AttributeError):
        return False


def main() -> None:
    limit_malloc_arenas()
    warmup.warm_up()
    from ui import warm  # after torch: Streamlit's side of the first script run (the app's modules, elements)

    warm.warm_up()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(Path(__file__).resolve().with_name("app.py")), *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
