"""Server start-up: pay a fresh process's one-time costs before the first visitor arrives.

A freshly started server used to spend them in its first visitor's script run (profiled on the
2-core machine under load ~8: ``import torch`` ~3 s; the first ``torch.optim`` optimizer imports
``torch._dynamo`` and sympy, ~3-4 s more; the first trace, spectra and Plotly figure ~0.1 s).
``serve.py`` calls :func:`warm_up` before Streamlit listens, so /_stcore/health answers only once
the server is warm. (:func:`start` runs it in a background thread instead; measured, that helps a
first visitor little: one arriving at once waits, by Python's import lock, for the rest of it.)

Nothing here touches state a session can see: the trainers are tiny and dropped, the models are built
under their own seeded generators (torch's global RNG is untouched), the threads are limited as app.py does.
"""

from __future__ import annotations

import threading
import time

__all__ = ["warm_up", "start"]

#: The smallest run of each cell: enough to import and run every code path of a first visit.
TINY = dict(task="adding", seq_len=5, hidden_size=4, batch_size=2, probe_size=1, max_steps=10)


def warm_up() -> float:
    """Import torch, build and train one step of a tiny run of every cell (optimizer, trace, spectra)
    and draw one figure; returns the seconds it took."""
    started = time.perf_counter()
    from rnnviz import cells, plots
    from rnnviz.config import ExperimentConfig
    from rnnviz.trainer import Trainer, limit_threads

    limit_threads(1)  # as app.py: one intra-op thread per session
    for cell in cells.CELLS:
        trainer = Trainer(ExperimentConfig(cell=cell, **TINY))
        trainer.step(2, record="cadence")
    scalars = trainer.history.scalars
    plots.loss_curve(scalars["step"], scalars["loss"], scalars["metric"], trainer.task.metric_name,
                     trainer.task.baseline_loss, None).to_json()
    return time.perf_counter() - started


def start() -> threading.Thread:
    """Run :func:`warm_up` in a daemon thread (it never delays the server or its shutdown)."""
    thread = threading.Thread(target=warm_up, name="rnnviz-warm-up", daemon=True)
    thread.start()
    return thread
