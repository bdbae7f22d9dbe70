"""rnnviz.forecast: the model's MSE beside persistence and the mean, on built data."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnnviz import forecast
from rnnviz.errors import RnnvizError


def test_scores_on_a_built_ramp():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([1.0, 2.0, 3.0, 4.0])  # y_t = x_{t+1}
    s = forecast.forecast_scores(x, y, y + 0.5)
    assert (s.model, s.persistence, s.mean, s.steps, s.columns) == (0.25, 1.0, 7.5, 4, 1)
    assert s.variance_explained == pytest.approx(1 - 0.25 / 7.5) and s.beats_persistence
    assert s.explained(s.persistence) == pytest.approx(1 - 1 / 7.5) and s.explained(s.mean) == 0.0
    assert forecast.scores_line(s) == ("On this stretch the network beats persistence: its error is 0.25× "
                                       "persistence's; it explains 97% of the variance (the mean predictor "
                                       "explains 0%).")


def test_scores_over_columns_and_a_model_worse_than_persistence():
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.standard_normal((41, 2)), axis=0)  # a random walk: persistence is the best guess
    x, y = series[:-1], series[1:]
    s = forecast.forecast_scores(x, y, np.zeros_like(y))
    assert s.columns == 2 and s.model == pytest.approx(np.mean(y**2)) == pytest.approx(s.mean)
    assert s.persistence == pytest.approx(np.mean(np.diff(series, axis=0) ** 2))
    assert not s.beats_persistence and s.variance_explained == pytest.approx(0.0)
    assert "does not beat persistence yet" in forecast.scores_line(s)
    diverged = forecast.forecast_scores(x, y, np.full_like(y, np.nan))
    assert forecast.scores_line(diverged) == "The model's prediction is not finite on this stretch (the run diverged)."


def test_bad_shapes_are_refused():
    with pytest.raises(RnnvizError, match=re.escape("x, y and pred must share one shape (L, C), got (3, 1), (3, 1), "
                                                    "(2, 1)")):
        forecast.forecast_scores(np.zeros(3), np.zeros(3), np.zeros(2))


def test_which_forecasting_stretches_are_held_out():
    from rnnviz.config import FORECAST_TASKS

    assert set(forecast.HELD_OUT) == set(FORECAST_TASKS) - {"charlm"}
    assert forecast.HELD_OUT["sine"][0] and not forecast.HELD_OUT["csv"][0]


def test_the_sine_probe_stretch_is_never_a_training_sequence():
    import torch

    from rnnviz.config import ExperimentConfig
    from rnnviz.trainer import Trainer

    tr = Trainer(ExperimentConfig(task="sine", seq_len=20, hidden_size=4, batch_size=16))
    gen = torch.Generator().manual_seed(tr.config.seed)  # the training stream, replayed
    probe = tr.probe.x[:, :, 0]  # (P, L)
    for _ in range(50):
        batch = tr.task.sample(16, gen).x[:, :, 0]  # (N, L)
        assert torch.cdist(probe, batch).min() > 0.1
