"""rnnviz.trace against a step-by-step reference unroll written here from the same weights.

The reference keeps h.retain_grad() (and c.retain_grad()) on every h_t (c_t), so its .grad
is the total BPTT adjoint dL/dh_t; a fused module's output would only give the direct term.
"""

import copy
import random

import numpy as np
import pytest
import torch
from torch import nn

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.trace import Trace, trace

CELLS = tuple(cells.CELLS)  # every cell type of rnnviz/cells.py
TOL = {torch.float64: 1e-10, torch.float32: 1e-4}


def make_module(cell, I, H, *, layers=1, bidirectional=False, batch_first=False, bias=True, dtype=torch.float64):
    kw = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias, dtype=dtype)
    if cell == "lstm":
        return nn.LSTM(I, H, **kw)
    if cell == "gru":
        return nn.GRU(I, H, **kw)
    return nn.RNN(I, H, nonlinearity=cell[4:], **kw)


def make_loss(head, steps, a, b):
    """A loss that uses several timesteps of the output (via a readout head) and h_n (c_n)."""

    def loss_fn(output, h_n):
        L = output.shape[1] if loss_fn.batch_first else output.shape[0]
        out = output if loss_fn.batch_first else output.transpose(0, 1)  # (N, L, D*H)
        y = head(out[:, [s % L for s in steps]])  # (N, S, 2)
        loss = (y.sin() * torch.arange(1, y.shape[-1] + 1, dtype=y.dtype)).sum()
        if isinstance(h_n, tuple):
            loss = loss + b * h_n[1].tanh().sum()
            h_n = h_n[0]
        loss = loss + a * (h_n**2).sum()
        loss_fn.seen = (output, h_n)
        return loss

    return loss_fn


# ----------------------------------------------------------------------------- reference


def _act(cell):
    return torch.relu if cell == "rnn_relu" else torch.tanh


def reference(cell, module, x, loss_fn, h0=None):
    """Manual unroll; returns a dict of NumPy arrays shaped like the Trace fields."""
    D = 2 if module.bidirectional else 1
    Lyr, H = module.num_layers, module.hidden_size
    x_ref = x.detach().clone().requires_grad_()
    inp = x_ref.transpose(0, 1) if module.batch_first else x_ref  # (L, N, I)
    L, N = inp.shape[:2]
    h0_, c0_ = (h0 if cell == "lstm" else (h0, None)) if h0 is not None else (None, None)
    rec = {"h": {}, "c": {}, "gates": {}}
    h_n, c_n = [], []
    for layer in range(Lyr):
        outs = []
        for d in range(D):
            k = layer * D + d
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih, w_hh = getattr(module, "weight_ih" + sfx), getattr(module, "weight_hh" + sfx)
            b_ih = getattr(module, "bias_ih" + sfx) if module.bias else 0
            b_hh = getattr(module, "bias_hh" + sfx) if module.bias else 0
            h = h0_[k] if h0_ is not None else torch.zeros(N, H, dtype=x.dtype)
            c = c0_[k] if c0_ is not None else torch.zeros(N, H, dtype=x.dtype)
            hs, cs, gs = [None] * L, [None] * L, [None] * L
            for t in range(L) if d == 0 else range(L - 1, -1, -1):
                gi = inp[t] @ w_ih.T + b_ih
                gh = h @ w_hh.T + b_hh
                if cell == "lstm":
                    ai, af, ag, ao = (gi + gh).chunk(4, 1)
                    i, f, g, o = ai.sigmoid(), af.sigmoid(), ag.tanh(), ao.sigmoid()
                    c = f * c + i * g
                    h = o * c.tanh()
                    c.retain_grad()
                    gs[t] = (i, f, g, o)
                elif cell == "gru":
                    ir, iz, in_ = gi.chunk(3, 1)
                    hr, hz, hn = gh.chunk(3, 1)
                    r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
                    n = (in_ + r * hn).tanh()
                    h = (1 - z) * n + z * h
                    gs[t] = (r, z, n)
                else:
                    h = _act(cell)(gi + gh)
                h.retain_grad()
                hs[t], cs[t] = h, c
            rec["h"][layer, d], rec["c"][layer, d], rec["gates"][layer, d] = hs, cs, gs
            outs.append(torch.stack(hs))  # (L, N, H)
            h_n.append(h)
            c_n.append(c)
        inp = torch.cat(outs, 2)  # (L, N, D*H)
    output = inp.transpose(0, 1) if module.batch_first else inp
    h_n = torch.stack(h_n)  # (Lyr*D, N, H)
    loss = loss_fn(output, (h_n, torch.stack(c_n)) if cell == "lstm" else h_n) if loss_fn else None
    if loss is not None:
        loss.backward()

    def arr(key, fn):  # (Lyr, D, N, L, H)
        return np.stack([np.stack([torch.stack([fn(v) for v in rec[key][l, d]], 1).numpy()
                                   for d in range(D)]) for l in range(Lyr)])

    out = {"output": inp.detach().transpose(0, 1).numpy(), "hidden": arr("h", lambda v: v.detach())}
    for j, name in enumerate(cells.get(cell).gates):
        out["gate_" + name] = arr("gates", lambda v, j=j: v[j].detach())
    if cell == "lstm":
        out["cell"] = arr("c", lambda v: v.detach())
    if loss is not None:
        out["loss"] = float(loss.detach())
        out["grad_hidden"] = arr("h", lambda v: v.grad)
        out["grad_input"] = x_ref.grad.numpy() if module.batch_first else x_ref.grad.transpose(0, 1).numpy()
        if cell == "lstm":
            out["grad_cell"] = arr("c", lambda v: v.grad)
    return out


