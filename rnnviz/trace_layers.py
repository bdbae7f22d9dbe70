"""The hand-written forward and backward passes behind :func:`rnnviz.trace.trace`, one per cell.

Shapes: N batch, L length, I input features, H hidden, Lyr layers, D directions (1|2).
Cell equations (PyTorch conventions, weight rows in the order listed):

    vanilla  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)        (or relu)
    LSTM     i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)           input gate
             f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)           forget gate
             g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)        candidate
             o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)           output gate
             c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,   h_t = o_t ⊙ tanh(c_t)
    GRU      r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)           reset gate
             z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)           update gate
             n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn)) candidate
             h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}  (computed as n_t + z_t ⊙ (h_{t-1} - n_t))

How (exact and cheap): every layer-direction is one custom autograd Function (``_Layer``)
whose forward and backward are written here, so every internal quantity is produced once,
directly into the Trace's arrays, and no second pass or probe is needed:

  - forward: the input projections X W_ih^T + b for all t are one matmul; then per step one
    ``addmm`` (the recurrent matmul, in place on that step's pre-activation) and a few
    elementwise ops that write h_t, c_t and the gates into their final arrays. The vanilla
    RNN needs no gates: its forward is the fused kernel (torch._VF) and h is copied out.
  - backward: with dA_t = dL/d(gate pre-activations on the W_hh side) at step t, each step is
        dL/dh_{t-1} = W_hh^T dA_t  (+ the direct term from the loss / upper layer, + z_t ⊙ dL/dh_t for the GRU)
    i.e. one (N, G*H) x (G*H, H) ``addmm`` plus one to three elementwise ops, with every
    factor that does not depend on the adjoint (σ', tanh', ...) computed for all t at once
    beforehand. dL/dh_t (and dL/dc_t) for every t are the loop's own state, so recording
    them is free. Parameter and input gradients are then batched over all t:
        dW_ih = Σ_t dAi_t^T x_t,  dW_hh = Σ_t dA_t^T h_{t-1},  db_ih = Σ_t dAi_t,  db_hh = Σ_t dA_t,
        dL/dx_t = W_ih^T dAi_t,   dL/dh0 = W_hh^T dA_0 (+ z_0 ⊙ dL/dh_0 for the GRU)
    where dAi is dA on the W_ih side (equal to dA except for the GRU's n rows).
    The cell-specific backward formulas are next to the code (``_VanillaRun``, ``_LSTMRun``,
    ``_GRURun``). Measured (benchmarks/bench_trace.py) faster than PyTorch's own backward.

For the reverse direction index t is the input position; the per-step loops walk lists of
per-step views in processing order, so both directions share one code path.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from rnnviz import cells


def _weights(module, layer: int, direction: int) -> list[torch.Tensor]:
    """[W_ih, W_hh] (+ [b_ih, b_hh]) of one layer-direction."""
    sfx = cells.weight_suffix(layer, direction)
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if module.bias else [])
    return [getattr(module, n + sfx) for n in names]


def _steps(a: torch.Tensor, rev: bool, dim: int = 1) -> list[torch.Tensor]:
    """Per-step views of a (indexed by input position along dim) in processing order."""
    views = a.unbind(dim)
    return list(views[::-1] if rev else views)


def _prev(a: torch.Tensor, a0: torch.Tensor, rev: bool) -> torch.Tensor:
    """(N, L, H) by position: a at the previous processing step, a0 before the first."""
    if rev:
        return torch.cat([a[:, 1:], a0[:, None]], 1)
    return torch.cat([a0[:, None], a[:, :-1]], 1)


class Buffers:
    """The Trace's arrays (Lyr, D, N, L, H), allocated once; each run fills its [l, d] slice.

    Allocated by torch (measured: fresh np.empty pages cost ~1 ms per 7 MB on first touch)
    and handed over with .numpy() (no copy).
    """

    def __init__(self, cell: str, Lyr: int, D: int, N: int, L: int, H: int, dtype, with_grad: bool):
        shape, G, is_lstm = (Lyr, D, N, L, H), len(cells.get(cell).gates), cell == "lstm"

        def empty(*lead):
            return torch.empty(lead + shape, dtype=dtype).numpy()

        self.hidden = empty()
        self.gates = empty(G) if G else None  # gate k = gates[k]
        self.cell = empty() if is_lstm else None
        self.grad_hidden = empty() if with_grad else None
        self.grad_cell = empty() if with_grad and is_lstm else None


class _Run:
    """One layer-direction: its slices of the Trace arrays and the hand-written passes.

    Tensors are (N, L, ...) by input position, per-step lists are in processing order.
    Slices are wrapped with torch.from_numpy (separate tensors sharing the memory), so
    autograd sees plain tensors, not views whose base other layers write to.
    Subclasses give ``_forward()`` and ``_backward_setup(dhs) -> (dA, step)`` (the LSTM its own ``backward``).
    """

    def __init__(self, cell: str, bufs: Buffers, layer: int, d: int):
        def part(a):
            return torch.from_numpy(a[..., layer, d, :, :, :]) if a is not None else None

        self.cell_type, self.rev = cell, bool(d)
        self.h, self.c, self.gates = part(bufs.hidden), part(bufs.cell), part(bufs.gates)  # gates (G, N, L, H)
        self.dh, self.dc = part(bufs.grad_hidden), part(bufs.grad_cell)
        self.backward_ran = False

    def run(self, inp, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        """Forward; returns what the module returns for this layer-direction: out, h_n (, c_n)."""
        self.inp, self.h0, self.c0 = inp.detach(), h0.detach(), c0.detach() if c0 is not None else None
        self.w_ih, self.w_hh = w_ih.detach(), w_hh.detach()
        self.b_ih = b_ih.detach() if b_ih is not None else None
        self.b_hh = b_hh.detach() if b_hh is not None else None
        N, L, I = inp.shape
        self.x2 = self.inp.reshape(N * L, I)  # (N*L, I_l)
        self._forward()
        last = 0 if self.rev else L - 1
        outs = (torch.from_numpy(self.h.numpy()), self.h[:, last].clone())  # (N, L, H), (N, H)
        return outs + ((self.c[:, last].clone(),) if self.c is not None else ())

    def _input_gates(self, bias) -> torch.Tensor:
        """X W_ih^T (+ bias) for all t: (N, L, G*H)."""
        N, L, _ = self.inp.shape
        a = torch.addmm(bias, self.x2, self.w_ih.t()) if bias is not None else self.x2 @ self.w_ih.t()
        return a.view(N, L, -1)

    def backward(self, d_out, d_hn, d_cn, need):
        """Gradients for (inp, h0, c0, w_ih, w_hh, b_ih, b_hh); fills self.dh (and self.dc)."""
        N, L, H = self.h.shape
        dh = self.dh
        dh.copy_(d_out)  # the direct terms
        dh[:, 0 if self.rev else L - 1] += d_hn
        dhs = [torch.zeros_like(self.h0)] + _steps(dh, self.rev)  # dhs[t + 1] = dL/dh_t, dhs[0] = dL/dh0
        da, step = self._backward_setup(dhs)  # da (N, L, G*H) = dA, step(t) writes dA_t
        das, w_hh = _steps(da, self.rev), self.w_hh
        for t in range(L - 1, -1, -1):  # dhs[t + 1] is final here: all later steps have added to it
            step(t)
            dhs[t].addmm_(das[t], w_hh)  # dL/dh_{t-1} += W_hh^T dA_t
        self.backward_ran = True
        dai = self._input_side(da)  # (N, L, G*H)
        G = da.shape[2]
        da2, dai2 = da.reshape(N * L, G), dai.reshape(N * L, G)
        g_inp = (dai2 @ self.w_ih).view(N, L, -1) if need[0] else None
        g_wih = dai2.t() @ self.x2 if need[3] else None  # (G*H, I_l)
        g_whh = da2.t() @ _prev(self.h, self.h0, self.rev).reshape(N * L, H) if need[4] else None
        g_bih = g_bhh = None
        if need[5] or need[6]:
            g_bih = dai2.sum(0)
            g_bhh = g_bih.clone() if dai is da else da2.sum(0)
        return g_inp, dhs[0] if need[1] else None, None, g_wih, g_whh, g_bih, g_bhh

    def _input_side(self, da: torch.Tensor) -> torch.Tensor:
        """dAi, the gradient of the W_ih-side pre-activations; the same as dA except for the GRU."""
        return da


class _VanillaRun(_Run):
    """h_t = φ(a_t), a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh.

    Forward: the fused kernel (no gates to record). Backward per step:
        dA_t = dL/dh_t ⊙ φ'(a_t)      φ' = 1 - h_t² (tanh), 1{h_t > 0} (relu, as threshold_backward:
                                       a zero where h_t <= 0 even if dL/dh_t is inf/nan)
    """

    def _forward(self):
        w = [self.w_ih, self.w_hh] + ([self.b_ih, self.b_hh] if self.b_ih is not None else [])
        inp = self.inp.flip(1) if self.rev else self.inp  # processing order
        out, _ = getattr(torch._VF, self.cell_type)(inp, self.h0[None], w, len(w) == 4, 1, 0.0, False, False, True)
        self.h.copy_(out.flip(1) if self.rev else out)  # (N, L, H)

    def _backward_setup(self, dhs):
        h, rev = self.h, self.rev
        da = torch.empty_like(h)  # (N, L, H)
        das = _steps(da, rev)
        if self.cell_type == "rnn_tanh":
            dphis = _steps(1 - h * h, rev)

            def step(t):
                torch.mul(dhs[t + 1], dphis[t], out=das[t])

        else:
            offs, zero = _steps(h <= 0, rev), h.new_zeros(())

            def step(t):
                torch.where(offs[t], zero, dhs[t + 1], out=das[t])

        return da, step


class _LSTMRun(_Run):
    """LSTM layer-direction (equations in the module docstring).

    Scratch is time-major by input position, (L, N, ...), so every per-step slice is one
    contiguous block (batch-first slices are N rows 4 KB-multiples apart: cache-set conflicts).
    Forward per step, on a row a_t = [i, f, o, g] (W rows permuted: the sigmoid gates first):
        a_t += W_hh h_{t-1};  sigmoid_ on a_t[:3H];  tanh_ on a_t[3H:]          (in place)
        c_t = i ⊙ g;  c_t += f ⊙ c_{t-1};  tc_t = tanh(c_t);  h_t = o ⊙ tc_t
    h and c live in (L+1, N, H) buffers whose extra slot holds h0 / c0, so h_{t-1} for all t
    (needed for dW_hh) is a slice, not a copy. The Trace arrays are filled once at the end.

    Backward per step, with dh = dL/dh_t (total) and dc = dL/dc_t (total):
        dc      = dh ⊙ o_t ⊙ (1 - tanh² c_t) + f_{t+1} ⊙ dL/dc_{t+1}     (+ dL/dc_n at the last step)
        dA^i_t  = dc ⊙ g_t ⊙ i_t (1 - i_t)        dA^f_t = dc ⊙ c_{t-1} ⊙ f_t (1 - f_t)
        dA^g_t  = dc ⊙ i_t ⊙ (1 - g_t²)           dA^o_t = dh ⊙ tanh(c_t) ⊙ o_t (1 - o_t)
        dL/dc_{t-1} gets f_t ⊙ dc;  dL/dc0 = f_0 ⊙ dL/dc_0.
    Every factor right of dh / dc is precomputed for all t. One row per step holds the
    slots [0, f⊙dc, dA^i, dA^f, dA^g, dA^o, dc] so that a step is three ops:
        [dA^o, dc]_t            = [0, f⊙dc]_{t+1} + dh ⊙ [K^o, K^c]_t       (addcmul)
        [f⊙dc, dA^i, dA^f, dA^g]_t = dc ⊙ [f, P^i, P^f, P^g]_t               (mul)
        dL/dh_{t-1}            += W_hh^T [dA^i, dA^f, dA^g, dA^o]_t          (addmm)
    """

    def _forward(self):
        N, L, H = self.h.shape
        rev, dtype = self.rev, self.h.dtype
        rows = torch.cat([torch.arange(k * H, (k + 1) * H) for k in (0, 1, 3, 2)])  # i f o g
        xs = self.inp.transpose(0, 1).reshape(L * N, -1)  # (L*N, I_l) time-major
        w_ih = self.w_ih[rows]
        if self.b_ih is not None:
            a = torch.addmm((self.b_ih + self.b_hh)[rows], xs, w_ih.t())
        else:
            a = torch.mm(xs, w_ih.t())
        a = a.view(L, N, 4 * H)  # pre-activations, then (in place) the gates i f o g
        hx, cx = torch.empty(L + 1, N, H, dtype=dtype), torch.empty(L + 1, N, H, dtype=dtype)
        tc = torch.empty(L, N, H, dtype=dtype)  # tanh(c_t)
        init = L if rev else 0
        hx[init], cx[init] = self.h0, self.c0
        HX, CX = _steps(hx, rev, 0), _steps(cx, rev, 0)  # [init] + steps in processing order
        A, S, G = _steps(a, rev, 0), _steps(a[..., : 3 * H], rev, 0), _steps(a[..., 3 * H :], rev, 0)
        I_, F_, O_ = (_steps(a[..., k * H : (k + 1) * H], rev, 0) for k in range(3))
        TC, w, mul, tanh = _steps(tc, rev, 0), self.w_hh[rows].t(), torch.mul, torch.tanh
        for t in range(L):
            at, ct, tct = A[t], CX[t + 1], TC[t]
            at.addmm_(HX[t], w)
            S[t].sigmoid_()
            gt = G[t].tanh_()
            mul(I_[t], gt, out=ct)
            ct.addcmul_(F_[t], CX[t])
            tanh(ct, out=tct)
            mul(O_[t], tct, out=HX[t + 1])
        body, prev = (slice(0, L), slice(1, L + 1)) if rev else (slice(1, L + 1), slice(0, L))
        self.h.copy_(hx[body].transpose(0, 1))
        self.c.copy_(cx[body].transpose(0, 1))
        for k, j in enumerate((0, 1, 3, 2)):  # Trace order i f g o
            self.gates[k].copy_(a[..., j * H : (j + 1) * H].transpose(0, 1))
        self.xs, self.a, self.tc = xs, a, tc
        self.h_prev, self.c_prev = hx[prev], cx[prev]  # (L, N, H) by position

    def backward(self, d_out, d_hn, d_cn, need):
        N, L, H = self.h.shape
        rev, dtype, a, tc = self.rev, self.h.dtype, self.a, self.tc
        dh = self.dh
        dh.copy_(d_out)  # the direct terms
        dh[:, 0 if rev else L - 1] += d_hn
        i, f, o, g = (a[..., k * H : (k + 1) * H] for k in range(4))
        one = torch.ones((), dtype=dtype)
        sd = torch.addcmul(a[..., : 3 * H], a[..., : 3 * H], a[..., : 3 * H], value=-1)  # σ' of i f o
        tmp = torch.addcmul(one, tc, tc, value=-1)  # 1 - tanh² c
        k = torch.empty(L, N, 2, H, dtype=dtype)  # [K^o, K^c]
        torch.mul(tc, sd[..., 2 * H :], out=k[:, :, 0])
        torch.mul(o, tmp, out=k[:, :, 1])
        p = torch.empty(L, N, 4, H, dtype=dtype)  # [f, P^i, P^f, P^g]
        p[:, :, 0] = f
        torch.mul(g, sd[..., :H], out=p[:, :, 1])
        torch.mul(self.c_prev, sd[..., H : 2 * H], out=p[:, :, 2])
        torch.addcmul(one, g, g, value=-1, out=tmp)
        torch.mul(i, tmp, out=p[:, :, 3])
        z = torch.empty(L, N, 7 * H, dtype=dtype)  # slots [0, f⊙dc, dA^i, dA^f, dA^g, dA^o, dc]
        z7 = z.view(L, N, 7, H)
        z7[:, :, 0] = 0
        after_last = torch.zeros(N, 2, H, dtype=dtype)
        after_last[:, 1] = d_cn
        Znext = _steps(z7[:, :, 0:2], rev, 0)[1:] + [after_last]
        Zoc, Zc, Zfd = _steps(z7[:, :, 5:7], rev, 0), _steps(z7[:, :, 6:7], rev, 0), _steps(z7[:, :, 1:5], rev, 0)
        DA, K, P = _steps(z[..., 2 * H : 6 * H], rev, 0), _steps(k, rev, 0), _steps(p, rev, 0)
        DH = _steps(dh[:, :, None], rev, 1)
        dhs = [torch.zeros_like(self.h0)] + _steps(dh, rev)  # dhs[t + 1] = dL/dh_t, dhs[0] = dL/dh0
        addcmul, mul, w_hh = torch.addcmul, torch.mul, self.w_hh
        for t in range(L - 1, -1, -1):  # dhs[t + 1] is final here: all later steps have added to it
            addcmul(Znext[t], DH[t], K[t], out=Zoc[t])  # [dA^o, dc]_t
            mul(Zc[t], P[t], out=Zfd[t])  # [f⊙dc, dA^i, dA^f, dA^g]_t
            dhs[t].addmm_(DA[t], w_hh)  # dL/dh_{t-1} += W_hh^T dA_t
        self.backward_ran = True
        self.dc.copy_(z7[:, :, 6].transpose(0, 1))
        da = z.view(L * N, 7 * H)[:, 2 * H : 6 * H]  # (L*N, 4H) time-major
        g_inp = (da @ self.w_ih).view(L, N, -1).transpose(0, 1) if need[0] else None
        # dW_ih, dW_hh and the bias gradient in one pass over dA: dA^T [x_t, h_{t-1}, 1]
        I = self.xs.shape[1]
        xh1 = torch.empty(L * N, I + H + 1, dtype=dtype)
        xh1[:, :I], xh1[:, I : I + H], xh1[:, I + H] = self.xs, self.h_prev.reshape(L * N, H), 1
        gw = da.t() @ xh1  # (4H, I + H + 1)
        g_wih, g_whh = gw[:, :I], gw[:, I : I + H]
        g_bih = g_bhh = None
        if need[5] or need[6]:
            g_bih = gw[:, I + H].clone()
            g_bhh = g_bih.clone()
        g_c0 = z7[L - 1 if rev else 0, :, 1].clone() if need[2] else None  # f_0 ⊙ dL/dc_0
        return g_inp, dhs[0] if need[1] else None, g_c0, g_wih, g_whh, g_bih, g_bhh


class _GRURun(_Run):
    """GRU layer-direction (equations in the module docstring).

    Backward per step, with dh = dL/dh_t (total) and ĥ_t = W_hn h_{t-1} + b_hn:
        dA^n_t = dh ⊙ (1 - z_t) ⊙ (1 - n_t²)                (W_ih side of n; W_hh side is r_t ⊙ dA^n_t)
        dA^z_t = dh ⊙ (h_{t-1} - n_t) ⊙ z_t (1 - z_t)
        dA^r_t = dA^n_t ⊙ ĥ_t ⊙ r_t (1 - r_t)
        dL/dh_{t-1} += z_t ⊙ dh + W_hh^T [dA^r, dA^z, r ⊙ dA^n]_t
    so a step is mul (dh ⊙ three precomputed factors), addcmul and the shared addmm.
    """

    def _forward(self):
        N, L, H = self.h.shape
        a = self._input_gates(self.b_ih)  # (N, L, 3H)
        gin = a[..., 2 * H :].clone()  # W_in x_t + b_in
        if self.b_hh is not None:
            a[..., : 2 * H] += self.b_hh[: 2 * H]
            a[..., 2 * H :] = self.b_hh[2 * H :]
        else:
            a[..., 2 * H :] = 0
        self.a = a  # becomes [pre-activation of r, of z, ĥ_t] step by step
        self.dlt = torch.empty_like(self.h)  # h_{t-1} - n_t
        rev, g = self.rev, self.gates  # (3, N, L, H)
        a3 = a.view(N, L, 3, H).permute(2, 0, 1, 3)  # (3, N, L, H)
        A, Arz, Ahn, Grz = _steps(a, rev), _steps(a3[:2], rev, 2), _steps(a3[2], rev), _steps(g[:2], rev, 2)
        R, Z, Nn = (_steps(gk, rev) for gk in g)
        GIN, DLT, Hs = _steps(gin, rev), _steps(self.dlt, rev), _steps(self.h, rev)
        hp, w = [self.h0] + Hs[:-1], self.w_hh.t()
        for t in range(L):
            A[t].addmm_(hp[t], w)
            torch.sigmoid(Arz[t], out=Grz[t])
            torch.addcmul(GIN[t], R[t], Ahn[t], out=Nn[t]).tanh_()
            torch.sub(hp[t], Nn[t], out=DLT[t])
            torch.addcmul(Nn[t], Z[t], DLT[t], out=Hs[t])  # h_t = n_t + z_t ⊙ (h_{t-1} - n_t)

    def _backward_setup(self, dhs):
        N, L, H = self.h.shape
        rev, (r, z, n) = self.rev, self.gates
        self.qn = (1 - z) * (1 - n * n)  # (N, L, H), dA^n = dh ⊙ qn
        q = torch.empty(N, L, 3, H, dtype=n.dtype)  # dA = dh ⊙ q
        torch.mul(self.qn * self.a[..., 2 * H :], r * (1 - r), out=q[:, :, 0])
        torch.mul(self.dlt, z * (1 - z), out=q[:, :, 1])
        torch.mul(self.qn, r, out=q[:, :, 2])
        da = torch.empty(N, L, 3 * H, dtype=n.dtype)
        D3, Q, Zs = _steps(da.view(N, L, 3, H), rev), _steps(q, rev), _steps(z, rev)
        DH = [None] + _steps(self.dh[:, :, None], rev, 1)

        def step(t):
            torch.mul(DH[t + 1], Q[t], out=D3[t])  # [dA^r, dA^z, r ⊙ dA^n]_t
            dhs[t].addcmul_(Zs[t], dhs[t + 1])  # z_t ⊙ dL/dh_t

        return da, step

    def _input_side(self, da):
        H = self.h.shape[2]
        dai = da.clone()
        torch.mul(self.dh, self.qn, out=dai[..., 2 * H :])  # dA^n
        return dai


#: The pass of each cell type (rnnviz.cells.CELLS); a new cell type adds its class here.
RUNS = {"rnn_tanh": _VanillaRun, "rnn_relu": _VanillaRun, "lstm": _LSTMRun, "gru": _GRURun}


class _Layer(torch.autograd.Function):
    """One layer-direction as an autograd node: forward = run.run, backward = run.backward."""

    @staticmethod
    def forward(ctx, run: _Run, inp, h0, c0, *weights):
        ctx.run = run
        return run.run(inp, h0, c0, *weights)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn, d_cn=None):
        need = ctx.needs_input_grad[1:]  # inp, h0, c0, w_ih, w_hh (, b_ih, b_hh)
        need = tuple(need) + (False,) * (7 - len(need))
        grads = ctx.run.backward(d_out, d_hn, d_cn, need)
        return (None,) + grads[: len(ctx.needs_input_grad) - 1]


def run_layers(module, cell, x_bf, h0, c0, bufs: Buffers, with_grad: bool):
    """All layers and directions on batch-first x_bf (N, L, I); returns (runs, output (N, L, D*H), h_n, c_n)."""
    D = 2 if module.bidirectional else 1
    N, H, is_lstm = x_bf.shape[0], module.hidden_size, cell == "lstm"
    runs, h_ns, c_ns = [], [], []
    inp = x_bf
    for layer in range(module.num_layers):
        outs = []
        for d in range(D):
            k = layer * D + d
            h0_k = h0[k] if h0 is not None else x_bf.new_zeros(N, H)
            c0_k = (c0[k] if c0 is not None else x_bf.new_zeros(N, H)) if is_lstm else None
            run = RUNS[cell](cell, bufs, layer, d)
            args = (inp, h0_k, c0_k, *_weights(module, layer, d))
            res = _Layer.apply(run, *args) if with_grad else run.run(*args)
            runs.append(run)
            outs.append(res[0])  # (N, L, H)
            h_ns.append(res[1])
            c_ns.append(res[2] if is_lstm else None)
        inp = torch.cat(outs, 2) if D == 2 else outs[0]  # (N, L, D*H)
    h_n = torch.stack(h_ns)  # (Lyr*D, N, H)
    c_n = torch.stack(c_ns) if is_lstm else None
    return runs, inp, h_n, c_n
