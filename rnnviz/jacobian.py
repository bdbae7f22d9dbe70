"""Norms of the state-to-state Jacobians dh_T/dh_t (and dc_T/dc_t for the LSTM).

Shapes: L length, H hidden. For one layer, direction and batch sample, with the recorded
states, the per-step Jacobian of step s (state at s-1 -> state at s) is, with W_h* the
rows of W_hh for gate * and diag(v) written [v]:

    vanilla  dh_s/dh_{s-1} = [φ'(a_s)] W_hh,   φ' = 1 - h_s² (tanh) or 1{h_s > 0} (relu)
    GRU      dh_s/dh_{s-1} = [z_s] + [(h_{s-1} - n_s) ⊙ z_s(1-z_s)] W_hz
                             + [(1-z_s) ⊙ (1-n_s²)] ([r_s] W_hn + [(W_hn h_{s-1} + b_hn) ⊙ r_s(1-r_s)] W_hr)
    LSTM     the state is (h, c), a 2H x 2H Jacobian with
             dc_s/dh_{s-1} = [g_s ⊙ i_s(1-i_s)] W_hi + [c_{s-1} ⊙ f_s(1-f_s)] W_hf + [i_s ⊙ (1-g_s²)] W_hg
             dc_s/dc_{s-1} = [f_s]
             dh_s/dh_{s-1} = [tanh(c_s) ⊙ o_s(1-o_s)] W_ho + [o_s ⊙ (1-tanh² c_s)] dc_s/dh_{s-1}
             dh_s/dc_{s-1} = [o_s ⊙ (1-tanh² c_s) ⊙ f_s]

dh_T/dh_t = J_T J_{T-1} ... J_{t+1} (the identity at t = T), T the direction's last step.
For the LSTM a perturbation of h_t travels through all later h and c: hidden is the norm
of the h<-h block of the product, cell the norm of its c<-c block. Norms are spectral
(largest singular value). Index t is the input position (as in PyTorch's output), so for
the reverse direction T is position 0.

Cost (one layer and direction, state size S = H, or 2H for the LSTM): one S x S matrix product and
one (LSTM: two) H x H spectral norms per timestep, about a S^3 + b n H^3 + c seconds per timestep,
a few MB per timestep at S = 512. ``max_seconds`` caps it: only the last ``window`` timesteps before
T are computed (the transport over the last K steps, K = ``max_seconds`` / cost per timestep, at
least 2); the positions before the window are nan and ``JacobianNorms.window`` says how many were
computed. Only the chosen sample is traced (the probe batch of one).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.trace import trace

#: Seconds per unit of the cost model above (a: S^3 product, b: H^3 spectral norm, c: per timestep), from the
#: CPU time on the reference machine (2 cores, one thread; RNN, GRU, LSTM at H = 64..256), the S^3 and H^3
#: terms times 3 (a bidirectional H = 256 LSTM at T = 1000 measured twice the per-timestep cost of a short one).
PRODUCT_SECONDS = 2.4e-10
NORM_SECONDS = 4.4e-10
TIMESTEP_SECONDS = 4.5e-4
#: The default cap on one call: the overlay is drawn within a bounded share of a training slot.
MAX_SECONDS = 0.5


@dataclasses.dataclass(frozen=True)
class JacobianNorms:
    hidden: np.ndarray  # (L,) ||dh_T/dh_t||_2 (nan before the window)
    cell: np.ndarray | None  # (L,) ||dc_T/dc_t||_2, LSTM only
    window: int = 0  # timesteps computed, ending at T (L: all of them)


def seconds_per_timestep(cell: str, H: int) -> float:
    """The cost model: one S x S product and n H x H spectral norms per timestep."""
    S, n = (2 * H, 2) if cell == "lstm" else (H, 1)
    return PRODUCT_SECONDS * S**3 + NORM_SECONDS * n * H**3 + TIMESTEP_SECONDS


def jacobian_norms(module, x, h0=None, *, layer: int = 0, direction: int = 0, sample: int = 0,
                   max_seconds: float | None = MAX_SECONDS) -> JacobianNorms:
    """Spectral norms of dh_T/dh_t (and dc_T/dc_t) for one layer, direction and sample; at most
    ``max_seconds`` of work by the cost model (None: every timestep)."""
    D = 2 if module.bidirectional else 1
    if isinstance(x, torch.Tensor) and x.dim() == 3 and 0 <= sample < x.shape[0]:
        x = x[sample : sample + 1]  # trace only the sample asked for
        h0 = h0[..., sample : sample + 1, :] if isinstance(h0, torch.Tensor) else (
            tuple(h[..., sample : sample + 1, :] for h in h0) if h0 is not None else None)
        sample_in_batch = 0
    else:
        sample_in_batch = sample
    tr = trace(module, x, None, h0)  # validates module, x and h0
    for name, value, limit in (("layer", layer, module.num_layers), ("direction", direction, D),
                               ("sample", sample_in_batch, tr.batch_size)):
        if not 0 <= value < limit:
            raise RnnvizError(f"{name} must be in [0, {limit - 1}], got {sample if name == 'sample' else value}")
    L = tr.hidden.shape[3]
    per_step = seconds_per_timestep(tr.cell_type, module.hidden_size)
    window = L if max_seconds is None else int(min(L, max(2, max_seconds // per_step)))

    def states(a):  # (Lyr, D, N, L, H) -> (window, H): the last ``window`` steps in processing order
        s = torch.from_numpy(np.ascontiguousarray(a[layer, direction, sample_in_batch]))
        return (s.flip(0) if direction else s)[L - window :]

    sfx = cells.weight_suffix(layer, direction)
    w_hh = getattr(module, "weight_hh" + sfx).detach()  # (G*H, H)
    b_hh = getattr(module, "bias_hh" + sfx).detach() if module.bias else torch.zeros(w_hh.shape[0], dtype=w_hh.dtype)
    h = states(tr.hidden)  # (L, H)
    gates = {k: states(v) for k, v in tr.gates.items()}
    c = states(tr.cell) if tr.cell is not None else None  # (L, H), LSTM only
    jac = STEP_JACOBIANS[tr.cell_type](h, c, gates, w_hh, b_hh)  # (L-1, S, S)
    prods = _backward_products(jac)  # (L, S, S), prods[t] = dstate_T/dstate_t
    H = h.shape[1]
    hidden = _pad(torch.linalg.matrix_norm(prods[:, :H, :H], ord=2), L)  # (L,)
    cell = _pad(torch.linalg.matrix_norm(prods[:, H:, H:], ord=2), L) if c is not None else None
    if direction:
        hidden, cell = hidden.flip(0), (cell.flip(0) if cell is not None else None)
    return JacobianNorms(hidden.numpy(), cell.numpy() if cell is not None else None, window)


def _pad(norms: torch.Tensor, L: int) -> torch.Tensor:
    """(window,) -> (L,): nan for the positions before the window."""
    return torch.cat([torch.full((L - norms.shape[0],), float("nan"), dtype=norms.dtype), norms])


def _tanh_steps(h, c, g, w_hh, b_hh) -> torch.Tensor:
    """dh_s/dh_{s-1} = diag(1 - h_s^2) W_hh for s = 1..L-1: (L-1, H, H)."""
    return (1 - h[1:] ** 2)[:, :, None] * w_hh


def _relu_steps(h, c, g, w_hh, b_hh) -> torch.Tensor:
    """dh_s/dh_{s-1} = diag(1{h_s > 0}) W_hh for s = 1..L-1: (L-1, H, H)."""
    return (h[1:] > 0).to(h.dtype)[:, :, None] * w_hh


def _gru_steps(h, c, g, w_hh, b_hh) -> torch.Tensor:
    """dh_s/dh_{s-1} for s = 1..L-1: (L-1, H, H)."""
    H = h.shape[1]
    w_hr, w_hz, w_hn = w_hh.split(H, 0)  # (H, H) each
    r, z, n, h_prev = g["r"][1:], g["z"][1:], g["n"][1:], h[:-1]  # (L-1, H)
    gh_n = h_prev @ w_hn.T + b_hh[2 * H :]  # (L-1, H)
    dn = (1 - z) * (1 - n**2)  # (L-1, H)
    jac = torch.diag_embed(z)  # (L-1, H, H)
    jac += ((h_prev - n) * z * (1 - z))[:, :, None] * w_hz
    jac += (dn * r)[:, :, None] * w_hn + (dn * gh_n * r * (1 - r))[:, :, None] * w_hr
    return jac


def _lstm_steps(h, c, g, w_hh, b_hh) -> torch.Tensor:
    """d(h_s, c_s)/d(h_{s-1}, c_{s-1}) for s = 1..L-1: (L-1, 2H, 2H)."""
    H = h.shape[1]
    w_hi, w_hf, w_hg, w_ho = w_hh.split(H, 0)  # (H, H) each
    i, f, gg, o, c_prev = g["i"][1:], g["f"][1:], g["g"][1:], g["o"][1:], c[:-1]  # (L-1, H)
    tc = torch.tanh(c[1:])  # (L-1, H)
    dtc = o * (1 - tc**2)  # dh_s/dc_s, (L-1, H)
    dc_dh = ((gg * i * (1 - i))[:, :, None] * w_hi + (c_prev * f * (1 - f))[:, :, None] * w_hf
             + (i * (1 - gg**2))[:, :, None] * w_hg)  # (L-1, H, H)
    dh_dh = (tc * o * (1 - o))[:, :, None] * w_ho + dtc[:, :, None] * dc_dh  # (L-1, H, H)
    top = torch.cat([dh_dh, torch.diag_embed(dtc * f)], 2)  # (L-1, H, 2H)
    bottom = torch.cat([dc_dh, torch.diag_embed(f)], 2)  # (L-1, H, 2H)
    return torch.cat([top, bottom], 1)  # (L-1, 2H, 2H)


#: One step's Jacobian for each cell type (rnnviz.cells.CELLS), from one layer-direction-sample's
#: states in processing order: (h (L, H), c (L, H) | None, gates {name: (L, H)}, W_hh, b_hh) -> (L-1, S, S)
#: with S = H, or 2H for the state (h, c) of the LSTM. A new cell type adds its function here.
STEP_JACOBIANS = {"rnn_tanh": _tanh_steps, "rnn_relu": _relu_steps, "lstm": _lstm_steps, "gru": _gru_steps}


def _backward_products(jac: torch.Tensor) -> torch.Tensor:
    """prods[t] = J_T ... J_{t+1} for jac[s-1] = J_s; (L, S, S) with prods[L-1] = I."""
    L, S = jac.shape[0] + 1, jac.shape[1]
    prods = torch.empty(L, S, S, dtype=jac.dtype)
    prods[L - 1] = torch.eye(S, dtype=jac.dtype)
    for t in range(L - 2, -1, -1):
        torch.matmul(prods[t + 1], jac[t], out=prods[t])
    return prods
