"""rnnviz.saliency: marked positions per task, their share of ||dL/dx_t|| on built data, and the
per-sequence input gradient against rnnviz.trace and autograd for every cell."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from rnnviz import cells, saliency
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.models import build_model
from rnnviz.tasks import Batch, make_task
from rnnviz.trace import trace
from rnnviz.trainer import limit_threads

limit_threads(1)


def batch_of(task_name, n=6, **kw):
    task = make_task(ExperimentConfig(task=task_name, seq_len=30, **kw))
    return task, task.sample(n, torch.Generator().manual_seed(0))


def test_marked_positions_are_what_each_task_depends_on():
    task, b = batch_of("adding")
    for x, y in zip(b.x.numpy(), b.y.numpy(), strict=True):
        m = saliency.marked_positions("adding", x)
        assert m.sum() == 2 and x[m, 0].sum() == pytest.approx(y[-1, 0])  # the two numbers summed
    _, b = batch_of("copy")
    for x, y in zip(b.x.numpy(), b.y.numpy(), strict=True):
        m = saliency.marked_positions("copy", x)
        np.testing.assert_array_equal(np.flatnonzero(m), np.arange(10))
        np.testing.assert_array_equal(x[m].argmax(1), y[-10:])  # exactly the symbols to copy
    _, b = batch_of("temporal_order")
    for x in b.x.numpy():
        m = saliency.marked_positions("temporal_order", x)
        assert m.sum() == 2 and set(x[m].argmax(1)) <= {4, 5}
    _, b = batch_of("parity", parity_bits=3)
    for x in b.x.numpy():
        np.testing.assert_array_equal(np.flatnonzero(saliency.marked_positions("parity", x)), [0, 1, 2])
    assert saliency.marked_positions("sine", np.zeros((5, 1))) is None
    assert set(saliency.MARKED) <= set(make_task.__globals__["TASK_CLASSES"])


def test_marked_share_and_its_line_on_built_data():
    s = np.array([1.0, 1.0, 2.0, 0.0])
    m = np.array([False, False, True, False])
    assert saliency.marked_share(s, m) == 0.5
    assert saliency.share_line(s, m, "the 2 marked numbers") == (
        "50% of the summed ||dL/dx_t|| falls on the 2 marked numbers (they are 1 of 4 steps, 25% of the sequence).")
    assert saliency.share_line(np.array([1e3, 1.0, 1.0, 1.0]), m, "x").startswith("less than 1% of the summed")
    assert saliency.share_line(np.array([0.0, 0.0, 1e3, 1.0]), m, "x").startswith("more than 99% of the summed")
    assert np.isnan(saliency.marked_share(np.zeros(4), m))
    assert saliency.share_line(np.zeros(4), m, "the 10 symbols to copy").startswith(
        "No input gradient to share out: ||dL/dx_t|| is 0 or not finite on every step")
    assert np.isnan(saliency.marked_share(np.array([1.0, np.inf, 0, 0]), m))
    with pytest.raises(RnnvizError, match=re.escape("saliency and marked must be (L,) of the same length, got (4,) "
                                                    "and (3,)")):
        saliency.marked_share(s, m[:3])


@pytest.mark.parametrize("cell", list(cells.CELLS))
@pytest.mark.parametrize("task_name", ["adding", "copy"])
def test_input_saliency_is_each_sequences_own_dl_dx_as_trace_records_it(cell, task_name):
    config = ExperimentConfig(task=task_name, cell=cell, seq_len=12, hidden_size=8, seed=3)
    task = make_task(config)
    model = build_model(config, task.input_size, task.output_size)
    probe = task.sample(3, torch.Generator().manual_seed(1))
    got = saliency.input_saliency(model, task, probe)  # (3, L)
    assert got.shape == (3, config.length)
    assert all(p.grad is None for p in model.parameters())  # autograd.grad on x only
    for p in range(3):
        one = Batch(probe.x[p:p + 1], probe.y[p:p + 1], probe.mask[p:p + 1])
        tr = trace(model.rnn, one.x, lambda out, h_n, one=one: task.loss(model.head(out), one))
        np.testing.assert_allclose(got[p], np.linalg.norm(tr.grad_input[0].astype(np.float64), axis=-1),
                                   rtol=1e-4, atol=1e-9)
        model.zero_grad(set_to_none=True)
    # and with plain autograd on the whole loss of one sequence
    x = probe.x[1:2].clone().requires_grad_(True)
    (gx,) = torch.autograd.grad(task.loss(model(x), Batch(x, probe.y[1:2], probe.mask[1:2])), x)
    np.testing.assert_allclose(got[1], gx[0].double().norm(dim=-1).numpy(), rtol=1e-5, atol=1e-9)


@pytest.mark.slow
def test_training_moves_the_input_gradient_onto_the_marked_numbers_as_the_note_says():
    """SHARE_RANGES (quoted in ADDING_NOTE) re-measured: every probe sequence of seeds 0-4, at step 0 and
    after 500 steps of the presets."""
    from rnnviz.config import PRESETS
    from rnnviz.trainer import Trainer

    for preset, ranges in saliency.SHARE_RANGES.items():
        for seed in range(5):
            tr = Trainer(PRESETS[preset].config.replace(seed=seed))
            trained = 0
            for steps, (lo, hi) in sorted(ranges.items()):
                tr.step(steps - trained, record="cadence")
                trained = steps
                s = saliency.input_saliency(tr.model, tr.task, tr.probe)
                x = tr.history.probe["x"]
                shares = [saliency.marked_share(s[p], saliency.marked_positions("adding", x[p])) for p in range(len(x))]
                assert all(lo <= round(100 * v) <= hi for v in shares), (preset, seed, steps, shares)
    assert "puts 2–6% of ||dL/dx_t|| on the 2 marked numbers before training and 53–70% after 500" in \
        saliency.ADDING_NOTE
