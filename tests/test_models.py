"""Models: forward shape, seeded determinism, every init scheme's defining property, forget bias,
and the step-0 gradient facts the presets rely on (docs/NUMERICS.md, "Step-0 gradient facts")."""

import math

import pytest
import torch

from rnnviz import cells
from rnnviz.cells import get as get_cell
from rnnviz.config import PRESETS, ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.models import SequenceModel, build_model
from rnnviz.tasks import make_task

CELLS = tuple(cells.CELLS)  # every cell type of rnnviz/cells.py


def recurrent_blocks(model):
    """Every (H, H) gate block of every weight_hh (all layers and directions)."""
    H = model.rnn.hidden_size
    for name, w in model.rnn.named_parameters():
        if name.startswith("weight_hh"):
            for k in range(w.shape[0] // H):
                yield name, k, w[k * H : (k + 1) * H].detach().double()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers, bidir", [(1, False), (2, True)])
def test_forward_shape_and_module(cell, layers, bidir):
    c = ExperimentConfig(cell=cell, hidden_size=8, num_layers=layers, bidirectional=bidir)
    m = build_model(c, input_size=3, output_size=5)
    assert isinstance(m, SequenceModel)
    nn = torch.nn
    expected = {"rnn_tanh": nn.RNN, "rnn_relu": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
    assert type(m.rnn) is expected[cell] and m.rnn.batch_first
    if cell.startswith("rnn_"):
        assert m.rnn.nonlinearity == cell[4:]
    D = 2 if bidir else 1
    assert m.head.in_features == D * 8 and m.head.out_features == 5
    assert all(p.dtype == torch.float32 for p in m.parameters())
    assert m.rnn.weight_hh_l0.shape == (len(get_cell(cell).blocks) * 8, 8)
    y = m(torch.randn(4, 7, 3))
    assert y.shape == (4, 7, 5)
    with pytest.raises(RnnvizError, match=r"x must have shape \(N, L, 3\)"):
        m(torch.randn(4, 7, 2))


@pytest.mark.parametrize("init", ["default", "xavier", "orthogonal", "identity", "scaled"])
def test_deterministic_and_global_rng_untouched(init):
    c = ExperimentConfig(cell="lstm", init=init, rho=1.3, forget_bias="chrono", hidden_size=16)
    state = torch.random.get_rng_state()
    a, b = build_model(c, 2, 1), build_model(c, 2, 1)
    assert torch.equal(state, torch.random.get_rng_state())
    for (n1, p1), (n2, p2) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert n1 == n2 and torch.equal(p1, p2)
    other = build_model(c.replace(seed=1), 2, 1)
    assert not torch.equal(a.rnn.weight_ih_l0, other.rnn.weight_ih_l0)


def test_init_changes_only_what_it_documents():
    base = build_model(ExperimentConfig(hidden_size=16), 2, 1)
    for init in ("orthogonal", "scaled"):
        m = build_model(ExperimentConfig(hidden_size=16, init=init), 2, 1)
        assert torch.equal(m.rnn.weight_ih_l0, base.rnn.weight_ih_l0)
        assert torch.equal(m.rnn.bias_hh_l0, base.rnn.bias_hh_l0)
        assert torch.equal(m.head.weight, base.head.weight)
        assert not torch.equal(m.rnn.weight_hh_l0, base.rnn.weight_hh_l0)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("rho", [0.5, 0.9, 1.5, 3.0])
def test_scaled_spectral_radius(cell, rho):
    c = ExperimentConfig(cell=cell, init="scaled", rho=rho, hidden_size=32, num_layers=2, bidirectional=True)
    m = build_model(c, 3, 1)
    blocks = list(recurrent_blocks(m))
    assert len(blocks) == 2 * 2 * len(get_cell(cell).blocks)
    for name, k, w in blocks:
        radius = torch.linalg.eigvals(w).abs().max().item()
        assert radius == pytest.approx(rho, rel=1e-5), (name, k)


@pytest.mark.parametrize("cell", CELLS)
def test_orthogonal_blocks(cell):
    m = build_model(ExperimentConfig(cell=cell, init="orthogonal", hidden_size=24, num_layers=2), 3, 1)
    for _, _, w in recurrent_blocks(m):
        torch.testing.assert_close(w.T @ w, torch.eye(24, dtype=torch.float64), atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", CELLS)
def test_identity_irnn(cell):
    m = build_model(ExperimentConfig(cell=cell, init="identity", hidden_size=12, bidirectional=True), 3, 1)
    for _, _, w in recurrent_blocks(m):
        assert torch.equal(w, torch.eye(12, dtype=torch.float64))
    for name, p in m.rnn.named_parameters():
        if name.startswith("bias"):
            assert (p == 0).all(), name


def test_identity_relu_copies_the_state():
    m = build_model(ExperimentConfig(cell="rnn_relu", init="identity", hidden_size=6), 2, 1)
    with torch.no_grad():
        h0 = torch.rand(1, 1, 6)
        out, _ = m.rnn(torch.zeros(1, 20, 2), h0)  # zero input: h_t = relu(h_{t-1}) = h_{t-1}
    torch.testing.assert_close(out[0, -1], h0[0, 0])


def test_xavier_bounds_and_zero_bias():
    H, I = 20, 3
    m = build_model(ExperimentConfig(cell="gru", init="xavier", hidden_size=H), I, 1)
    bound_hh, bound_ih = math.sqrt(6 / (H + H)), math.sqrt(6 / (I + H))
    assert m.rnn.weight_hh_l0.abs().max() <= bound_hh and m.rnn.weight_hh_l0.abs().max() > 0.8 * bound_hh
    assert m.rnn.weight_ih_l0.abs().max() <= bound_ih
    assert (m.rnn.bias_ih_l0 == 0).all() and (m.rnn.bias_hh_l0 == 0).all()


def forget_gate_mean(m, H, n=2000):
    """Mean of f = sigma(W_if x + b_if + W_hf h + b_hf) over x ~ U[0,1] and states h ~ U[-1, 1]."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, m.rnn.input_size, generator=g)
    h = 2 * torch.rand(n, H, generator=g) - 1
    W_ih, W_hh = m.rnn.weight_ih_l0[H : 2 * H], m.rnn.weight_hh_l0[H : 2 * H]
    b = m.rnn.bias_ih_l0[H : 2 * H] + m.rnn.bias_hh_l0[H : 2 * H]
    with torch.no_grad():
        return torch.sigmoid(x @ W_ih.T + h @ W_hh.T + b).mean().item()


def test_forget_bias_values():
    H = 64
    c = ExperimentConfig(cell="lstm", hidden_size=H, seq_len=100, num_layers=2, bidirectional=True)
    one = build_model(c.replace(forget_bias="one"), 2, 1)
    zero = build_model(c.replace(forget_bias="zero"), 2, 1)
    chrono = build_model(c.replace(forget_bias="chrono"), 2, 1)
    for name, p in one.rnn.named_parameters():
        if name.startswith("bias_ih"):
            assert (p[H : 2 * H] == 1).all()
            assert (zero.rnn.get_parameter(name)[H : 2 * H] == 0).all()
        if name.startswith("bias_hh"):  # the other half of the effective bias is zeroed
            assert (p[H : 2 * H] == 0).all() and (zero.rnn.get_parameter(name)[H : 2 * H] == 0).all()
            assert (chrono.rnn.get_parameter(name)[: 2 * H] == 0).all()
    assert forget_gate_mean(one, H) == pytest.approx(1 / (1 + math.e**-1), abs=0.02)  # 0.73
    assert forget_gate_mean(zero, H) == pytest.approx(0.5, abs=0.02)
    # chrono: b_f = log u, u ~ U(1, T-1), b_i = -b_f; mean sigma(b_f) = 1 - ln(T/2)/(T-2) ~ 0.96 at T=100
    b_f, b_i = chrono.rnn.bias_ih_l0[H : 2 * H], chrono.rnn.bias_ih_l0[:H]
    assert torch.equal(b_i, -b_f)
    assert b_f.min() >= 0 and b_f.max() <= math.log(99) + 1e-6
    assert forget_gate_mean(chrono, H) == pytest.approx(1 - math.log(50) / 98, abs=0.02)
    # other cells ignore forget_bias entirely
    gru = ExperimentConfig(cell="gru", hidden_size=8)
    assert torch.equal(build_model(gru, 2, 1).rnn.bias_ih_l0,
                       build_model(gru.replace(forget_bias="one"), 2, 1).rnn.bias_ih_l0)


def test_build_model_validates_sizes():
    with pytest.raises(RnnvizError, match="input_size must be an integer"):
        build_model(ExperimentConfig(), 0, 1)


# ------------------------------------------------------------------------------------------------
# Step-0 facts behind the presets (the trainer's tests check the training effects)
# ------------------------------------------------------------------------------------------------


def grad_norms_by_step(config, seed=0):
    """||dL/dh_t|| for t = 0..L-1 by a manual unroll with h.retain_grad() (single layer)."""
    task = make_task(config)
    m = build_model(config, task.input_size, task.output_size)
    b = task.sample(config.batch_size, torch.Generator().manual_seed(seed))
    hs, state = [], None
    for t in range(b.x.shape[1]):
        out, new = m.rnn(b.x[:, t : t + 1], state)  # out (N, 1, H)
        h = out.transpose(0, 1).contiguous()  # (1, N, H)
        h.retain_grad()
        hs.append(h)
        state = (h, new[1]) if isinstance(new, tuple) else h
    pred = m.head(torch.cat(hs, 0).transpose(0, 1))  # (N, L, O)
    task.loss(pred, b).backward()
    norms = torch.tensor([h.grad.norm().item() for h in hs])
    total = math.sqrt(sum(float(p.grad.norm()) ** 2 for p in m.parameters()))
    return norms, total


def test_vanishing_preset_gradient_ratio():
    norms, _ = grad_norms_by_step(PRESETS["vanishing-tanh"].config)
    assert norms[0] / norms[-1] < 1e-3


def test_exploding_preset_gradient_norm():
    _, total = grad_norms_by_step(PRESETS["exploding"].config)
    assert not math.isfinite(total) or total > 1e6
    _, total = grad_norms_by_step(PRESETS["clipping-tames"].config)  # same net, same gradient
    assert not math.isfinite(total) or total > 1e6


def test_irnn_preset_gradient_neither_vanishes_nor_explodes():
    norms, _ = grad_norms_by_step(PRESETS["irnn"].config)
    assert 0.1 < norms[0] / norms[-1] < 10


def test_forget_bias_preset_keeps_the_early_gradient():
    chrono, _ = grad_norms_by_step(PRESETS["forget-bias"].config)
    default, _ = grad_norms_by_step(PRESETS["forget-bias"].config.replace(forget_bias="default"))
    assert chrono[0] / chrono[-1] > 1e6 * (default[0] / default[-1])  # measured ~1e-3 vs ~1e-20


def test_concurrent_builds_give_each_seed_its_own_weights():
    """A class opening links at once builds models on many threads. PyTorch's modules draw their initial
    weights from the one global RNG, so two builds whose seeding interleaved gave a model the other seed's
    weights (seen as a run differing from the same config trained alone, benchmarks/load_server.py --mix
    private). Every model built on 4 threads at once equals the same seed built alone."""
    import threading

    configs = [ExperimentConfig(cell=cell, hidden_size=48, seed=seed)
               for seed in range(6) for cell in ("lstm", "gru")]
    alone = {(c.cell, c.seed): build_model(c, 1, 1).state_dict() for c in configs}
    wrong: list[tuple] = []
    start = threading.Barrier(4)

    def builder(k: int) -> None:
        start.wait()
        for _ in range(15):
            for c in configs[k::4]:
                got = build_model(c, 1, 1).state_dict()
                if any(not torch.equal(got[n], w) for n, w in alone[(c.cell, c.seed)].items()):
                    wrong.append((c.cell, c.seed))

    threads = [threading.Thread(target=builder, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
