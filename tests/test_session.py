"""rnnviz.session: the live run, its data, and browsing a loaded run (headless, no Streamlit)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.io import load_run, run_to_bytes
from rnnviz.session import CompareSession, PlaySession
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
SMALL = ExperimentConfig(seq_len=20, hidden_size=8, batch_size=4)


def test_step_zero_is_recorded_at_once_and_steps_match_a_headless_trainer():
    sess = PlaySession(SMALL)
    assert sess.current_step == 0 and len(sess.history) == 1
    sess.step(5)
    alone = Trainer(SMALL)
    alone.step(6)
    np.testing.assert_array_equal(sess.history.scalars["loss"], alone.history.scalars["loss"])


def test_set_config_with_data_reaches_the_trainer_and_a_bad_one_changes_nothing():
    sess = PlaySession(SMALL)
    sess.step(2)
    series = np.stack([np.sin(np.arange(60) / 4), np.cos(np.arange(60) / 7)], axis=1)
    csv_cfg = SMALL.replace(task="csv")
    assert sess.set_config(csv_cfg, series)
    assert sess.trainer.task.input_size == 2 and sess.data is series and sess.current_step == 0
    assert "your series" in sess.trainer.task.describe()
    before = sess.trainer
    with pytest.raises(RnnvizError, match="at least seq_len"):
        sess.set_config(csv_cfg.replace(seq_len=100), series)
    assert sess.trainer is before and sess.config == csv_cfg and sess.data is series
    assert not sess.set_config(csv_cfg, series)  # unchanged: no rebuild


def _saved(config, steps=4):
    t = Trainer(config)
    t.step(steps)
    return load_run(run_to_bytes(t.history)), t.history


def test_loading_a_run_shows_it_exactly_and_keeps_the_live_run_waiting():
    sess = PlaySession(SMALL)
    sess.step(3)
    live_hist = sess.history
    loaded, original = _saved(SMALL.replace(cell="gru", seed=3), steps=6)
    sess.load(loaded, "mine.npz")
    assert sess.loaded is not None and sess.history is loaded
    assert sess.config == original.config and sess.config.cell == "gru"
    assert sess.current_step == 5 and sess.trainer.state == "loaded"
    assert sess.trainer.task.title == "Adding problem"
    np.testing.assert_array_equal(sess.history.scalars["loss"], original.scalars["loss"])
    for refused in (lambda: sess.step(1), sess.reset, sess.jacobian):
        with pytest.raises(RnnvizError, match="read-only"):
            refused()
    sess.play()
    assert not sess.playing and sess.tick().steps == 0
    sess.unload()
    assert sess.history is live_hist and sess.current_step == 3 and sess.config == SMALL


def test_set_config_ends_browsing():
    sess = PlaySession(SMALL)
    sess.load(_saved(SMALL)[0], "a.npz")
    assert sess.set_config(SMALL)  # same live config: just back to it
    assert sess.loaded is None
    sess.load(_saved(SMALL)[0], "a.npz")
    assert sess.set_config(SMALL.replace(cell="lstm")) and sess.loaded is None and sess.config.cell == "lstm"


def test_a_loaded_diverged_run_keeps_its_state_and_reason():
    cfg = ExperimentConfig(cell="rnn_relu", init="scaled", rho=3.0, seq_len=100, hidden_size=16, clip="none",
                           optimizer="sgd", lr=0.1, batch_size=4)
    loaded, original = _saved(cfg, steps=3)
    sess = PlaySession(SMALL)
    sess.load(loaded, "boom.npz")
    assert sess.trainer.state == "diverged" and "step 0" in sess.trainer.reason


def test_a_loaded_run_on_own_data_describes_its_task_without_the_data():
    text = "abcabcabd " * 20
    cfg = SMALL.replace(task="charlm")
    t = Trainer(cfg, data=text)
    t.step(2)
    sess = PlaySession(SMALL)
    sess.load(load_run(run_to_bytes(t.history)), "text.npz")
    task = sess.trainer.task
    assert task.baseline_loss == pytest.approx(math.log(len(set(text))))
    assert "does not store" in task.describe()


def test_compare_session_uses_the_data():
    series = np.stack([np.sin(np.arange(80) / 4)], axis=1)
    cfg = SMALL.replace(task="csv")
    cmp = CompareSession(cfg, data=series)
    assert all(t.task.input_size == 1 for t in cmp.trainers.values())
    assert cmp.matches(cfg, series) and not cmp.matches(cfg, None)
