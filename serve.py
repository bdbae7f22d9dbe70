"""Start the rnnviz server: ``python serve.py [options]`` is ``streamlit run app.py [options]`` with a
warm start: torch, its optimizers and the figure code (rnnviz/warmup.py), then the app's own modules and
Streamlit's element code (ui/warm.py) are loaded before the server listens, so the first visitor of a
fresh server does not pay for them.

Before, not beside: measured with benchmarks/first_chart.py under load ~7.5, a background warm-up
left the first visitor (arriving as soon as /_stcore/health answers) waiting for the rest of it
(cold 13.4 s vs 12.1 s without it): the server is only "started" once it is warm.
"""

import sys
from pathlib import Path

from rnnviz import warmup


def main() -> None:
    warmup.warm_up()
    from ui import warm  # after torch: Streamlit's side of the first script run (the app's modules, elements)

    warm.warm_up()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(Path(__file__).resolve().with_name("app.py")), *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