def assert_close(got, want, dtype, what):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = max(np.abs(want).max(initial=0.0), 1e-30)
    err = np.abs(got - want).max(initial=0.0) / scale
    assert err < TOL[dtype], f"{what}: relative error {err:.3g}"


def param_blocks(cell, module, grads):
    """name -> (Lyr, D) Frobenius norms of per-gate blocks, from a dict param-name -> grad."""
    D = 2 if module.bidirectional else 1
    gates = cells.get(cell).gates
    out = {}
    for layer in range(module.num_layers):
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            for pname, block in [("weight_ih", "W_i"), ("weight_hh", "W_h"), ("bias_ih", "b_i"), ("bias_hh", "b_h")]:
                if pname + sfx not in grads:
                    continue
                g = grads[pname + sfx]
                for gate, chunk in zip(gates or ("h",), g.chunk(len(gates) or 1, 0), strict=True):
                    out.setdefault(block + gate, np.zeros((module.num_layers, D)))[layer, d] = chunk.norm()
    return out


# ----------------------------------------------------------------------------- exactness sweep


def random_config(seed):
    rng = random.Random(seed)
    return dict(
        cell=CELLS[seed % len(CELLS)],
        layers=rng.randint(1, 3),
        bidirectional=rng.random() < 0.5,
        batch_first=rng.random() < 0.5,
        bias=rng.random() < 0.7,
        with_h0=rng.random() < 0.5,
        pre_grad=rng.random() < 0.3,
        N=rng.randint(1, 3),
        L=rng.randint(1, 6),
        I=rng.randint(1, 4),
        H=rng.randint(1, 4),
        steps=rng.sample(range(6), rng.randint(1, 3)),
    )


