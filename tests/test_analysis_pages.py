"""The analysis the pages used to do themselves: gate saturation over training (Gates), the Pascanu
overlay and the per-block gradient norms (Gradient flow). Checked against numbers computed here."""

from types import SimpleNamespace

import numpy as np
import pytest

from rnnviz import analysis, flow
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.trainer import Trainer


def _trained(cell: str, **kw) -> Trainer:
    t = Trainer(ExperimentConfig(cell=cell, seq_len=8, hidden_size=5, batch_size=4, probe_size=2, **kw))
    t.step(4)
    return t


# ---------------------------------------------------------------- saturation over training


def test_saturation_over_training_counts_every_kept_step_and_folds_tanh_gates():
    hist = _trained("lstm", bidirectional=True).history
    steps, per_gate = analysis.saturation_over_training(hist, "lstm", layer=0, direction=1)
    assert steps == [int(s) for s in hist.full_steps()] and len(steps) == 4
    assert list(per_gate) == ["i", "f", "g", "o"]
    for k, s in enumerate(steps):
        gates = hist.record_at(s, full=True).gates
        for g in "ifgo":
            v = np.asarray(gates[g][0, 1], dtype=np.float64)
            v = np.abs(v) if g == "g" else v  # the candidate g is a tanh gate: |g| near 1 is saturated
            assert per_gate[g][0][k] == pytest.approx(np.mean(v < 0.1))
            assert per_gate[g][1][k] == pytest.approx(np.mean(v > 0.9))


def test_saturation_over_training_tanh_gate_of_the_gru_is_read_by_modulus():
    gates = {"r": np.full((1, 1, 1, 2, 2), 0.95), "z": np.full((1, 1, 1, 2, 2), 0.05),
             "n": np.array([-0.99, -0.5, 0.0, 0.99]).reshape(1, 1, 1, 2, 2)}
    hist = SimpleNamespace(gate_names=["r", "z", "n"], full_steps=lambda: np.array([7]),
                           record_at=lambda step, full: SimpleNamespace(step=step, gates=gates))
    steps, per_gate = analysis.saturation_over_training(hist, "gru", 0, 0)
    assert steps == [7]
    assert per_gate == {"r": ([0.0], [1.0]), "z": ([1.0], [0.0]), "n": ([0.25], [0.5])}
    # the same values under a cell without tanh gates count -0.99 as "below 0.1", not as saturated high
    assert analysis.saturation_over_training(hist, "rnn_tanh", 0, 0)[1]["n"] == ([0.75], [0.25])
    with pytest.raises(RnnvizError, match="cell must be one of"):
        analysis.saturation_over_training(hist, "transformer", 0, 0)


# ---------------------------------------------------------------- the Pascanu overlay


def _record(grad_norms, sigma_max=0.5):
    g = np.asarray(grad_norms, dtype=np.float64)  # (Lyr, D, L)
    sv = np.zeros(g.shape[:2] + (1, 3))
    sv[..., 0, 0] = sigma_max
    return SimpleNamespace(grad_norms=g, singular_values=sv)


def _config(**kw):
    return SimpleNamespace(**{"cell": "rnn_tanh", "task": "adding", "num_layers": 1, **kw})


def test_pascanu_overlay_is_anchored_at_t_T_where_the_last_step_loss_enters():
    rec = _record([[[1.0, 2.0, 4.0], [8.0, 2.0, 1.0]]], sigma_max=0.5)  # gamma = 1 for tanh and relu
    np.testing.assert_allclose(flow.pascanu_overlay(rec, _config(), 0, 0), [1.0, 2.0, 4.0])  # 4 * 0.5^(T-t)
    np.testing.assert_allclose(flow.pascanu_overlay(rec, _config(cell="rnn_relu", task="parity"), 0, 0),
                               [1.0, 2.0, 4.0])
    # the backward direction's last state is t = 1: a last-step loss enters it first, nothing to bound
    assert flow.pascanu_overlay(rec, _config(), 0, 1) is None
    # the bound on the transport holds in both directions: (gamma sigma_max)^(T-t), backward reversed
    np.testing.assert_allclose(flow.transport_bound(rec, "rnn_tanh", 0, 0), [0.25, 0.5, 1.0])
    np.testing.assert_allclose(flow.transport_bound(rec, "rnn_tanh", 0, 1), [1.0, 0.5, 0.25])


@pytest.mark.parametrize("task", ["copy", "sine", "charlm", "csv"])
def test_pascanu_overlay_is_not_drawn_where_the_loss_sits_at_every_step(task):
    assert flow.pascanu_overlay(_record([[[1.0, 2.0, 4.0]]]), _config(task=task), 0, 0) is None


def test_pascanu_overlay_not_drawn_for_a_lower_layer():
    rec = _record([[[1.0, 2.0, 4.0]], [[1.0, 2.0, 4.0]]])
    assert flow.pascanu_overlay(rec, _config(num_layers=2), 0, 0) is None
    np.testing.assert_allclose(flow.pascanu_overlay(rec, _config(num_layers=2), 1, 0), [1.0, 2.0, 4.0])


def test_pascanu_overlay_only_for_a_plain_rnn_with_recorded_singular_values():
    rec = _record([[[1.0, 1.0]]])
    assert flow.pascanu_overlay(rec, _config(cell="lstm"), 0, 0) is None
    assert flow.pascanu_overlay(rec, _config(cell="gru"), 0, 0) is None
    assert flow.pascanu_overlay(SimpleNamespace(grad_norms=rec.grad_norms, singular_values=None),
                                    _config(), 0, 0) is None


@pytest.mark.parametrize("seed", range(5))
def test_pascanu_overlay_bounds_the_measured_forward_gradient(seed):
    """Adding problem (loss at t = T only): the measured ||dL/dh_t|| lies under the overlay at every t."""
    t = Trainer(ExperimentConfig(cell="rnn_tanh", seq_len=20, hidden_size=8, batch_size=4, seed=seed,
                                 init="scaled", rho=0.9))
    t.step(3)
    for rec in (t.history.record_at(int(s)) for s in t.history.recorded_steps()):
        sigma_max = float(rec.singular_values[0, 0, 0].max())
        bound = flow.pascanu_overlay(rec, t.config, 0, 0)
        g = rec.grad_norms[0, 0].astype(np.float64)
        np.testing.assert_allclose(bound, g[-1] * sigma_max ** np.arange(19, -1, -1), rtol=1e-9)
        assert np.all(g <= bound * (1 + 1e-4)), f"step {rec.step}"


# ---------------------------------------------------------------- parameter gradient per block


def test_block_norms_of_one_layer_and_direction():
    norms = {"W_hi": np.array([[1.0, 2.0], [3.0, 4.0]]), "b_hi": np.array([[5.0, 6.0], [7.0, 8.0]])}
    assert analysis.block_norms(norms, 1, 0) == {"W_hi": 3.0, "b_hi": 7.0}
    rec = _trained("gru").history.record_at(3)
    out = analysis.block_norms(rec.param_grad_norms, 0, 0)
    assert list(out) == list(rec.param_grad_norms) and all(isinstance(v, float) for v in out.values())
    assert out == {k: float(v[0, 0]) for k, v in rec.param_grad_norms.items()}
