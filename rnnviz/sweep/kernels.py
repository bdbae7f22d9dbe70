"""The batched per-cell passes of the step-0 sweep: ``RUNS[cell](cell, rnns, xs) -> (output (B, N, L, H),
backward(d_outs) -> (dL/dh_1, dL/dh_T))`` over B configs of one shape (one layer, one direction).

Each repeats ``rnnviz.trace``'s operations (rnnviz/trace_layers.py) in trace's order with every config's
buffers in trace's own per-config layout from a 64-byte-aligned start (:func:`aligned_blocks`), so the
numbers are bit-identical to one trace per config (tests/test_sweep.py); why this matters is in
rnnviz/sweep/__init__.py's docstring.
"""

from __future__ import annotations

import math

__all__ = ["RUNS", "aligned_blocks", "SMALL_BMM"]


def aligned_blocks(B: int, *shape, dtype, zero: bool = False):
    """(B, *shape): one block per config, each contiguous and 64-byte aligned like a fresh tensor, and
    never adjacent to the next (one padding run in between).

    Why: the batched kernels must round exactly as trace's per-config ones. MKL's gemm rounds
    differently for a differently aligned operand (measured at odd H x N), so every per-config block
    has trace's own layout from an aligned start; and an elementwise kernel never merges two configs'
    blocks into one run, so it walks each with the same inner loop (and vector/scalar tail split) as
    a per-config run does."""
    import torch

    n = math.prod(shape)
    stride = (n // 16 + 1) * 16
    buf = (torch.zeros if zero else torch.empty)(B, stride, dtype=dtype)
    return buf[:, :n].unflatten(1, shape)


def _fill(tensors):
    """The tensors (same shape) copied into aligned blocks (B, *shape)."""
    out = aligned_blocks(len(tensors), *tensors[0].shape, dtype=tensors[0].dtype)
    for k, t in enumerate(tensors):
        out[k].copy_(t)
    return out


def _padded(L: int, B: int, *shape, dtype):
    """(L, B, *shape) with every (step, config) block aligned and apart, as a fresh per-step tensor."""
    return aligned_blocks(L * B, *shape, dtype=dtype).unflatten(0, (L, B))


# torch's CPU bmm multiplies small matrices (rows x cols x contraction below this) with its own loop
# instead of BLAS: those shapes take one addmm per config, as trace's per-config calls do.
SMALL_BMM = 400


def _gemm(out, a, b, bias=None) -> None:
    """out = a @ b (+ bias (B, 1, cols)), batched (per config for small shapes, see SMALL_BMM)."""
    import torch

    if a.shape[1] * b.shape[2] * a.shape[2] < SMALL_BMM:
        for k in range(a.shape[0]):
            if bias is None:
                torch.mm(a[k], b[k], out=out[k])
            else:
                torch.addmm(bias[k, 0], a[k], b[k], out=out[k])
    elif bias is None:
        torch.bmm(a, b, out=out)
    else:
        torch.baddbmm(bias, a, b, out=out)


def _gemm_acc(out, a, b) -> None:
    """out += a @ b, batched (per config for small shapes, see SMALL_BMM)."""
    if a.shape[1] * b.shape[2] * a.shape[2] < SMALL_BMM:
        for k in range(a.shape[0]):
            out[k].addmm_(a[k], b[k])
    else:
        out.baddbmm_(a, b)



def _param(rnns, name, rows=None):
    """One parameter of every config in aligned blocks (optionally its rows permuted, as trace does)."""
    return _fill([getattr(r, name) if rows is None else getattr(r, name)[rows] for r in rnns])


def _vanilla(cell, rnns, xs):
    """Plain RNN, as torch._VF.rnn_tanh / rnn_relu (trace's forward) and trace's _VanillaRun backward:
        a_t = (b_hh + W_hh h_{t-1}) + (W_ih x_t + b_ih),  h_t = phi(a_t)
        dA_t = dL/dh_t ⊙ phi'(a_t),  dL/dh_{t-1} += W_hh^T dA_t
    xs: per config (N, L, I). Returns output (B, N, L, H) and backward(d_outs) -> (dL/dh_1, dL/dh_T)."""
    import torch
    import torch.nn.functional as F

    B, (N, L, _) = len(rnns), xs[0].shape
    H, dtype = rnns[0].hidden_size, xs[0].dtype
    w_hh = _param(rnns, "weight_hh_l0")  # (B, H, H)
    b_hh = _fill([r.bias_hh_l0[None] for r in rnns]) if rnns[0].bias else None  # (B, 1, H)
    xp = torch.empty(L, B, N, H, dtype=dtype)  # W_ih x_t + b_ih, by step (only added: layout is free)
    for k, (r, x) in enumerate(zip(rnns, xs, strict=True)):
        xp[:, k] = F.linear(x.transpose(0, 1), r.weight_ih_l0, r.bias_ih_l0 if r.bias else None)  # as _VF
    hs = _padded(L, B, N, H, dtype=dtype)  # h_t, each block as _VF's fresh per-step tensor
    a = _padded(1, B, N, H, dtype=dtype)[0]
    h = aligned_blocks(B, N, H, dtype=dtype, zero=True)
    w_t = w_hh.transpose(1, 2)
    for t in range(L):
        _gemm(a, h, w_t, b_hh)
        a.add_(xp[t])
        h = hs[t]
        if cell == "rnn_tanh":
            torch.tanh(a, out=h)
        else:
            torch.clamp_min(a, 0, out=h)

    def backward(d_outs):
        dh = aligned_blocks(B, N, L, H, dtype=dtype)  # trace's grad_hidden layout, batch-first per config
        da = aligned_blocks(B, N, L, H, dtype=dtype)
        for k, d in enumerate(d_outs):
            dh[k].copy_(d)
        zero = torch.zeros((), dtype=dtype)
        for t in range(L - 1, 0, -1):
            ht, dat = hs[t], da[:, :, t]
            if cell == "rnn_tanh":  # dA_t = dh_t ⊙ (1 - h_t²): exact elementwise ops, as trace's
                torch.mul(ht, ht, out=dat)
                dat.neg_().add_(1).mul_(dh[:, :, t])
            else:
                torch.where(ht <= 0, zero, dh[:, :, t], out=dat)
            _gemm_acc(dh[:, :, t - 1], dat, w_hh)
        return dh[:, :, 0], dh[:, :, L - 1]

    return hs.permute(1, 2, 0, 3), backward


def _lstm_inputs(rnns, xs, rows):
    """(B, L, N, 4H): X W_ih^T + b_ih + b_hh with the rows permuted to i f o g, time-major, per config as
    trace computes it."""
    import torch

    B, (N, L, I) = len(rnns), xs[0].shape
    H, dtype = rnns[0].hidden_size, xs[0].dtype
    a = aligned_blocks(B, L, N, 4 * H, dtype=dtype)
    for k, (r, x) in enumerate(zip(rnns, xs, strict=True)):  # as trace, per config
        xt = x.transpose(0, 1).reshape(L * N, I)
        w_ih = r.weight_ih_l0[rows]
        if r.bias:
            a[k] = torch.addmm((r.bias_ih_l0 + r.bias_hh_l0)[rows], xt, w_ih.t()).view(L, N, 4 * H)
        else:
            a[k] = torch.mm(xt, w_ih.t()).view(L, N, 4 * H)
    return a


def _lstm_coefficients(a, tc, c_prev):
    """The per-step factors of trace's LSTM backward, from the gates ``a`` (B, L, N, 4H: i f o g),
    tanh(c_t) ``tc`` and c_{t-1} ``c_prev`` (B, L, N, H):
        K^o = tanh(c) sigma'(o),  K^c = o (1 - tanh^2 c)                  -> kk (B, L, N, 2, H)
        P^i = g sigma'(i),  P^f = c_{t-1} sigma'(f),  P^g = i (1 - g^2)   -> p = [f, P^i, P^f, P^g] (B, L, N, 4, H)"""
    import torch

    B, L, N, H4 = a.shape
    H, dtype = H4 // 4, a.dtype
    i, f, o, g = (a[..., k * H : (k + 1) * H] for k in range(4))
    one = torch.ones((), dtype=dtype)
    sd = torch.addcmul(a[..., : 3 * H], a[..., : 3 * H], a[..., : 3 * H], value=-1)  # sigma' of i f o
    tmp = torch.addcmul(one, tc, tc, value=-1)  # 1 - tanh^2 c
    kk = torch.empty(B, L, N, 2, H, dtype=dtype)  # [K^o, K^c]
    torch.mul(tc, sd[..., 2 * H :], out=kk[..., 0, :])
    torch.mul(o, tmp, out=kk[..., 1, :])
    p = torch.empty(B, L, N, 4, H, dtype=dtype)  # [f, P^i, P^f, P^g]
    p[..., 0, :] = f
    torch.mul(g, sd[..., :H], out=p[..., 1, :])
    torch.mul(c_prev, sd[..., H : 2 * H], out=p[..., 2, :])
    torch.addcmul(one, g, g, value=-1, out=tmp)
    torch.mul(i, tmp, out=p[..., 3, :])
    return kk, p


def _lstm(cell, rnns, xs):
    """LSTM, as trace's _LSTMRun (rows permuted i f o g, time-major, in-place gates):
        a_t += W_hh h_{t-1}; sigma on i f o; tanh on g; c_t = i g + f c_{t-1}; h_t = o tanh(c_t)
    backward per step (trace's formulas):
        [dA^o, dc]_t = [0, f dc]_{t+1} + dh_t [K^o, K^c]_t;  [f dc, dA^i, dA^f, dA^g]_t = dc_t [f, P^i, P^f, P^g]_t
        dL/dh_{t-1} += W_hh^T [dA^i, dA^f, dA^g, dA^o]_t."""
    import torch

    B, (N, L, _) = len(rnns), xs[0].shape
    H, dtype = rnns[0].hidden_size, xs[0].dtype
    rows = torch.cat([torch.arange(k * H, (k + 1) * H) for k in (0, 1, 3, 2)])  # i f o g
    a = _lstm_inputs(rnns, xs, rows)  # pre-activations, then (in place) the gates i f o g
    hx, cx = aligned_blocks(B, L + 1, N, H, dtype=dtype), aligned_blocks(B, L + 1, N, H, dtype=dtype)
    tc = aligned_blocks(B, L, N, H, dtype=dtype)
    hx[:, 0] = 0
    cx[:, 0] = 0
    w = _param(rnns, "weight_hh_l0", rows).transpose(1, 2)  # (B, H, 4H)
    for t in range(L):
        at, ct = a[:, t], cx[:, t + 1]
        _gemm_acc(at, hx[:, t], w)
        at[..., : 3 * H].sigmoid_()
        gt = at[..., 3 * H :].tanh_()
        torch.mul(at[..., :H], gt, out=ct)
        ct.addcmul_(at[..., H : 2 * H], cx[:, t])
        torch.tanh(ct, out=tc[:, t])
        torch.mul(at[..., 2 * H : 3 * H], tc[:, t], out=hx[:, t + 1])

    def backward(d_outs):
        dh = aligned_blocks(B, N, L, H, dtype=dtype)  # trace's grad_hidden layout
        for k, d in enumerate(d_outs):
            dh[k].copy_(d)
        kk, p = _lstm_coefficients(a, tc, cx[:, :L])
        z = aligned_blocks(B, L, N, 7 * H, dtype=dtype)  # slots [0, f dc, dA^i, dA^f, dA^g, dA^o, dc], as trace's
        z7 = z.unflatten(-1, (7, H))
        z7[..., 0, :] = 0
        after_last = torch.zeros(B, N, 2, H, dtype=dtype)
        w_hh = _param(rnns, "weight_hh_l0")  # (B, 4H, H)
        for t in range(L - 1, -1, -1):
            nxt = z7[:, t + 1, :, 0:2] if t < L - 1 else after_last
            torch.addcmul(nxt, dh[:, :, t, None], kk[:, t], out=z7[:, t, :, 5:7])
            torch.mul(z7[:, t, :, 6:7], p[:, t], out=z7[:, t, :, 1:5])
            if t > 0:
                _gemm_acc(dh[:, :, t - 1], z[:, t, :, 2 * H : 6 * H], w_hh)
        return dh[:, :, 0], dh[:, :, L - 1]

    return hx[:, 1:].transpose(1, 2), backward


def _gru(cell, rnns, xs):
    """GRU, as trace's _GRURun (batch-first buffers, h_t = n_t + z_t (h_{t-1} - n_t)); backward:
        dA^n = dh (1 - z)(1 - n^2);  dA^z = dh (h_{t-1} - n) z (1 - z);  dA^r = dA^n ĥ r (1 - r)
        dL/dh_{t-1} += z_t dh_t + W_hh^T [dA^r, dA^z, r dA^n]_t."""
    import torch

    B, (N, L, I) = len(rnns), xs[0].shape
    H, dtype = rnns[0].hidden_size, xs[0].dtype
    a = aligned_blocks(B, N, L, 3 * H, dtype=dtype)  # [pre-activation of r, of z, ĥ_t], as trace's
    gin = torch.empty(B, N, L, H, dtype=dtype)  # W_in x_t + b_in
    for k, (r, x) in enumerate(zip(rnns, xs, strict=True)):  # trace's _input_gates, per config
        x2 = x.reshape(N * L, I)
        ak = (torch.addmm(r.bias_ih_l0, x2, r.weight_ih_l0.t()) if r.bias else x2 @ r.weight_ih_l0.t())
        ak = ak.view(N, L, 3 * H)
        gin[k] = ak[..., 2 * H :]
        if r.bias:
            ak[..., : 2 * H] += r.bias_hh_l0[: 2 * H]
            ak[..., 2 * H :] = r.bias_hh_l0[2 * H :]
        else:
            ak[..., 2 * H :] = 0
        a[k] = ak
    gates = torch.empty(3, B, N, L, H, dtype=dtype)
    h = aligned_blocks(B, N, L, H, dtype=dtype)  # trace's hidden layout
    h0 = aligned_blocks(B, N, H, dtype=dtype, zero=True)
    dlt = torch.empty(B, N, L, H, dtype=dtype)
    a4 = a.unflatten(-1, (3, H))
    w = _param(rnns, "weight_hh_l0").transpose(1, 2)  # (B, H, 3H)
    for t in range(L):
        hp = h0 if t == 0 else h[:, :, t - 1]
        _gemm_acc(a[:, :, t], hp, w)
        torch.sigmoid(a4[:, :, t, :2].permute(2, 0, 1, 3), out=gates[:2, :, :, t])
        nt = gates[2, :, :, t]
        torch.addcmul(gin[:, :, t], gates[0, :, :, t], a4[:, :, t, 2], out=nt).tanh_()
        torch.sub(hp, nt, out=dlt[:, :, t])
        torch.addcmul(nt, gates[1, :, :, t], dlt[:, :, t], out=h[:, :, t])

    def backward(d_outs):
        r, z, n = gates
        dh = aligned_blocks(B, N, L, H, dtype=dtype)  # trace's grad_hidden layout
        for k, d in enumerate(d_outs):
            dh[k].copy_(d)
        qn = (1 - z) * (1 - n * n)  # (B, N, L, H)
        q = torch.empty(B, N, L, 3, H, dtype=dtype)
        torch.mul(qn * a[..., 2 * H :], r * (1 - r), out=q[..., 0, :])
        torch.mul(dlt, z * (1 - z), out=q[..., 1, :])
        torch.mul(qn, r, out=q[..., 2, :])
        da = aligned_blocks(B, N, L, 3 * H, dtype=dtype)  # trace's da layout
        w_hh = _param(rnns, "weight_hh_l0")  # (B, 3H, H)
        for t in range(L - 1, 0, -1):
            torch.mul(dh[:, :, t, None], q[:, :, t], out=da[:, :, t].unflatten(-1, (3, H)))
            dh[:, :, t - 1].addcmul_(z[:, :, t], dh[:, :, t])
            _gemm_acc(dh[:, :, t - 1], da[:, :, t], w_hh)
        return dh[:, :, 0], dh[:, :, L - 1]

    return h, backward



#: The batched pass of each cell type (keys = cells.CELLS).
RUNS = {"rnn_tanh": _vanilla, "rnn_relu": _vanilla, "lstm": _lstm, "gru": _gru}
