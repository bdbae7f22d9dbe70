"""Every preset, run headless for a few steps, shows its effect in numbers (seeded: same every time).

Ratios are r = ||dL/dh_1|| / ||dL/dh_T|| at step 0 on the training batch (rnnviz.analysis.gradient_ratio).
Where a preset's text promises a training effect that a short run cannot show, or that its config does
not give, the test states what does hold and marks the promise xfail with the measured numbers.
"""

import math

import numpy as np
import pytest

from rnnviz.analysis import gradient_ratio
from rnnviz.config import PRESETS
from rnnviz.trainer import Trainer, limit_threads


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = limit_threads(1)
    yield
    limit_threads(before)


_cache: dict[str, Trainer] = {}


def run(name: str, steps: int, **changes) -> Trainer:
    """The preset trained ``steps`` steps (cached per module: several tests read the same run)."""
    key = f"{name}/{steps}/{sorted(changes.items())}"
    if key not in _cache:
        t = Trainer(PRESETS[name].config.replace(**changes) if changes else PRESETS[name].config)
        t.step(steps)
        _cache[key] = t
    return _cache[key]


def ratio0(t: Trainer, kind: str = "hidden") -> float:
    return gradient_ratio(t.history.grad_norm_matrix(kind=kind)[0])


def mean_gate(t: Trainer, gate: str, step: int = 0) -> float:
    return float(t.history.record_at(step, full=True).gates[gate].astype(np.float64).mean())


def test_every_preset_runs_and_records():
    for name in PRESETS:
        t = run(name, 3)
        assert len(t.history) == 3 and t.history.recorded_steps()[0] == 0, name
        assert t.state in ("running", "diverged"), (name, t.reason)


def test_vanishing_tanh():
    t = run("vanishing-tanh", 40)
    r = ratio0(t)
    assert r < 1e-3, r  # measured 3.9e-7 at seed 0
    assert t.state == "running" and t.history.scalars["finite"].all()
    later = gradient_ratio(t.history.grad_norm_matrix()[-1])
    assert later < 1e-3, later  # still vanishing after training a little


def test_exploding():
    t = run("exploding", 3)
    gn = t.history.scalars["grad_norm"]
    assert (not np.isfinite(gn).all()) or gn.max() > 1e6, gn  # measured 2.5e12 at step 0
    assert not t.history.scalars["clipped"].any()  # clip = none
    assert ratio0(t) > 1e6  # gradient grows going back in time


def test_clipping_tames():
    t = run("clipping-tames", 30)
    sc = t.history.scalars
    assert t.state == "running" and sc["finite"].all()
    assert sc["grad_norm"].max() > 1e6  # the gradient itself still explodes ...
    assert sc["clipped"].sum() >= 25  # ... and clipping is recorded on (nearly) every step
    clipped = sc["clipped"]
    np.testing.assert_allclose(sc["grad_norm_clipped"][clipped], 1.0, rtol=1e-4)  # theta = 1
    assert np.isfinite([p.detach().numpy() for p in t.model.parameters()][0]).all()


@pytest.mark.xfail(strict=False, reason="measured: clipping-tames' loss does not go down in 600 steps "
                   "(mean 1.30 over the first 50, 1.37 over steps 550-600; baseline 1/6)")
def test_clipping_tames_loss_goes_down():
    t = run("clipping-tames", 200, record_every=100)
    loss = t.history.scalars["loss"]
    assert loss[-50:].mean() < loss[:50].mean() and loss[-50:].mean() < 1 / 6


def test_default_init_vanishes_for_every_cell():
    """DESIGN.md section 6: PyTorch's default init vanishes for all three cells at T=100 (~1e-20)."""
    for name in ("lstm-remembers", "gru-remembers"):
        assert ratio0(run(name, 1)) < 1e-15, name


@pytest.mark.xfail(strict=False, reason="measured at step 0: lstm-remembers 8e-21, gru-remembers 2.6e-20 vs "
                   "vanishing-tanh 3.9e-7 (default init; lstm with chrono gives 8.7e-4, with "
                   "orthogonal + forget bias 1 gives 2.4e-3); after 600 steps lstm 1.5e-14, gru 1.1e-7")
@pytest.mark.parametrize("name", ["lstm-remembers", "gru-remembers"])
def test_gated_cells_ratio_far_larger_than_tanh(name):
    assert ratio0(run(name, 1)) > 100 * ratio0(run("vanishing-tanh", 40))


def test_lstm_with_chrono_or_orthogonal_bias_one_keeps_gradient():
    """What the LSTM needs at step 0 to beat the tanh RNN by orders of magnitude (same task, seed)."""
    tanh = ratio0(run("vanishing-tanh", 40))
    chrono = ratio0(run("lstm-remembers", 1, forget_bias="chrono"))
    ortho = ratio0(run("lstm-remembers", 1, init="orthogonal", forget_bias="one"))
    assert chrono > 100 * tanh and ortho > 100 * tanh, (chrono, ortho, tanh)


def test_irnn_ratio_about_one():
    r = ratio0(run("irnn", 3))
    assert 0.1 < r < 10, r  # measured 0.72: identity W_hh neither shrinks nor grows the gradient
    assert run("irnn", 3).history.record_at(0).hidden.dtype == np.float32  # relu h kept float32


def test_forget_bias_chrono_and_one():
    chrono = run("forget-bias", 1)
    assert mean_gate(chrono, "f") > 0.9  # measured 0.97
    one = run("forget-bias", 1, forget_bias="one")
    assert mean_gate(one, "f") == pytest.approx(0.73, abs=0.02)  # sigma(1) = 0.731
    default = run("lstm-remembers", 1)
    assert mean_gate(default, "f") == pytest.approx(0.5, abs=0.05)
    # the cell-state gradient decays far more slowly than with PyTorch's default bias
    assert ratio0(chrono, "cell") > 1e6 * ratio0(default, "cell")  # measured 0.21 vs 3.6e-20
    assert math.isfinite(ratio0(chrono, "cell"))
