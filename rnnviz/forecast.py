"""Forecasting made visible: the network's next-step prediction against the truth, with naive baselines.

For a forecasting task (sine, csv) the target is the next input, ``y_t = x_{t+1}``. On one stretch of
L steps (a probe sequence), with C columns::

    model        MSE = mean_{t,c} (pred_{t,c} - y_{t,c})^2
    persistence  MSE = mean_{t,c} (x_{t,c}    - y_{t,c})^2     "tomorrow = today" (last value)
    mean         MSE = mean_{t,c} (0          - y_{t,c})^2     the series mean (0: sine's mean, csv's z-scores)
    variance explained = 1 - MSE / mean MSE  (the app's metric; 0 = the mean predictor)

A model that does not beat persistence has learned nothing a one-line rule does not already know.
Which stretch: the trainer's probe sequences, drawn once from their own seeded generator and never
trained on. For sine they are held out (fresh phases and noise); the csv task samples its training
windows from the whole series, so a csv probe window is a stretch the network also trains on
(:data:`HELD_OUT` says which).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.errors import RnnvizError

#: Forecasting tasks whose probe stretch is held out (never in a training batch), with the words for it.
HELD_OUT = {
    "sine": (True, "held out: a sequence with its own phases and noise, never in a training batch"),
    "csv": (False, "in-sample: the csv task trains on windows from the whole series, so this window's "
                   "rows are also in training batches"),
}


@dataclass(frozen=True)
class ForecastScores:
    """MSE of the model, persistence and the mean on one stretch; ``steps`` and ``columns`` scored."""

    model: float
    persistence: float
    mean: float
    steps: int
    columns: int

    def explained(self, mse: float) -> float:
        """Variance explained on this stretch by a predictor with error ``mse``: ``1 - mse / mean MSE``."""
        return 1.0 - mse / self.mean if self.mean > 0 else float("nan")

    @property
    def variance_explained(self) -> float:
        return self.explained(self.model)

    @property
    def beats_persistence(self) -> bool:
        return bool(self.model < self.persistence)


def forecast_scores(x, y, pred) -> ForecastScores:
    """Scores of one stretch: ``x``, ``y``, ``pred`` (L, C) (or (L,)) with ``y_t = x_{t+1}``."""
    arrays = [np.asarray(a, dtype=np.float64) for a in (x, y, pred)]
    arrays = [a[:, None] if a.ndim == 1 else a for a in arrays]
    x, y, pred = arrays
    if not (x.ndim == 2 and x.shape == y.shape == pred.shape and len(x)):
        raise RnnvizError(f"x, y and pred must share one shape (L, C), got {x.shape}, {y.shape}, {pred.shape}")
    if not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
        raise RnnvizError("x and y must be finite, got inf or nan")
    mse = float(np.mean((pred - y) ** 2))  # nan/inf when the model diverged: shown as such
    return ForecastScores(mse, float(np.mean((x - y) ** 2)), float(np.mean(y**2)), x.shape[0], x.shape[1])


def scores_line(s: ForecastScores) -> str:
    """One sentence comparing the model with the two baselines, from the scores."""
    if not np.isfinite(s.model):
        return "The model's prediction is not finite on this stretch (the run diverged)."
    ratio = s.model / s.persistence if s.persistence > 0 else float("inf")
    if s.beats_persistence:
        verdict = f"beats persistence: its error is {ratio:.2g}× persistence's"
    else:
        verdict = f"does not beat persistence yet: its error is {ratio:.2g}× persistence's"
    return (f"On this stretch the network {verdict}; it explains {s.variance_explained:.0%} of the variance "
            f"(the mean predictor explains 0%).")
