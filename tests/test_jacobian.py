"""rnnviz.jacobian against torch.autograd.functional.jacobian of a manual unroll (float64)."""

import numpy as np
import pytest
import torch
from torch import nn

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.jacobian import JacobianNorms, jacobian_norms
from rnnviz.trace import trace

CELLS = tuple(cells.CELLS)  # every cell type of rnnviz/cells.py


def make(cell, I, H, layers, bias):
    kw = dict(num_layers=layers, bidirectional=True, batch_first=True, bias=bias, dtype=torch.float64)
    if cell == "lstm":
        return nn.LSTM(I, H, **kw)
    if cell == "gru":
        return nn.GRU(I, H, **kw)
    return nn.RNN(I, H, nonlinearity=cell[4:], **kw)


def step(cell, w, x, h, c):
    """One cell step for a single sample: x (I,), h (H,), c (H,) -> (h, c)."""
    w_ih, w_hh, b_ih, b_hh = w
    gi, gh = w_ih @ x + b_ih, w_hh @ h + b_hh
    if cell == "lstm":
        ai, af, ag, ao = (gi + gh).chunk(4)
        c = af.sigmoid() * c + ai.sigmoid() * ag.tanh()
        return ao.sigmoid() * c.tanh(), c
    if cell == "gru":
        ir, iz, in_ = gi.chunk(3)
        hr, hz, hn = gh.chunk(3)
        r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
        n = (in_ + r * hn).tanh()
        return (1 - z) * n + z * h, c
    return (torch.relu if cell == "rnn_relu" else torch.tanh)(gi + gh), c


def reference(cell, module, x, layer, direction, sample):
    """||dh_T/dh_t||_2 (and ||dc_T/dc_t||_2) by autograd through an unroll from the recorded state at t."""
    tr = trace(module, x, None)
    H, L = module.hidden_size, x.shape[1]
    inp = torch.from_numpy(x[sample].numpy() if layer == 0 else
                           np.concatenate(list(tr.hidden[layer - 1, :, sample]), -1))  # (L, I_l)
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    w = [getattr(module, n + sfx).detach() if module.bias or n.startswith("weight") else 0
         for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    order = list(range(L))[::-1] if direction else list(range(L))
    h_all = torch.from_numpy(tr.hidden[layer, direction, sample])  # (L, H) by position
    c_all = torch.from_numpy(tr.cell[layer, direction, sample]) if cell == "lstm" else torch.zeros(L, H)
    hidden, cellnorm = np.zeros(L), np.zeros(L)
    for s, t in enumerate(order):
        def unroll(state, later=order[s + 1 :]):  # bound now: the loop variable s moves on
            h, c = state[:H], state[H:]
            for u in later:
                h, c = step(cell, w, inp[u], h, c)
            return torch.cat([h, c])

        jac = torch.autograd.functional.jacobian(unroll, torch.cat([h_all[t], c_all[t]]))  # (2H, 2H)
        hidden[t] = torch.linalg.matrix_norm(jac[:H, :H], ord=2)
        cellnorm[t] = torch.linalg.matrix_norm(jac[H:, H:], ord=2)
    return hidden, cellnorm


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layer,direction,sample,bias",
                         [(0, 0, 0, True), (1, 1, 1, False), (1, 0, 2, True), (0, 1, 1, True)])
def test_matches_autograd(cell, layer, direction, sample, bias):
    torch.manual_seed(CELLS.index(cell) * 10 + layer * 2 + direction)
    module = make(cell, 3, 4, 2, bias)
    for p in module.parameters():
        p.data.uniform_(-1.2, 1.2)
    x = torch.randn(3, 7, 3, dtype=torch.float64)  # (N, L, I)
    got = jacobian_norms(module, x, layer=layer, direction=direction, sample=sample)
    want_h, want_c = reference(cell, module, x, layer, direction, sample)
    assert isinstance(got, JacobianNorms) and got.hidden.shape == (7,)
    np.testing.assert_allclose(got.hidden, want_h, rtol=1e-9, atol=1e-13)
    assert got.hidden[0 if direction else -1] == pytest.approx(1.0)
    if cell == "lstm":
        np.testing.assert_allclose(got.cell, want_c, rtol=1e-9, atol=1e-13)
    else:
        assert got.cell is None


def test_bad_index():
    module = make("gru", 3, 4, 1, True)
    x = torch.zeros(2, 5, 3, dtype=torch.float64)
    with pytest.raises(RnnvizError, match=r"^layer must be in \[0, 0\], got 1$"):
        jacobian_norms(module, x, layer=1)
    with pytest.raises(RnnvizError, match=r"^sample must be in \[0, 1\], got 2$"):
        jacobian_norms(module, x, sample=2)
    with pytest.raises(RnnvizError, match="x must have 3 features"):
        jacobian_norms(module, torch.zeros(2, 5, 4, dtype=torch.float64))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("direction", [0, 1])
def test_a_capped_call_computes_the_last_window_exactly_and_marks_the_rest_nan(cell, direction):
    from rnnviz.jacobian import seconds_per_timestep

    torch.manual_seed(7)
    module = make(cell, 3, 4, 1, True)
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    full = jacobian_norms(module, x, direction=direction, sample=1, max_seconds=None)
    assert full.window == 9 and np.isfinite(full.hidden).all()
    capped = jacobian_norms(module, x, direction=direction, sample=1,
                            max_seconds=4.5 * seconds_per_timestep(cell, 4))  # room for 4 timesteps
    assert capped.window == 4
    inside = slice(0, 4) if direction else slice(5, 9)  # the window ends at T: position 0 when reversed
    outside = slice(4, 9) if direction else slice(0, 5)
    np.testing.assert_allclose(capped.hidden[inside], full.hidden[inside], rtol=1e-12)
    assert np.isnan(capped.hidden[outside]).all()
    if cell == "lstm":
        np.testing.assert_allclose(capped.cell[inside], full.cell[inside], rtol=1e-12)
        assert np.isnan(capped.cell[outside]).all()


def test_the_default_cap_bounds_the_heaviest_allowed_overlay():
    from rnnviz.jacobian import MAX_SECONDS, seconds_per_timestep

    torch.manual_seed(0)
    module = nn.LSTM(2, 256, num_layers=1, bidirectional=True, batch_first=True)
    got = jacobian_norms(module, torch.randn(4, 1000, 2), direction=1, sample=3)
    assert got.window == int(MAX_SECONDS // seconds_per_timestep("lstm", 256)) and 2 <= got.window < 1000
    assert got.hidden.shape == (1000,) and np.isfinite(got.hidden[: got.window]).all()
    assert np.isnan(got.hidden[got.window :]).all()
