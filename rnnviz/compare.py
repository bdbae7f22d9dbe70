"""What the Compare page shows of cells trained in lockstep (``CompareSession.trainers``: cell -> Trainer).

Every run is named by its cell's label from :mod:`rnnviz.cells` ("tanh RNN", "LSTM", "GRU"), so the
figures colour it by cell (``rnnviz.plots.cell_colour``) and the verdicts say which cell they mean.
Pure functions over the trainers' recorded histories; no torch, plotly or streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnviz import analysis, cells, flow


def status_line(trainers: Mapping[str, object]) -> str:
    """One Markdown line: each cell's label, its newest step and, if it stopped, why, e.g.
    ``**tanh RNN** step 10  ·  **LSTM** step 10 (diverged)``."""
    return "  ·  ".join(
        f"**{cells.get(c).label}** step {t.step_count - 1:,}"  # step_count is the index of the next step
        + (f" ({t.state})" if t.state in ("diverged", "finished") else "")
        for c, t in trainers.items()
    )


def loss_curves(trainers: Mapping[str, object]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """label -> (training steps (S,), loss (S,)): the input of :func:`rnnviz.plots.compare_loss`."""
    return {cells.get(c).label: (t.history.scalars["step"], t.history.scalars["loss"]) for c, t in trainers.items()}


def recorded_steps(trainers: Mapping[str, object]) -> np.ndarray:
    """Every step some run recorded, ascending (lockstep runs record the same steps until one stops)."""
    steps = [np.asarray(t.history.recorded_steps(), dtype=np.int64) for t in trainers.values()]
    return np.unique(np.concatenate(steps)) if steps else np.empty(0, dtype=np.int64)


def gradient_curves(trainers: Mapping[str, object], step: int, layer: int = 0,
                    direction: int = 0) -> dict[str, np.ndarray]:
    """label -> ||dL/dh_t|| (L,) of layer ``layer``, direction ``direction`` at training ``step`` (or the
    nearest recorded step before it, ``RunHistory.record_at``), for each run that has one."""
    curves = {}
    for c, t in trainers.items():
        rec = t.history.record_at(int(step))
        if rec is not None:
            curves[cells.get(c).label] = rec.grad_norms[layer, direction]
    return curves


#: Under the verdicts when the live run's forget-gate bias is not chrono: the LSTM here keeps that bias and init.
LSTM_BIAS_NOTE = ("The LSTM here keeps the live run's init and forget-gate bias, so its gradient can vanish too. "
                  "For the LSTM's contrast open the preset “The LSTM remembers”: its chrono forget-gate bias opens "
                  "the forget gates from the start, so the gradient keeps along the cell state.")


def verdicts(curves: Mapping[str, np.ndarray], config) -> list[str]:
    """One line per run of layer 0, forward: :func:`rnnviz.analysis.vanishing_verdict` ("LSTM: gradient at
    t=1 is ...") where the loss enters at h_T only (:func:`rnnviz.flow.gradient_enters_at_T_only`),
    else a line saying why the ratio of the two ends is no vanishing measure on this task."""
    if flow.gradient_enters_at_T_only(config, 0, 0):
        return [analysis.vanishing_verdict(label, g) for label, g in curves.items()]
    return [f"{label}: ||dL/dh_1|| / ||dL/dh_T|| = {analysis.format_ratio(analysis.gradient_ratio(g))} mixes the "
            f"loss of every step in and is no vanishing measure here (Gradient flow measures the transport "
            f"||∂h_T/∂h_t||)" for label, g in curves.items()]
