"""Trainer: determinism, reset, rewind, clipping, watchdog, pause, recording on the real model."""

import math

import numpy as np
import pytest
import torch

from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.trainer import Trainer, limit_threads

# Small and fast: every test here trains at most a few dozen steps of this size.
SMALL = dict(task="adding", seq_len=12, hidden_size=8, batch_size=8, probe_size=2, max_steps=1000)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread, as the app runs each session: tiny models on a shared 2-core box are
    many times slower with OpenMP threads competing."""
    before = limit_threads(1)
    yield
    limit_threads(before)


def cfg(**kw) -> ExperimentConfig:
    return ExperimentConfig(**{**SMALL, **kw})


def arrays_of(trainer: Trainer) -> dict[str, np.ndarray]:
    return trainer.history.to_arrays()[1]


def assert_same_arrays(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)  # bit-identical (nan == nan here)


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_same_config_same_run_bit_identical(cell):
    c = cfg(cell=cell, checkpoint_every=7)
    a, b = Trainer(c), Trainer(c)
    a.step(30)
    for _ in range(3):  # the same steps in other chunkings
        b.step(10)
    assert_same_arrays(arrays_of(a), arrays_of(b))
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_reset_returns_to_the_same_initial_state_and_stream():
    t = Trainer(cfg(cell="lstm"))
    w0 = weights(t)
    t.step(30)
    first = arrays_of(t)
    t.reset()
    assert t.state == "ready" and t.step_count == 0 and len(t.history) == 0
    assert all(torch.equal(w0[k], v) for k, v in weights(t).items())
    t.step(30)
    assert_same_arrays(first, arrays_of(t))


def test_step_records_scalars_and_full_records():
    t = Trainer(cfg(cell="lstm", record_every=5))
    recs = t.step(12)
    assert [r.step for r in recs] == list(range(12))
    assert [r.step for r in recs if r.recorded] == [0, 5, 10]
    assert t.state == "paused" and t.reason == "" and t.step_count == 12
    r = recs[5]
    Lyr, D, L, H, P = 1, 1, 12, 8, 2
    assert r.grad_norms.shape == (Lyr, D, L) and r.grad_norms.dtype == np.float32
    assert r.cell_grad_norms.shape == (Lyr, D, L)
    assert r.input_grad_norms.shape == (L,)
    assert r.hidden.shape == (Lyr, D, P, L, H) and r.hidden.dtype == np.float16
    assert sorted(r.gates) == ["f", "g", "i", "o"]
    assert r.singular_values.shape == (Lyr, D, 4, H) and r.eigenvalues.dtype == np.complex64
    assert np.all(np.diff(r.singular_values, axis=-1) <= 0)
    assert r.prediction.shape == (P, L, 1)
    assert "W_hf" in r.param_grad_norms and r.param_grad_norms["W_hf"].shape == (Lyr, D)
    np.testing.assert_array_equal(t.history.recorded_steps(), [0, 5, 10])
    np.testing.assert_array_equal(t.history.steps, np.arange(12))
    assert not recs[3].recorded and recs[3].loss > 0
    # the probe batch is the same at every step and stored once
    assert t.history.probe["x"].shape == (P, L, 2)


def test_recorded_hidden_matches_the_model_on_the_probe():
    t = Trainer(cfg(cell="gru"))
    rec = t.step(1)[0]
    # rec was taken with the weights before the update; recompute with a fresh trainer (same init)
    fresh = Trainer(cfg(cell="gru"))
    with torch.no_grad():
        out, _ = fresh.model.rnn(fresh.probe.x)  # (P, L, H)
    np.testing.assert_allclose(rec.hidden[0, 0], out.numpy(), atol=2e-3)  # float16 storage


def test_recording_does_not_change_training():
    """Every step trains with the fused forward/backward: recording every step or never gives one run,
    bit for bit (tests/test_trainer_cadence.py checks every cell over 200 steps)."""
    a, b = Trainer(cfg(cell="lstm", record_every=1)), Trainer(cfg(cell="lstm", record_every=10_000))
    a.step(8)
    b.step(8)
    np.testing.assert_array_equal(a.history.scalars["loss"], b.history.scalars["loss"])
    wb = weights(b)
    assert all(torch.equal(v, wb[k]) for k, v in weights(a).items())


def test_grad_norm_before_clipping_matches_backward():
    t = Trainer(cfg(cell="rnn_tanh", clip="none"))
    probe = Trainer(cfg(cell="rnn_tanh", clip="none"))
    batch = probe.task.sample(probe.config.batch_size, probe._batch_gen)
    loss = probe.task.loss(probe.model(batch.x), batch)
    loss.backward()
    expected = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in probe.model.parameters()))
    rec = t.step(1)[0]
    assert rec.grad_norm == pytest.approx(expected, rel=1e-5)
    assert rec.loss == pytest.approx(loss.item(), rel=1e-6)
    assert not rec.clipped and rec.grad_norm_clipped == rec.grad_norm


def test_norm_clipping_recorded():
    t = Trainer(cfg(clip="norm", clip_threshold=1e-3))
    recs = t.step(5)
    for r in recs:
        assert r.clipped and r.grad_norm > 1e-3
        assert r.grad_norm_clipped == pytest.approx(1e-3, rel=1e-4)
    assert t.history.scalars["clipped"].all()


def test_value_clipping_recorded():
    t = Trainer(cfg(clip="value", clip_threshold=1e-3))
    r = t.step(1)[0]
    assert r.clipped and r.grad_norm_clipped < r.grad_norm
    loose = Trainer(cfg(clip="value", clip_threshold=1e3)).step(1)[0]
    assert not loose.clipped and loose.grad_norm_clipped == loose.grad_norm


def diverging() -> ExperimentConfig:
    # relu RNN, W_hh at spectral radius 3, big SGD steps, no clipping: the norm overflows quickly
    return cfg(cell="rnn_relu", init="scaled", rho=3.0, optimizer="sgd", lr=5.0, clip="none",
               seq_len=40, record_every=4)


def test_watchdog_stops_a_diverging_run():
    t = Trainer(diverging())
    recs = t.step(200)
    assert t.state == "diverged", t.history.scalars["grad_norm"][-5:]
    last = recs[-1]
    s = last.step
    assert not last.finite and last.recorded and last.full  # the diverged step is recorded in full
    assert t.diverged_reason.endswith(f"at step {s}")
    assert t.diverged_reason.startswith(("loss became", "gradient norm became"))
    assert t.history.status == {"state": "diverged", "reason": t.diverged_reason, "diverged_step": s}
    sc = t.history.scalars
    np.testing.assert_array_equal(sc["step"], np.arange(s + 1))  # every step before it kept
    assert sc["finite"][:-1].all() and not sc["finite"][-1]
    assert not (np.isfinite(sc["loss"][-1]) and np.isfinite(sc["grad_norm"][-1]))
    # the weights are the last finite ones (no update from the non-finite gradient)
    assert all(bool(torch.isfinite(p).all()) for p in t.model.parameters())
    assert t.step(5) == [] and t.step_count == s + 1
    # rewinding revives it
    back = t.rewind(0)
    assert back == 0 and t.state == "ready" and len(t.history) == 0


def test_pause_on_gradient_threshold_then_resume():
    t = Trainer(cfg(pause_grad_norm=1e-6))
    recs = t.step(10)
    assert len(recs) == 1 and t.state == "paused"
    assert "pause threshold" in t.reason and "at step 0" in t.reason
    assert t.stop_reason == t.reason
    more = t.step(3)  # resumes; the norm stays above the threshold, so no new pause (rising edge)
    assert len(more) == 3 and t.state == "paused" and t.stop_reason == ""
    t.pause()
    assert t.state == "paused" and t.stop_reason == "paused"
    t.pause("another reason")  # an explicit pause keeps the first reason
    assert t.stop_reason == "paused"
    assert len(t.step(1)) == 1 and t.stop_reason == ""


def test_the_state_says_running_only_while_step_trains():
    """Defect: after step() returned the trainer still said "running" (the UI papered over it)."""
    t = Trainer(cfg())
    seen = []
    loss = t.task.loss

    def spy(pred, batch):
        seen.append(t.state)
        return loss(pred, batch)

    t.task.loss = spy
    assert t.state == "ready" and t.reason == "" and t.history.status["state"] == "ready"
    t.step(3)
    assert seen == ["running"] * 6  # each recorded step: the record's trace, then the training step
    assert (t.state, t.reason, t.stop_reason) == ("paused", "", "")
    assert t.history.status["state"] == "paused"
    t.reset()
    assert t.state == "ready"


def test_step_zero_changes_nothing():
    t = Trainer(cfg())
    assert t.step(0) == [] and t.state == "ready" and len(t.history) == 0


def test_max_steps_finishes():
    t = Trainer(cfg(max_steps=5))
    assert len(t.step(10)) == 5 and t.state == "finished"
    assert t.step(1) == [] and t.step_count == 5


def test_rewind_restores_checkpoint_and_replays_identically():
    c = cfg(cell="lstm", checkpoint_every=10)
    full = Trainer(c)
    full.step(35)
    t = Trainer(c)
    t.step(35)
    assert t.checkpoint_steps() == [0, 10, 20, 30]
    at = t.rewind(27)
    assert at == 20 and t.step_count == 20 and t.state == "paused"
    assert len(t.history) == 20 and t.history.steps[-1] == 19
    assert t.history.recorded_steps()[-1] == 19
    assert t.checkpoint_steps() == [0, 10, 20]
    t.step(15)
    assert_same_arrays(arrays_of(full), arrays_of(t))


def test_checkpoints_stay_bounded():
    t = Trainer(cfg(checkpoint_every=1, record_every=1000))
    t.step(200)
    steps = t.checkpoint_steps()
    assert steps[0] == 0 and steps[-1] == 199 and len(steps) <= 64
    assert steps == sorted(steps)


def test_bad_arguments():
    t = Trainer(cfg())
    with pytest.raises(RnnvizError, match="step count"):
        t.step(-1)
    with pytest.raises(RnnvizError, match="rewind step"):
        t.rewind(-3)
    with pytest.raises(RnnvizError, match="thread count"):
        limit_threads(0)


def test_limit_threads_round_trip():
    before = limit_threads(1)
    assert torch.get_num_threads() == 1
    limit_threads(before)
    assert torch.get_num_threads() == before


def test_history_has_config_for_saving():
    c = cfg()
    t = Trainer(c)
    t.step(2)
    assert t.history.config == c
