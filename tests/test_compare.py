"""rnnviz.compare: what the Compare page shows of the three lockstep runs, named by cells.py's labels."""

import numpy as np

from rnnviz import analysis, compare
from rnnviz.config import ExperimentConfig
from rnnviz.lockstep import CompareSession


def _session(**kw) -> CompareSession:
    cmp = CompareSession(ExperimentConfig(seq_len=8, hidden_size=5, batch_size=4, probe_size=2, **kw))
    cmp.step(5)
    return cmp


def test_runs_are_named_by_the_cell_table_and_carry_their_own_numbers():
    cmp = _session()
    curves = compare.loss_curves(cmp.trainers)
    assert list(curves) == ["tanh RNN", "LSTM", "GRU"]
    for (steps, loss), t in zip(curves.values(), cmp.trainers.values(), strict=True):
        np.testing.assert_array_equal(steps, np.arange(6))
        np.testing.assert_array_equal(loss, t.history.scalars["loss"])
    assert compare.status_line(cmp.trainers) == "**tanh RNN** step 5  ·  **LSTM** step 5  ·  **GRU** step 5"


def test_gradient_curves_and_verdicts_at_one_step():
    cmp = _session()
    np.testing.assert_array_equal(compare.recorded_steps(cmp.trainers), np.arange(6))
    flows = compare.gradient_curves(cmp.trainers, 3)
    assert list(flows) == ["tanh RNN", "LSTM", "GRU"]
    np.testing.assert_array_equal(flows["LSTM"], cmp.trainers["lstm"].history.record_at(3).grad_norms[0, 0])
    assert compare.verdicts(flows, cmp.base) == [analysis.vanishing_verdict(label, g) for label, g in flows.items()]
    assert compare.verdicts(flows, cmp.base)[0].startswith("tanh RNN: ")
    assert compare.gradient_curves(cmp.trainers, -1) == {}  # before anything was recorded


def test_on_a_loss_at_every_step_the_ratio_is_not_called_vanishing_or_preserved():
    cmp = _session(task="copy")
    lines = compare.verdicts(compare.gradient_curves(cmp.trainers, 3), cmp.base)
    assert [line.split(":")[0] for line in lines] == ["tanh RNN", "LSTM", "GRU"]
    assert all("no vanishing measure" in line and "(preserved)" not in line for line in lines)


def test_a_stopped_run_is_named_and_its_steps_stay_pickable():
    cmp = _session(max_steps=3)  # every run finishes after 3 steps
    assert compare.status_line(cmp.trainers).count("(finished)") == 3
    np.testing.assert_array_equal(compare.recorded_steps(cmp.trainers), np.arange(3))
