"""Verdicts and overlays that are true on every task (issue 10, part 2).

Every cell x task x init combination at step 0: each bound the Gradient-flow page draws lies on or above
the curve it bounds, and every verdict agrees with the measured transport ||dh_T/dh_1|| (the LSTM's with
the cell path ||dc_T/dc_1||), which does not depend on where the task puts its loss. The transport is
measured here at the very weights the step-0 gradient was taken at (before the first update).
"""

import math

import numpy as np
import pytest

from rnnviz import cells, flow, plots
from rnnviz.analysis import format_ratio
from rnnviz.config import FIELDS, PRESETS, TASKS, ExperimentConfig
from rnnviz.jacobian import jacobian_norms
from rnnviz.tasks import TASK_CLASSES, make_task
from rnnviz.trainer import Trainer

INITS = FIELDS["init"].choices
RTOL = 1e-4  # float32 norms against a float64 bound


def _step0(config: ExperimentConfig, layer: int = 0, direction: int = 0):
    """(record of step 0, transport at the step-0 weights on probe sequence #1)."""
    t = Trainer(config)
    jac = jacobian_norms(t.model.rnn, t.probe.x, layer=layer, direction=direction)
    t.step(1)
    return t.history.record_at(0), jac


def _transport_kind(jac, direction: int = 0) -> str:
    curve = jac.cell if jac.cell is not None else jac.hidden
    far = float(curve[0] if direction == 0 else curve[-1])
    return "dead" if far == 0.0 else flow.ratio_kind(far)


def _assert_bounds_hold(reading, rec, jac, layer: int, direction: int) -> None:
    g = rec.grad_norms[layer, direction].astype(np.float64)
    if reading.bound is not None:
        assert np.all(g <= reading.bound * (1 + RTOL)), np.max(g / reading.bound)
    if reading.transport_bound is not None:
        assert np.all(jac.hidden <= reading.transport_bound * (1 + RTOL)), np.max(jac.hidden / reading.transport_bound)


@pytest.mark.parametrize("cell", list(cells.CELLS))
@pytest.mark.parametrize("task", TASKS)
def test_every_drawn_bound_holds_and_every_verdict_agrees_with_the_transport(cell, task):
    for init in INITS:
        config = ExperimentConfig(cell=cell, task=task, init=init)
        rec, jac = _step0(config)
        reading = flow.read_flow(rec, config, 0, 0, jac)
        _assert_bounds_hold(reading, rec, jac, 0, 0)
        assert reading.kind == _transport_kind(jac), (init, reading.verdict)
        assert reading.verdict.startswith(cells.get(cell).label + ":") and cell not in reading.verdict
        last_step_loss = TASK_CLASSES[task].loss_steps == "last"
        assert reading.basis == "transport"
        assert (reading.bound is not None) == (last_step_loss and not cells.get(cell).gates)
        assert (reading.transport_bound is not None) == (not cells.get(cell).gates)
        if cell == "lstm":  # the cell path decides, and the verdict says which path carries more
            assert "through the cell state c" in reading.verdict and "carries more" in reading.verdict
        # a saved run (no weights): where the loss enters at T the recorded gradient's ratio is the verdict
        # (the LSTM's cell path ||dL/dc_1|| / ||dL/dc_T||); it agrees with the transport on one probe sequence
        # except within a decade of a threshold (a batch's gradient against one sequence's worst direction)
        saved = flow.read_flow(rec, config, 0, 0, None)
        if last_step_loss:
            assert saved.basis == "gradient"
            near = any(abs(math.log10(r / edge)) < 1 for r in (saved.ratio, reading.ratio)
                       for edge in (flow.VANISH_BELOW, flow.EXPLODE_ABOVE))
            assert saved.kind == reading.kind or near, (init, saved.verdict, reading.verdict)
        else:
            assert (saved.basis, saved.kind, saved.bound) == ("none", "unmeasured", None)


@pytest.mark.parametrize("task", ["adding", "copy"])
@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm"])
def test_bounds_and_verdicts_for_every_layer_and_direction_of_a_deep_bidirectional_net(task, cell):
    config = ExperimentConfig(cell=cell, task=task, num_layers=2, bidirectional=True, seq_len=30,
                              init="orthogonal")
    for layer in range(2):
        for direction in range(2):
            rec, jac = _step0(config, layer, direction)
            reading = flow.read_flow(rec, config, layer, direction, jac)
            _assert_bounds_hold(reading, rec, jac, layer, direction)
            assert reading.kind == _transport_kind(jac, direction), (layer, direction, reading.verdict)
            at_T = task == "adding" and layer == 1 and direction == 0
            assert flow.read_flow(rec, config, layer, direction).basis == ("gradient" if at_T else "none")
            assert (reading.bound is not None) == (at_T and cell == "rnn_tanh")


def test_loss_steps_says_where_each_task_puts_its_loss():
    import torch

    for task in TASKS:
        t = make_task(ExperimentConfig(task=task, seq_len=20))
        mask = t.sample(8, torch.Generator().manual_seed(0)).mask
        only_last = bool(mask[:, -1].all() and not mask[:, :-1].any())
        assert t.loss_steps == ("last" if only_last else "every"), task


def test_without_weights_a_loss_at_every_step_gets_no_verdict_but_says_why():
    config = ExperimentConfig(task="copy")
    rec, _ = _step0(config)
    reading = flow.read_flow(rec, config, 0, 0, None)
    assert (reading.kind, reading.basis, reading.bound) == ("unmeasured", "none", None)
    assert math.isnan(reading.ratio)
    assert "says nothing about vanishing" in reading.verdict and reading.verdict.startswith("tanh RNN:")


