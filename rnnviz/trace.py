"""Exact recording of one forward + backward pass of a torch.nn RNN, LSTM or GRU.

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
             h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Recorded gradients are the full BPTT adjoints: dL/dh_t is the total derivative through
all later timesteps and all upper layers plus any direct use by the loss (h_n included);
dL/dc_t likewise for the LSTM.

How (exact and cheap): every layer and direction is one fused single-layer call
(torch._VF.*), so the forward and backward run in PyTorch's own kernels. To read the
recurrent adjoint out of the fused backward, the layer input is augmented with a zero
probe p_t whose weight columns copy the recurrent weights:

    RNN, LSTM  W_ih' = [W_ih | W_hh]          dL/dp_t = W_hh^T dA_t
    GRU        W_ih' = [W_ih | Q],  Q = [[W_hr, 0], [W_hz, 0], [0, 1]]  (3H, 2H)
               dL/dp_t = [W_hr^T dA^r_t + W_hz^T dA^z_t,  dA^n_t]

where dA_t is the gradient of the step-t gate pre-activations. Because p = 0 the forward
values are unchanged, and the probe columns are detached so parameter gradients are
exactly those of a plain ``loss.backward()``. Then (``direct_t`` = dL/d(output_t) as
seen by the loss and the upper layers, plus dL/dh_n at t = L-1):

    RNN, LSTM  dL/dh_{t-1} = dL/dp_t + direct_{t-1}
    GRU        dL/dh_{t-1} = [dL/dp_t]_rz + W_hn^T (r_t ⊙ dA^n_t) + z_t ⊙ dL/dh_t + direct_{t-1}
    LSTM       dL/dc_t = dL/dh_t ⊙ o_t ⊙ (1 - tanh² c_t) + f_{t+1} ⊙ dL/dc_{t+1}  (+ dL/dc_n)

Gates and cell states are recomputed for all t at once from the recorded h.

The vanilla RNN skips the probe: its layer is a custom autograd Function whose forward is
the fused call without a graph and whose backward is the two-op-per-step BPTT loop above
(dL/da_t = dL/dh_t ⊙ φ'(a_t), dL/dh_{t-1} = W_hh^T dL/da_t + direct_{t-1}) followed by
batched parameter gradients; measured faster than the fused backward it replaces.
(The same hand-written loop for the LSTM measured slower than the probe through oneDNN.)
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import torch
from torch import nn

from rnnviz.errors import RnnvizError

GATE_NAMES = {"rnn_tanh": (), "rnn_relu": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
_MODES = {"RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu", "LSTM": "lstm", "GRU": "gru"}
_FUSED = {"rnn_tanh": "rnn_tanh", "rnn_relu": "rnn_relu", "lstm": "lstm", "gru": "gru"}


@dataclasses.dataclass(frozen=True)
class Trace:
    """Everything one forward (+ backward) pass recorded; NumPy arrays in the input dtype.

    For the reverse direction (d = 1) index t is the input position, as in PyTorch's output.
    """

    mode: str  # "rnn_tanh" | "rnn_relu" | "lstm" | "gru"
    loss: float | None
    output: np.ndarray  # (N, L, D*H) batch-first
    hidden: np.ndarray  # (Lyr, D, N, L, H)
    cell: np.ndarray | None  # (Lyr, D, N, L, H) LSTM only
    gates: dict[str, np.ndarray]  # name -> (Lyr, D, N, L, H)
    grad_hidden: np.ndarray | None  # (Lyr, D, N, L, H) total dL/dh_t
    grad_cell: np.ndarray | None  # (Lyr, D, N, L, H) total dL/dc_t, LSTM only
    grad_input: np.ndarray | None  # (N, L, I) batch-first
    grad_norms: np.ndarray | None  # (Lyr, D, L) Frobenius norm over N and H
    grad_cell_norms: np.ndarray | None  # (Lyr, D, L) LSTM only
    param_grad_norms: dict[str, np.ndarray] | None  # block name -> (Lyr, D)
    finite: bool  # False if the loss, a recorded gradient or a state is inf/nan

    @property
    def num_layers(self) -> int:
        return self.hidden.shape[0]

    @property
    def num_directions(self) -> int:
        return self.hidden.shape[1]

    @property
    def batch_size(self) -> int:
        return self.hidden.shape[2]

    @property
    def seq_len(self) -> int:
        return self.hidden.shape[3]

    @property
    def hidden_size(self) -> int:
        return self.hidden.shape[4]

    @property
    def nbytes(self) -> int:
        """Memory held by all recorded arrays, in bytes."""
        arrays = [v for v in dataclasses.astuple(self) if isinstance(v, np.ndarray)]
        for table in (self.gates, self.param_grad_norms or {}):
            arrays.extend(table.values())
        return sum(a.nbytes for a in arrays)


@dataclasses.dataclass
class _Run:
    """One layer-direction in processing order (time-major)."""

    inp: torch.Tensor  # (L, N, I_l) layer input, time-flipped for the reverse direction
    out: torch.Tensor  # (L, N, H)
    h_n: torch.Tensor  # (1, N, H)
    c_n: torch.Tensor | None  # (1, N, H) LSTM
    h0: torch.Tensor  # (N, H)
    c0: torch.Tensor | None  # (N, H) LSTM
    probe: torch.Tensor | None  # (L, N, P) zero leaf
    store: dict | None = None  # filled by a hand-written backward (vanilla RNN)


# ----------------------------------------------------------------------------- validation


def _check_module(module) -> str:
    if not isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        raise RnnvizError(f"module must be torch.nn.RNN, nn.LSTM or nn.GRU, got {type(module).__name__}")
    if getattr(module, "proj_size", 0) > 0:
        raise RnnvizError(f"LSTM projections (proj_size > 0) are not supported, got proj_size={module.proj_size}")
    if module.training and module.dropout > 0:
        raise RnnvizError(
            f"dropout between layers is not supported in training mode (call module.eval() or set "
            f"dropout=0), got dropout={module.dropout}"
        )
    return _MODES[module.mode]


def _check_input(module, x) -> torch.Tensor:
    if isinstance(x, nn.utils.rnn.PackedSequence):
        raise RnnvizError("PackedSequence input is not supported, got a PackedSequence (pass a padded 3-D tensor)")
    if not isinstance(x, torch.Tensor):
        raise RnnvizError(f"x must be a torch.Tensor, got {type(x).__name__}")
    layout = "(N, L, I)" if module.batch_first else "(L, N, I)"
    if x.dim() != 3:
        raise RnnvizError(f"x must be 3-D {layout}, got {x.dim()}-D with shape {tuple(x.shape)}")
    if x.shape[-1] != module.input_size:
        raise RnnvizError(f"x must have {module.input_size} features (module.input_size), got {x.shape[-1]}")
    dtype = module.weight_ih_l0.dtype
    if x.dtype != dtype:
        raise RnnvizError(f"x must have the module's dtype {dtype}, got {x.dtype}")
    if x.numel() == 0:
        raise RnnvizError(f"x must have at least one sample and one timestep, got shape {tuple(x.shape)}")
    _check_finite("x", x)
    return x


def _check_finite(name: str, t: torch.Tensor) -> None:
    bad = int((~torch.isfinite(t.detach())).sum())
    if bad:
        raise RnnvizError(f"{name} must be finite, got {bad} inf/nan values")


def _check_state(module, x: torch.Tensor, h0):
    """Returns (h0, c0), each (Lyr*D, N, H) or None."""
    if h0 is None:
        return None, None
    is_lstm = isinstance(module, nn.LSTM)
    if is_lstm and not (isinstance(h0, (tuple, list)) and len(h0) == 2):
        raise RnnvizError(f"h0 for an LSTM must be a tuple (h0, c0), got {type(h0).__name__}")
    states = (("h0", h0[0]), ("c0", h0[1])) if is_lstm else (("h0", h0),)
    D = 2 if module.bidirectional else 1
    N = x.shape[0] if module.batch_first else x.shape[1]
    expected = (module.num_layers * D, N, module.hidden_size)
    for name, s in states:
        if not isinstance(s, torch.Tensor) or tuple(s.shape) != expected:
            got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
            raise RnnvizError(f"{name} must have shape (num_layers*num_directions, N, H) = {expected}, got {got}")
        if s.dtype != x.dtype:
            raise RnnvizError(f"{name} must have the module's dtype {x.dtype}, got {s.dtype}")
        _check_finite(name, s)
    return (h0[0], h0[1]) if is_lstm else (h0, None)


# ----------------------------------------------------------------------------- forward


def _weights(module, layer: int, direction: int) -> list[torch.Tensor]:
    """[W_ih, W_hh] (+ [b_ih, b_hh]) of one layer-direction."""
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if module.bias else [])
    return [getattr(module, n + sfx) for n in names]


def _probe_columns(mode: str, w_hh: torch.Tensor) -> torch.Tensor:
    """Detached probe weight columns Q: (G*H, H) for RNN/LSTM, (3H, 2H) for GRU."""
    w = w_hh.detach()
    if mode != "gru":
        return w  # (G*H, H)
    H = w.shape[1]
    q = w.new_zeros(3 * H, 2 * H)
    q[: 2 * H, :H] = w[: 2 * H]  # W_hr, W_hz
    q[2 * H :, H:] = torch.eye(H, dtype=w.dtype)  # identity on the n rows
    return q


class _VanillaLayer(torch.autograd.Function):
    """Vanilla RNN layer: fused forward without a graph, BPTT by hand in backward.

    With a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh and h_t = φ(a_t):
        dL/da_t = dL/dh_t ⊙ φ'(a_t),   dL/dh_{t-1} = W_hh^T dL/da_t + direct_{t-1}
    (φ' = 1 - h_t² for tanh, 1{h_t > 0} for relu, as autograd computes them). The loop is
    two small ops per step and replaces the autograd graph of the fused call, so recording
    dL/dh_t costs less than a plain backward. It is stored in ``store["dh"]`` (L, N, H).
    """

    @staticmethod
    def forward(ctx, mode, store, inp, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        w = [w_ih, w_hh] + ([b_ih, b_hh] if b_ih is not None else [])
        out, h_n = getattr(torch._VF, mode)(inp, h0[None], w, len(w) == 4, 1, 0.0, False, False, False)
        ctx.mode, ctx.store, ctx.has_bias = mode, store, b_ih is not None
        ctx.save_for_backward(inp, h0, w_ih, w_hh, out)
        return out, h_n  # (L, N, H), (1, N, H)

    @staticmethod
    def backward(ctx, d_out, d_hn):
        inp, h0, w_ih, w_hh, out = ctx.saved_tensors
        L, N, H = out.shape
        if ctx.mode == "rnn_tanh":
            dphi = 1 - out * out  # (L, N, H)
            step = lambda t: torch.mul(dh[t], dphi[t], out=da[t])  # noqa: E731
        else:  # as relu's threshold_backward: zero where h_t <= 0 (inf/nan pass as autograd's do)
            off, zero = out <= 0, out.new_zeros(())  # (L, N, H), scalar
            step = lambda t: torch.where(off[t], zero, dh[t], out=da[t])  # noqa: E731
        dh = d_out.clone()  # (L, N, H), the direct terms
        dh[-1] += d_hn[0]
        da = torch.empty_like(out)  # (L, N, H) dL/da_t
        step(L - 1)
        for t in range(L - 2, -1, -1):
            dh[t].addmm_(da[t + 1], w_hh)
            step(t)
        ctx.store["dh"] = dh
        need = ctx.needs_input_grad
        da2 = da.reshape(L * N, H)  # (L*N, H)
        h_prev = torch.cat([h0[None], out[:-1]], 0).reshape(L * N, H)  # (L*N, H)
        g_inp = torch.matmul(da, w_ih) if need[2] else None  # (L, N, I_l)
        g_h0 = da[0] @ w_hh if need[3] else None  # (N, H)
        g_wih = da2.T @ inp.reshape(L * N, -1) if need[4] else None  # (H, I_l)
        g_whh = da2.T @ h_prev if need[5] else None  # (H, H)
        g_b = da2.sum(0) if ctx.has_bias else None  # (H,)
        g_bih = g_b if ctx.has_bias and need[6] else None
        g_bhh = g_b.clone() if ctx.has_bias and need[7] else None
        return None, None, g_inp, g_h0, g_wih, g_whh, g_bih, g_bhh


def _run_direction(mode, inp, h0, c0, weights, with_probe: bool) -> _Run:
    """One fused single-layer, single-direction call on time-major inp (L, N, I_l)."""
    if with_probe and mode in ("rnn_tanh", "rnn_relu"):
        store: dict = {}
        out, h_n = _VanillaLayer.apply(mode, store, inp, h0, *weights)
        return _Run(inp, out, h_n, None, h0, None, None, store)
    fused = getattr(torch._VF, _FUSED[mode])
    probe = None
    layer_in, w = inp, list(weights)
    if with_probe:
        q = _probe_columns(mode, weights[1])
        probe = inp.new_zeros(inp.shape[0], inp.shape[1], q.shape[1]).requires_grad_()  # (L, N, P)
        layer_in = torch.cat([inp, probe], 2)  # (L, N, I_l + P)
        w[0] = torch.cat([weights[0], q], 1)  # (G*H, I_l + P)
    hx = (h0[None], c0[None]) if mode == "lstm" else h0[None]
    res = fused(layer_in, hx, w, len(w) == 4, 1, 0.0, False, False, False)
    out, h_n = res[0], res[1]
    c_n = res[2] if mode == "lstm" else None
    if with_probe:
        for t in (out, h_n, c_n):
            if t is not None:
                t.retain_grad()
    return _Run(inp, out, h_n, c_n, h0, c0, probe)


def _forward(module, mode, x_tm, h0, c0, with_probe: bool):
    """All layers and directions; returns (runs[l][d], output (L,N,D*H), h_n, c_n)."""
    D = 2 if module.bidirectional else 1
    N, H = x_tm.shape[1], module.hidden_size
    runs, h_ns, c_ns = [], [], []
    inp = x_tm  # (L, N, I)
    for layer in range(module.num_layers):
        layer_runs, outs = [], []
        for d in range(D):
            k = layer * D + d
            h0_k = h0[k] if h0 is not None else x_tm.new_zeros(N, H)
            c0_k = (c0[k] if c0 is not None else x_tm.new_zeros(N, H)) if mode == "lstm" else None
            run = _run_direction(mode, inp.flip(0) if d else inp, h0_k, c0_k, _weights(module, layer, d), with_probe)
            layer_runs.append(run)
            outs.append(run.out.flip(0) if d else run.out)  # (L, N, H) by input position
            h_ns.append(run.h_n)
            c_ns.append(run.c_n)
        runs.append(layer_runs)
        inp = torch.cat(outs, 2) if D == 2 else outs[0]  # (L, N, D*H)
    h_n = torch.cat(h_ns, 0)  # (Lyr*D, N, H)
    c_n = torch.cat(c_ns, 0) if mode == "lstm" else None
    return runs, inp, h_n, c_n


# ----------------------------------------------------------------------------- recording


def _recompute_gates(mode: str, run: _Run, weights) -> dict[str, torch.Tensor]:
    """Gate activations for all t at once from the recorded h; name -> (L, N, H)."""
    if mode not in ("lstm", "gru"):
        return {}
    h = run.out.detach()  # (L, N, H)
    h_prev = torch.cat([run.h0.detach()[None], h[:-1]], 0)  # (L, N, H)
    w_ih, w_hh = weights[0].detach(), weights[1].detach()
    gi = torch.matmul(run.inp.detach(), w_ih.t())  # (L, N, G*H)
    gh = torch.matmul(h_prev, w_hh.t())  # (L, N, G*H)
    if len(weights) == 4:
        gi += weights[2].detach()
        gh += weights[3].detach()
    if mode == "lstm":
        a = gi.add_(gh)  # (L, N, 4H)
        ai, af, ag, ao = a.chunk(4, 2)
        return {"i": torch.sigmoid(ai), "f": torch.sigmoid(af), "g": torch.tanh(ag), "o": torch.sigmoid(ao)}
    ir, iz, in_ = gi.chunk(3, 2)
    hr, hz, hn = gh.chunk(3, 2)
    r = torch.sigmoid(ir + hr)
    return {"r": r, "z": torch.sigmoid(iz + hz), "n": torch.tanh(in_ + r * hn)}


def _lstm_cells(gates: dict[str, np.ndarray], c0: np.ndarray) -> np.ndarray:
    """c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t for all t; (L, N, H)."""
    c = gates["i"] * gates["g"]  # (L, N, H), starts as i ⊙ g
    prev = c0
    for t in range(c.shape[0]):
        c[t] += gates["f"][t] * prev
        prev = c[t]
    return c


def _grad_or_zeros(t: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return t.grad if t is not None and t.grad is not None else torch.zeros_like(like)


def _grad_hidden(mode: str, run: _Run, gates, w_hh: torch.Tensor) -> np.ndarray:
    """Total dL/dh_t in processing order, (L, N, H)."""
    if run.store is not None:  # vanilla RNN: recorded by _VanillaLayer.backward
        dh = run.store.get("dh")
        return dh.numpy() if dh is not None else np.zeros(run.out.shape, _np_dtype(run.out))
    direct = _grad_or_zeros(run.out, run.out)  # (L, N, H)
    dh_n = _grad_or_zeros(run.h_n, run.h_n)  # (1, N, H)
    dp = _grad_or_zeros(run.probe, run.probe)  # (L, N, P)
    H = direct.shape[2]
    if mode == "gru":
        # [W_hr^T dA^r + W_hz^T dA^z] + W_hn^T (r ⊙ dA^n): the part not through z_t ⊙ h_{t-1}
        dp = dp[..., :H] + torch.matmul(gates["r"] * dp[..., H:], w_hh.detach()[2 * H :])  # (L, N, H)
    dh = (direct + torch.cat([dp[1:], dh_n], 0)).numpy()  # (L, N, H)
    if mode == "gru":
        z = gates["z"].numpy()
        for t in range(dh.shape[0] - 2, -1, -1):
            dh[t] += z[t + 1] * dh[t + 1]
    return dh


def _grad_cell(run: _Run, dh: np.ndarray, gates: dict[str, np.ndarray], c: np.ndarray) -> np.ndarray:
    """dL/dc_t = dL/dh_t ⊙ o_t ⊙ (1 - tanh² c_t) + f_{t+1} ⊙ dL/dc_{t+1}; (L, N, H)."""
    dc = dh * gates["o"] * (1 - np.tanh(c) ** 2)  # (L, N, H), the term through h_t
    dc[-1] += _grad_or_zeros(run.c_n, run.c_n)[0].numpy()
    f = gates["f"]
    for t in range(dc.shape[0] - 2, -1, -1):
        dc[t] += f[t + 1] * dc[t + 1]
    return dc


def _block_names(mode: str, bias: bool) -> list[tuple[str, str]]:
    """(param prefix, block-name prefix) pairs, e.g. ("weight_ih", "W_i")."""
    pairs = [("weight_ih", "W_i"), ("weight_hh", "W_h")]
    return pairs + ([("bias_ih", "b_i"), ("bias_hh", "b_h")] if bias else [])


def _param_grad_norms(module, mode: str, grads: dict) -> dict[str, np.ndarray]:
    """Frobenius norm of this call's gradient per gate block: name -> (Lyr, D)."""
    D = 2 if module.bidirectional else 1
    gates = GATE_NAMES[mode]
    norms: dict[str, np.ndarray] = {}
    for layer in range(module.num_layers):
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            for pname, block in _block_names(mode, module.bias):
                p = getattr(module, pname + sfx)
                g = grads.get(p)
                g = torch.zeros_like(p) if g is None else g
                chunks = g.chunk(len(gates), 0) if gates else [g]
                for gate, chunk in zip(gates or ("",), chunks):
                    name = block + (gate if gates else "h")  # W_ii .. b_ho, or W_ih .. b_hh
                    arr = norms.setdefault(name, np.zeros((module.num_layers, D), dtype=_np_dtype(p)))
                    arr[layer, d] = float(torch.linalg.vector_norm(chunk))
    return norms


def _np_dtype(t: torch.Tensor):
    return np.float64 if t.dtype == torch.float64 else np.float32


def _backward_with_own_grads(module, loss: torch.Tensor) -> dict:
    """loss.backward() that also returns this call's gradient of every module parameter.

    Existing .grad is stashed, then added back, so .grad ends up accumulated as usual.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    stash = {p: p.grad for p in params}
    for p in params:
        p.grad = None
    loss.backward()
    own = {p: p.grad for p in params}
    for p in params:
        old, new = stash[p], p.grad
        if old is not None:
            p.grad = old if new is None else old.add_(new)
    return own


# ----------------------------------------------------------------------------- public API


def trace(module: nn.Module, x: torch.Tensor, loss_fn: Callable | None, h0=None) -> Trace:
    """Run module on x, call loss_fn(*module(x, h0)), backpropagate, and record everything.

    module: nn.RNN (tanh|relu), nn.LSTM or nn.GRU; any num_layers, bidirectional, batch_first,
    bias; float32 or float64. x: (N, L, I) if batch_first else (L, N, I). h0: as the module
    takes it ((h0, c0) for an LSTM), each (Lyr*D, N, H), or None for zeros.
    loss_fn(output, h_n) -> scalar tensor, or None to record the forward only.
    Like loss.backward(), it accumulates .grad on every parameter the loss depends on.
    """
    mode = _check_module(module)
    x = _check_input(module, x)
    h0, c0 = _check_state(module, x, h0)
    with_grad = loss_fn is not None
    x_tm = x.transpose(0, 1) if module.batch_first else x  # (L, N, I) view
    with torch.set_grad_enabled(with_grad):
        x_leaf = _input_leaf(x_tm) if with_grad else x_tm.detach()
        runs, out_tm, h_n, c_n = _forward(module, mode, x_leaf, h0, c0, with_grad)
        loss, own = None, None
        if with_grad:
            output = out_tm.transpose(0, 1) if module.batch_first else out_tm
            loss = loss_fn(output, (h_n, c_n) if mode == "lstm" else h_n)
            _check_loss(loss)
            own = _backward_with_own_grads(module, loss)
    with torch.no_grad():
        return _record(module, mode, runs, out_tm, x_leaf, loss, own)


def _input_leaf(x_tm: torch.Tensor) -> torch.Tensor:
    """A tensor whose .grad will be dL/dx; keeps x's own graph if x requires grad."""
    if x_tm.requires_grad:
        x_in = x_tm.clone()
        x_in.retain_grad()
        return x_in
    return x_tm.detach().requires_grad_()


def _check_loss(loss) -> None:
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise RnnvizError(f"loss_fn must return a scalar tensor, got {got}")
    if not loss.requires_grad:
        raise RnnvizError("loss_fn's result must depend on the module's output (requires_grad), got a constant")


def _record(module, mode, runs, out_tm, x_leaf, loss, own) -> Trace:
    Lyr, D = len(runs), len(runs[0])
    L, N, H = out_tm.shape[0], out_tm.shape[1], module.hidden_size
    dt = _np_dtype(out_tm)
    shape = (Lyr, D, N, L, H)
    hidden = np.empty(shape, dt)
    gates = {g: np.empty(shape, dt) for g in GATE_NAMES[mode]}
    is_lstm, with_grad = mode == "lstm", loss is not None
    cell = np.empty(shape, dt) if is_lstm else None
    grad_hidden = np.empty(shape, dt) if with_grad else None
    grad_cell = np.empty(shape, dt) if with_grad and is_lstm else None

    def put(dst, l, d, a):  # a: (L, N, H) processing order -> dst[l, d] (N, L, H) by position
        a = a.numpy() if isinstance(a, torch.Tensor) else a
        dst[l, d] = (a[::-1] if d else a).transpose(1, 0, 2)

    for l, layer_runs in enumerate(runs):
        for d, run in enumerate(layer_runs):
            weights = _weights(module, l, d)
            g_t = _recompute_gates(mode, run, weights)
            g_np = {k: v.numpy() for k, v in g_t.items()}
            put(hidden, l, d, run.out.detach())
            for k, v in g_np.items():
                put(gates[k], l, d, v)
            c = _lstm_cells(g_np, run.c0.detach().numpy()) if is_lstm else None
            if is_lstm:
                put(cell, l, d, c)
            if with_grad:
                dh = _grad_hidden(mode, run, g_t, weights[1])
                put(grad_hidden, l, d, dh)
                if is_lstm:
                    put(grad_cell, l, d, _grad_cell(run, dh, g_np, c))

    output = np.ascontiguousarray(out_tm.detach().numpy().transpose(1, 0, 2))  # (N, L, D*H)
    grads = {}
    if with_grad:
        gx = x_leaf.grad if x_leaf.grad is not None else torch.zeros_like(x_leaf)
        grads = dict(
            grad_hidden=grad_hidden,
            grad_cell=grad_cell,
            grad_input=np.ascontiguousarray(gx.numpy().transpose(1, 0, 2)),  # (N, L, I)
            grad_norms=_frobenius(grad_hidden),  # (Lyr, D, L)
            grad_cell_norms=_frobenius(grad_cell) if is_lstm else None,
            param_grad_norms=_param_grad_norms(module, mode, own),
        )
    loss_value = float(loss.detach()) if with_grad else None
    return Trace(
        mode=mode,
        loss=loss_value,
        output=output,
        hidden=hidden,
        cell=cell,
        gates=gates,
        grad_hidden=grads.get("grad_hidden"),
        grad_cell=grads.get("grad_cell"),
        grad_input=grads.get("grad_input"),
        grad_norms=grads.get("grad_norms"),
        grad_cell_norms=grads.get("grad_cell_norms"),
        param_grad_norms=grads.get("param_grad_norms"),
        finite=_all_finite(loss_value, hidden, cell, grads),
    )


def _frobenius(a: np.ndarray) -> np.ndarray:
    """Norm over N and H of (Lyr, D, N, L, H) -> (Lyr, D, L); squares in float64 (no overflow)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sqrt(np.square(a, dtype=np.float64).sum(axis=(2, 4))).astype(a.dtype)


def _all_finite(loss, hidden, cell, grads) -> bool:
    arrays = [hidden, cell] + [grads.get(k) for k in ("grad_hidden", "grad_cell", "grad_input")]
    arrays += list((grads.get("param_grad_norms") or {}).values())
    ok = loss is None or np.isfinite(loss)
    return bool(ok and all(a is None or np.isfinite(a).all() for a in arrays))
