"""Recording at display cadence (Trainer.step(n, record="cadence")): which steps are recorded, what a
record holds, and that recording never changes training (bit-identical weights and scalars)."""

import numpy as np
import pytest
import torch

from rnnviz import cells
from rnnviz import trainer as trainer_module
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.trace import trace
from rnnviz.trainer import RECORD_INTERVAL_SECONDS, Trainer, limit_threads

SMALL = dict(task="adding", seq_len=12, hidden_size=8, batch_size=8, probe_size=2, max_steps=1000)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = limit_threads(1)
    yield
    limit_threads(before)


def cfg(**kw) -> ExperimentConfig:
    return ExperimentConfig(**{**SMALL, **kw})


class FakeClock:
    """rnnviz.trainer's clock: every call moves ``tick`` seconds on, so a step lasts exactly ``tick``
    (the trainer reads the clock at a step's start and end, nothing else in between)."""

    def __init__(self, tick: float):
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_recording_never_changes_training_bit_for_bit(cell, monkeypatch):
    """200 steps recorded every step, at cadence (a step lasts 0.1 s: steps 0, 4, 8, ... traced, the
    others plain) and only at steps 0 and 199: the same weights, optimizer state and scalars, bit for bit."""
    monkeypatch.setattr(trainer_module, "_clock", FakeClock(0.1))
    c = cfg(cell=cell, max_steps=200, num_layers=2 if cell == "gru" else 1, bidirectional=cell == "lstm")
    every, cadence, never = Trainer(c), Trainer(c), Trainer(c)
    never.record_interval_s = float("inf")
    every.step(200)
    for _ in range(20):  # as the play loop calls it: small chunks
        cadence.step(10, record="cadence")
    never.step(200, record="cadence")
    assert every.history.recorded_steps().size == 200
    np.testing.assert_array_equal(cadence.history.recorded_steps(), [*range(0, 200, 4), 199])
    np.testing.assert_array_equal(never.history.recorded_steps(), [0, 199])  # first and last frames
    for other in (cadence, never):
        for name, column in every.history.scalars.items():
            np.testing.assert_array_equal(column, other.history.scalars[name], err_msg=name)
        w, v = every.model.state_dict(), other.model.state_dict()
        assert all(torch.equal(w[k], v[k]) for k in w)
        sa, sb = every.optimizer.state_dict()["state"], other.optimizer.state_dict()["state"]
        assert all(torch.equal(sa[i][k], sb[i][k]) for i in sa for k in sa[i] if torch.is_tensor(sa[i][k]))


def test_cadence_records_after_the_interval_of_training_time(monkeypatch):
    """Each step lasts 0.1 s: a record every 0.25 s of training means steps 0, 4, 8, ... (after a
    record, three unrecorded steps hold 0.3 s >= 0.25 s, so the fourth is recorded)."""
    assert RECORD_INTERVAL_SECONDS == 0.25
    monkeypatch.setattr(trainer_module, "_clock", FakeClock(0.1))
    t = Trainer(cfg())
    recs = t.step(13, record="cadence")
    assert [r.step for r in recs if r.recorded] == [0, 4, 8, 12]
    assert all(r.loss > 0 and np.isfinite(r.grad_norm) for r in recs)  # scalars for every step
    np.testing.assert_array_equal(t.history.steps, np.arange(13))


def test_cadence_keeps_record_every_and_the_last_step(monkeypatch):
    monkeypatch.setattr(trainer_module, "_clock", FakeClock(0.0))  # training takes no time
    t = Trainer(cfg(record_every=5, max_steps=12))
    t.step(12, record="cadence")
    np.testing.assert_array_equal(t.history.recorded_steps(), [0, 5, 10, 11])  # 11: the run's last step
    assert t.state == "finished"


def test_by_hand_every_step_is_recorded_and_a_rewind_shows_its_first_step(monkeypatch):
    monkeypatch.setattr(trainer_module, "_clock", FakeClock(0.0))
    t = Trainer(cfg(checkpoint_every=5))
    t.step(3, record="cadence")
    assert t.history.recorded_steps().tolist() == [0]
    t.step(7)  # by hand: record="every", record_every=1
    assert t.history.recorded_steps().tolist() == [0, 3, 4, 5, 6, 7, 8, 9]
    t.rewind(5)
    t.step(2, record="cadence")
    assert t.history.recorded_steps().tolist() == [0, 3, 4, 5]


def test_bad_record_mode_is_refused():
    t = Trainer(cfg())
    with pytest.raises(RnnvizError, match=r"^record must be one of every, cadence, got 'sometimes'$"):
        t.step(1, record="sometimes")
    assert t.step_count == 0 and t.state == "ready"


@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_one_trace_over_batch_and_probe_records_what_separate_traces_give(cell):
    """The record's gradient curves equal a trace of the training batch alone, and its states, gates
    and prediction a forward-only trace of the probe alone (float32 curves to 1e-5; float16 states)."""
    c = cfg(cell=cell, bidirectional=cell == "rnn_relu")
    t, ref = Trainer(c), Trainer(c)
    rec = t.step(1)[0]
    batch = ref.task.sample(c.batch_size, ref._batch_gen)
    alone = trace(ref.model.rnn, batch.x, lambda out, h: ref.task.loss(ref.model.head(out), batch))
    np.testing.assert_allclose(rec.grad_norms, alone.grad_norms, rtol=1e-5)
    gi = alone.grad_input.astype(np.float64)
    np.testing.assert_allclose(rec.input_grad_norms, np.sqrt((gi**2).sum(axis=(0, 2))), rtol=1e-5)
    for k, v in alone.param_grad_norms.items():
        np.testing.assert_allclose(rec.param_grad_norms[k], v, rtol=1e-5, err_msg=k)
    if cell == "lstm":
        np.testing.assert_allclose(rec.cell_grad_norms, alone.grad_cell_norms, rtol=1e-5)
    probe = trace(ref.model.rnn, ref.probe.x, None)
    P = c.probe_size
    assert rec.hidden.shape == probe.hidden.shape and probe.hidden.shape[2] == P
    np.testing.assert_allclose(rec.hidden, probe.hidden, atol=2e-3 if rec.hidden.dtype == np.float16 else 1e-6)
    for k, v in probe.gates.items():
        np.testing.assert_allclose(rec.gates[k], v, atol=2e-3, err_msg=k)
    with torch.no_grad():
        expected = ref.model.head(torch.from_numpy(probe.output)).numpy()
    np.testing.assert_allclose(rec.prediction, expected, rtol=1e-5, atol=1e-6)


def test_the_play_loop_records_at_cadence_and_the_step_buttons_every_step(monkeypatch):
    """PlaySession.tick (playing) asks for record="cadence"; PlaySession.step (Step, x10) records each step."""
    from rnnviz.session import PlaySession

    monkeypatch.setattr(trainer_module, "_clock", FakeClock(0.1))
    sess = PlaySession(cfg())  # step 0 recorded at once
    sess.play()
    assert sess.tick(budget=float("inf"), max_steps=9).steps == 9  # steps 1..9, 0.1 s each
    assert sess.history.recorded_steps().tolist() == [0, 4, 8]
    sess.pause()
    sess.step(3)
    assert sess.history.recorded_steps().tolist() == [0, 4, 8, 10, 11, 12]
    np.testing.assert_array_equal(sess.history.steps, np.arange(13))