def run_case(seed, dtype):
    cfg = random_config(seed)
    cell, N, L, I, H = cfg["cell"], cfg["N"], cfg["L"], cfg["I"], cfg["H"]
    torch.manual_seed(seed)
    module = make_module(cell, I, H, layers=cfg["layers"], bidirectional=cfg["bidirectional"],
                         batch_first=cfg["batch_first"], bias=cfg["bias"], dtype=dtype)
    for p in module.parameters():  # larger weights than the default so gradients are not tiny
        p.data.uniform_(-1.0, 1.0)
    D = 2 if cfg["bidirectional"] else 1
    head = nn.Linear(D * H, 2, dtype=dtype)
    x = torch.randn((N, L, I) if cfg["batch_first"] else (L, N, I), dtype=dtype)
    h0 = None
    if cfg["with_h0"]:
        h0 = torch.randn(cfg["layers"] * D, N, H, dtype=dtype)
        if cell == "lstm":
            h0 = (h0, torch.randn(cfg["layers"] * D, N, H, dtype=dtype))
    if cfg["pre_grad"]:
        for p in list(module.parameters()) + list(head.parameters()):
            p.grad = torch.randn_like(p)
    ref_module, ref_head = copy.deepcopy(module), copy.deepcopy(head)
    for src, dst in ((module, ref_module), (head, ref_head)):  # deepcopy drops .grad
        for p, q in zip(src.parameters(), dst.parameters(), strict=True):
            q.grad = None if p.grad is None else p.grad.clone()
    before = {n: p.grad.clone() if p.grad is not None else torch.zeros_like(p) for n, p in module.named_parameters()}

    loss_fn = make_loss(head, cfg["steps"], 0.3, 0.7)
    loss_fn.batch_first = cfg["batch_first"]
    ref_loss = make_loss(ref_head, cfg["steps"], 0.3, 0.7)
    ref_loss.batch_first = cfg["batch_first"]

    tr = trace(module, x, loss_fn, h0)
    ref = reference(cell, ref_module, x, ref_loss, h0)

    # what loss_fn saw equals the fused module's own result
    with torch.no_grad():
        out_m, hn_m = module(x, h0)
    hn_m = hn_m[0] if cell == "lstm" else hn_m
    exact = dict(atol=1e-12, rtol=1e-12) if dtype == torch.float64 else dict(atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(loss_fn.seen[0].detach(), out_m, **exact)
    torch.testing.assert_close(loss_fn.seen[1].detach(), hn_m, **exact)

    assert isinstance(tr, Trace) and tr.cell_type == cell and tr.finite
    assert tr.output.dtype == (np.float64 if dtype == torch.float64 else np.float32)
    assert (tr.num_layers, tr.num_directions, tr.batch_size, tr.seq_len, tr.hidden_size) == (cfg["layers"], D, N, L, H)
    assert_close(tr.loss, ref["loss"], dtype, "loss")
    for field in ("output", "hidden", "grad_hidden", "grad_input"):
        assert_close(getattr(tr, field), ref[field], dtype, field)
    assert set(tr.gates) == set(cells.get(cell).gates)
    for name, g in tr.gates.items():
        assert_close(g, ref["gate_" + name], dtype, "gate " + name)
    assert_close(tr.grad_norms, np.sqrt((ref["grad_hidden"] ** 2).sum(axis=(2, 4))), dtype, "grad_norms")
    if cell == "lstm":
        assert_close(tr.cell, ref["cell"], dtype, "cell")
        assert_close(tr.grad_cell, ref["grad_cell"], dtype, "grad_cell")
        assert_close(tr.grad_cell_norms, np.sqrt((ref["grad_cell"] ** 2).sum(axis=(2, 4))), dtype, "grad_cell_norms")
    else:
        assert tr.cell is None and tr.grad_cell is None and tr.grad_cell_norms is None

    # accumulated .grad equals the reference's (module and head), and norms are of this call only
    for (name, p), (_, q) in zip(module.named_parameters(), ref_module.named_parameters(), strict=True):
        assert_close(p.grad, q.grad, dtype, "grad " + name)
    for p, q in zip(head.parameters(), ref_head.parameters(), strict=True):
        assert_close(p.grad, q.grad, dtype, "head grad")
    own = {n: q.grad - before[n] for n, q in ref_module.named_parameters()}
    want = param_blocks(cell, module, own)
    assert set(tr.param_grad_norms) == set(want)
    for name, v in want.items():
        assert tr.param_grad_norms[name].shape == v.shape
        assert_close(tr.param_grad_norms[name], v, dtype, "param_grad_norms " + name)


@pytest.mark.parametrize("seed", range(120))
def test_random_config_float64(seed):
    run_case(seed, torch.float64)


@pytest.mark.parametrize("seed", range(1000, 1024))
def test_random_config_float32(seed):
    run_case(seed, torch.float32)


def test_sweep_covers_every_feature():
    cfgs = [random_config(s) for s in range(120)]
    for key in ("bidirectional", "batch_first", "bias", "with_h0", "pre_grad"):
        for cell in CELLS:
            assert {c[key] for c in cfgs if c["cell"] == cell} == {True, False}, (key, cell)
    assert {c["layers"] for c in cfgs} == {1, 2, 3}


# ----------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize("cell", CELLS)
def test_grads_equal_plain_backward(cell):
    """The accumulated .grad is what loss_fn(*module(x, h0)).backward() gives (fused path)."""
    torch.manual_seed(0)
    module = make_module(cell, 3, 5, layers=2, bidirectional=True, batch_first=True)
    head = nn.Linear(10, 2, dtype=torch.float64)
    loss_fn = make_loss(head, [0, 3, 5], 0.5, 0.2)
    loss_fn.batch_first = True
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    plain_m, plain_h = copy.deepcopy(module), copy.deepcopy(head)
    plain_loss = make_loss(plain_h, [0, 3, 5], 0.5, 0.2)
    plain_loss.batch_first = True
    plain_loss(*plain_m(x)).backward()
    trace(module, x, loss_fn)
    for p, q in zip(list(module.parameters()) + list(head.parameters()),
                    list(plain_m.parameters()) + list(plain_h.parameters()), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_forward_only(cell):
    module = make_module(cell, 3, 4, layers=2, bidirectional=True, dtype=torch.float32)
    x = torch.randn(6, 2, 3)
    tr = trace(module, x, None)
    ref = reference(cell, module, x, None)
    assert tr.loss is None and tr.finite
    for field in ("grad_hidden", "grad_cell", "grad_input", "grad_norms", "grad_cell_norms", "param_grad_norms"):
        assert getattr(tr, field) is None, field
    assert all(p.grad is None for p in module.parameters())
    assert_close(tr.hidden, ref["hidden"], torch.float32, "hidden")
    for name, g in tr.gates.items():
        assert_close(g, ref["gate_" + name], torch.float32, name)
    assert tr.nbytes == tr.output.nbytes + tr.hidden.nbytes * (1 + len(tr.gates) + (cell == "lstm"))


def test_x_requiring_grad_gets_grad_like_backward():
    module = make_module("gru", 2, 3)
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    tr = trace(module, x, lambda out, h: out.square().sum())
    np.testing.assert_allclose(x.grad.transpose(0, 1).numpy(), tr.grad_input, rtol=1e-12, atol=1e-14)


def test_diverging_model_is_reported_not_hidden():
    torch.manual_seed(0)
    module = make_module("rnn_relu", 4, 8, dtype=torch.float32)
    with torch.no_grad():
        module.weight_hh_l0.copy_(torch.eye(8) * 50.0)
        module.weight_ih_l0.fill_(1.0)
    x = torch.rand(200, 2, 4)
    plain = copy.deepcopy(module)
    loss_fn = lambda out, h: out[-1].sum() * 1e30  # noqa: E731
    loss_fn(*plain(x)).backward()
    tr = trace(module, x, loss_fn)
    assert not tr.finite
    assert not np.isfinite(tr.grad_hidden).all()
    assert not np.isfinite(module.weight_hh_l0.grad.numpy()).all()
    for p, q in zip(module.parameters(), plain.parameters(), strict=True):  # the same inf/nan as a plain backward
        torch.testing.assert_close(p.grad, q.grad, equal_nan=True)


# ----------------------------------------------------------------------------- bad input


def _raises(msg, *args, **kw):
    with pytest.raises(RnnvizError) as err:
        trace(*args, **kw)
    assert str(err.value) == msg


def _sum(out, h):
    return out.sum()


def test_bad_module():
    _raises("module must be torch.nn.RNN, nn.LSTM or nn.GRU, got Linear", nn.Linear(2, 2), torch.zeros(1, 1, 2), _sum)
    _raises("LSTM projections (proj_size > 0) are not supported, got proj_size=2",
            nn.LSTM(3, 4, proj_size=2), torch.zeros(2, 1, 3), _sum)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    _raises("dropout between layers is not supported in training mode (call module.eval() or set dropout=0), "
            "got dropout=0.5", m, torch.zeros(2, 1, 3), _sum)
    assert trace(m.eval(), torch.zeros(2, 1, 3), _sum).finite


def test_bad_input():
    m = nn.RNN(8, 4, batch_first=True)
    _raises("x must have 8 features (module.input_size), got 5", m, torch.zeros(2, 3, 5), _sum)
    _raises("x must be 3-D (N, L, I), got 2-D with shape (3, 8)", m, torch.zeros(3, 8), _sum)
    _raises("x must be 3-D (L, N, I), got 4-D with shape (1, 2, 3, 8)", nn.LSTM(8, 4), torch.zeros(1, 2, 3, 8), _sum)
    _raises("x must have the module's dtype torch.float32, got torch.float64", m,
            torch.zeros(2, 3, 8, dtype=torch.float64), _sum)
    _raises("x must be a torch.Tensor, got list", m, [[[0.0] * 8]], _sum)
    x = torch.zeros(2, 3, 8)
    x[0, 1, 2], x[1, 2, 3] = float("nan"), float("inf")
    _raises("x must be finite, got 2 inf/nan values", m, x, _sum)
    packed = nn.utils.rnn.pack_padded_sequence(torch.zeros(2, 3, 8), [3, 2], batch_first=True)
    _raises("PackedSequence input is not supported, got a PackedSequence (pass a padded 3-D tensor)", m, packed, _sum)
    _raises("loss_fn must return a scalar tensor, got (2, 3, 4)", m, torch.zeros(2, 3, 8), lambda o, h: o)


def test_bad_state():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    x = torch.zeros(5, 2, 3)  # (L, N, I)
    _raises("h0 must have shape (num_layers*num_directions, N, H) = (4, 2, 4), got (2, 2, 4)",
            m, x, _sum, torch.zeros(2, 2, 4))
    bad = torch.zeros(4, 2, 4)
    bad[0, 0, 0] = float("inf")
    _raises("h0 must be finite, got 1 inf/nan values", m, x, _sum, bad)
    lstm = nn.LSTM(3, 4)
    _raises("h0 for an LSTM must be a tuple (h0, c0), got Tensor", lstm, x, _sum, torch.zeros(1, 2, 4))
    _raises("c0 must have shape (num_layers*num_directions, N, H) = (1, 2, 4), got (1, 3, 4)",
            lstm, x, _sum, (torch.zeros(1, 2, 4), torch.zeros(1, 3, 4)))


@pytest.mark.parametrize("enabled", [True, False])
def test_gc_state_restored(enabled):
    """trace pauses the cyclic GC during its loops and restores the caller's setting (also on error)."""
    import gc

    module = make_module("lstm", 2, 3, bidirectional=True)
    x = torch.randn(4, 2, 2, dtype=torch.float64)
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        assert trace(module, x, _sum).finite
        assert gc.isenabled() == enabled
        with pytest.raises(RnnvizError):
            trace(module, x, lambda o, h: o)
        assert gc.isenabled() == enabled
    finally:
        gc.enable() if was else gc.disable()


def test_gc_stays_enabled_after_overlapping_traces_in_threads():
    """Sessions trace in parallel threads: overlapping pauses must not leave the collector off."""
    import gc
    import threading

    module = make_module("lstm", 2, 3)
    x = torch.randn(40, 4, 2, dtype=torch.float64)  # (L, N, I): time-major module
    inside = threading.Barrier(2)
    errors, finished = [], []

    def run():
        try:
            finished.append(trace(module, x, overlapping_loss).finite)
        except Exception as err:  # noqa: BLE001 (reported by the assertion below)
            errors.append(err)

    def overlapping_loss(out, h):
        inside.wait(timeout=30)  # both traces are inside their GC pause at once
        return out.sum()

    assert gc.isenabled()
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and finished == [True, True], errors
    assert gc.isenabled()


def test_from_rnnviz_import_trace_traces_whatever_was_imported_before():
    """A fresh interpreter that imports the trainer first (which imports the module rnnviz.trace) still gets a
    working ``from rnnviz import trace`` (it handed out the module once: "'module' object is not callable")."""
    import subprocess
    import sys

    code = ("import torch, rnnviz.trainer\nfrom rnnviz import trace\n"
            "rnn = torch.nn.RNN(2, 3, batch_first=True).double()\n"
            "tr = trace(rnn, torch.zeros(1, 4, 2, dtype=torch.float64), None)\n"
            "print(type(tr).__name__, tr.hidden.shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Trace", "(1,", "1,", "1,", "4,", "3)"]