def test_verdict_kinds_by_hand():
    config = ExperimentConfig(task="adding", seq_len=3)
    rec = type("R", (), {"grad_norms": np.array([[[0.0, 0.0, 1.0]]]), "singular_values": None,
                         "cell_grad_norms": None})()
    assert flow.read_flow(rec, config, 0, 0).kind == "dead"
    assert "exactly 0 from t=2 back" in flow.read_flow(rec, config, 0, 0).verdict
    rec.grad_norms = np.array([[[0.0, 1e-38, 1.0]]])  # faded to 0 by underflow: vanishing, not dead
    assert flow.read_flow(rec, config, 0, 0).kind == "vanishing"
    rec.grad_norms = np.array([[[np.inf, 1.0, 1.0]]])
    assert flow.read_flow(rec, config, 0, 0).kind == "diverged"
    rec.grad_norms = np.array([[[0.0, 0.0, 0.0]]])
    assert flow.read_flow(rec, config, 0, 0).kind == "no gradient"
    rec.grad_norms = np.array([[[2e3, 1.0, 1.0]]])
    assert flow.read_flow(rec, config, 0, 0).verdict == (
        "tanh RNN: the gradient reaching t=1 is 2e3 of its size at t=T (exploding)")


def test_a_capped_transport_says_how_far_back_it_was_measured():
    config = ExperimentConfig(task="sine", seq_len=5)
    rec, jac = _step0(config)
    capped = type(jac)(np.array([np.nan, np.nan, 0.5, 0.8, 1.0]), None)
    reading = flow.read_flow(rec, config, 0, 0, capped)
    assert reading.ratio == 0.5 and "t=3 (2 steps back: the measurement is capped)" in reading.verdict


@pytest.mark.parametrize("seed", range(5))
def test_exploding_after_play_keeps_the_explosion_pinned_and_never_calls_the_dead_net_vanishing(seed):
    t = Trainer(PRESETS["exploding"].config.replace(seed=seed))
    t.step(60)
    hist = t.history
    assert t.state == "diverged"
    rec = hist.record_at(int(hist.steps[-1]))
    jac = jacobian_norms(t.model.rnn, t.probe.x)
    reading = flow.read_flow(rec, t.config, 0, 0, jac)
    assert reading.kind in ("dead", "diverged"), reading.verdict  # saturated units: slope exactly 0
    assert "(vanishing)" not in reading.verdict and "not vanishing" in reading.verdict
    pinned = flow.pinned_curves(hist, rec.step, 0, 0)
    pin = flow.largest_gradient_step(hist)
    finite = np.isfinite(hist.scalars["grad_norm"])
    assert hist.scalars["grad_norm"][pin] == np.max(hist.scalars["grad_norm"][finite]) >= 1e6
    if pin == rec.step:  # the step shown is the explosion itself (seed 0: ||g|| 1e19 at the diverged step)
        assert pinned == {} and np.isfinite(rec.grad_norms[0, 0]).all()
        return
    (label, curve), = pinned.items()
    assert label.startswith(f"step {pin}: largest ||g|| = ")
    np.testing.assert_array_equal(curve, hist.record_at(pin).grad_norms[0, 0])
    fig = plots.gradient_flow(rec.grad_norms[0, 0], step=rec.step, pinned=pinned)
    drawn = np.asarray(next(tr for tr in fig.data if tr.name == label).y, dtype=np.float64)
    assert np.isfinite(drawn).sum() == len(curve)  # the explosion stays drawn at every timestep


def test_the_pinned_label_is_true_when_the_largest_step_was_not_recorded():
    """Played at cadence, only some steps carry curves: the newcomer read "step 0: largest ||g|| = 3.5" at
    step 246 while steps 2 and 17 had 4.95 and 5.68. The pinned curve is the largest of the recorded steps,
    and the label says so, and names the step with the largest ||g|| of all when it has no curve
    (seeds 0-4; at least one of them has its largest ||g|| on a step without a curve)."""
    unrecorded = 0
    for seed in range(5):
        t = Trainer(ExperimentConfig(task="adding", seq_len=12, hidden_size=8, batch_size=8, probe_size=2,
                                     max_steps=1000, seed=seed, lr=0.1))
        t.record_interval_s = math.inf
        t.step(30, record="cadence")  # only step 0 is recorded (its first frame)
        t.record_interval_s = 0.0
        t.step(1, record="cadence")  # step 30: a new frame
        hist = t.history
        assert hist.recorded_steps().tolist() == [0, 30]
        g = np.asarray(hist.scalars["grad_norm"], dtype=np.float64)
        top = int(np.argmax(g))
        pin = flow.largest_gradient_step(hist)
        assert pin == (0 if g[0] >= g[30] else 30)
        (label, curve), = flow.pinned_curves(hist, 30 if pin == 0 else 0, 0, 0).items()
        np.testing.assert_array_equal(curve, hist.record_at(pin).grad_norms[0, 0])
        if top == pin:
            assert label == f"step {pin}: largest ||g|| = {format_ratio(g[pin])}<br>(its curve, kept in view)"
        else:
            unrecorded += 1
            assert label == (f"step {pin}: largest ||g|| of the 2 recorded steps = {format_ratio(g[pin])}<br>(its "
                             f"curve, kept in view; step {top}, not recorded, had {format_ratio(g[top])})")
    assert unrecorded >= 1
