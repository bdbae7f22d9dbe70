"""The trained model: a torch.nn recurrent module plus a linear read-out, with seeded init schemes.

Shapes: ``N`` batch, ``L`` length, ``I`` input features, ``H`` hidden size, ``D`` directions,
``O`` outputs, ``G`` gate blocks in ``W_hh`` (``rnnviz.cells.Cell.blocks``: 1 RNN, 4 LSTM ``i f g o``,
3 GRU ``r z n``, in PyTorch's row order).

Model (PyTorch conventions: torch.nn.RNN / LSTM / GRU docs)::

    h_t   = RNN/LSTM/GRU(x_t, h_{t-1})            # .rnn, batch_first=True
    out_t = W_o [h_t^fwd ; h_t^bwd] + b_o         # .head = Linear(D*H, O)

Init schemes (``config.init``) act on every layer and direction, and on every gate block
``W_h* in R^{H x H}`` of ``weight_hh`` separately:

* ``default``    PyTorch's own: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)).
* ``xavier``     Glorot uniform on every gate block of ``W_ih`` and ``W_hh``,
                 ``W ~ U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``; all biases 0.
* ``orthogonal`` each ``W_hh`` block a random orthogonal matrix (``W^T W = I``: every singular
                 value 1, so ``||W_hh^k v|| = ||v||``).
* ``identity``   IRNN (Le et al. 2015): each ``W_hh`` block ``= I``, all recurrent-layer biases 0.
                 With relu and small inputs ``h_t ~= h_{t-1} + W_ih x_t``: the state is copied.
* ``scaled``     each ``W_hh`` block ``W ~ N(0, 1/H)`` rescaled to spectral radius ``rho``:
                 ``W <- rho W / max|eig(W)|``. ``rho`` is the long-run rate of ``||W^k||``
                 (Gelfand: ``||W^k||^(1/k) -> rho``), not a bound on one step: a Gaussian ``W`` has
                 ``sigma_max ~ 2 rho`` (``sigma_max ~ 1.6-1.8`` at ``rho = 0.9``, H = 64), so products
                 ``prod W^T diag(phi')`` can grow for a while before they shrink. Only ``gamma *
                 sigma_max < 1`` guarantees that every step shrinks (Pascanu et al. 2013).

``W_ih`` and the biases keep PyTorch's init except where stated. The forget-gate bias
(``config.forget_bias``, LSTM only; ignored for other cells) is applied afterwards. In ``nn.LSTM``
the effective bias is ``b_ih + b_hh``, so the value is written into ``b_ih``'s block and
``b_hh``'s block is zeroed:

* ``zero``   ``b_f = 0``:  ``f = sigma(0) = 0.5`` at small inputs.
* ``one``    ``b_f = 1``:  ``f ~= sigma(1) = 0.73`` (Gers et al. 2000; Jozefowicz et al. 2015).
* ``chrono`` ``b_f ~ log U(1, T_max - 1)``, ``b_i = -b_f`` (Tallec & Ollivier 2018) with
             ``T_max = config.length``: mean ``f ~= 0.96`` at ``T_max = 100``; the cell state
             ``c_t = f * c_{t-1} + i * g`` then forgets on time scales ``1 / (1 - f)`` up to ``T_max``.

Determinism: all random draws come from ``config.seed`` inside ``torch.random.fork_rng``,
so the global RNG state is untouched and the same config gives bit-identical weights. PyTorch's
modules draw their initial weights from its one global RNG, so that block holds :data:`GLOBAL_RNG`:
builds on two threads (two students opening links at once) would otherwise seed and draw in between
each other, and a run could start from the other seed's weights.
"""

from __future__ import annotations

import math
import threading

import torch
from torch import nn

from rnnviz import cells
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError

#: Held while a build seeds and draws from torch's global RNG (process-wide: the server's sessions share it).
GLOBAL_RNG = threading.Lock()


class SequenceModel(nn.Module):
    """``.rnn`` (the nn.RNN / nn.LSTM / nn.GRU itself) followed by ``.head`` (Linear(D*H, O)).

    ``forward(x (N, L, I), hx=None) -> (N, L, O)``: one prediction per time step; tasks
    decide through their mask which steps carry loss.
    """

    def __init__(self, rnn: nn.RNNBase, head: nn.Linear, cell: str):
        super().__init__()
        self.rnn = rnn
        self.head = head
        self.cell = cell

    def forward(self, x: torch.Tensor, hx=None) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.rnn.input_size:
            raise RnnvizError(
                f"x must have shape (N, L, {self.rnn.input_size}) (input_size), got {tuple(x.shape)}"
            )
        out, _ = self.rnn(x, hx)  # (N, L, D*H)
        return self.head(out)  # (N, L, O)


def _weights(rnn: nn.RNNBase, kind: str) -> list[torch.Tensor]:
    """All ``weight_{kind}_l{k}[_reverse]`` (or ``bias_...``) tensors, every layer and direction."""
    return [p for name, p in rnn.named_parameters() if name.startswith(kind + "_")]


def _blocks(w: torch.Tensor, H: int) -> list[torch.Tensor]:
    """Views of the gate blocks, each (H, ...) rows of a weight (G*H, .) or bias (G*H,)."""
    return [w[k * H : (k + 1) * H] for k in range(w.shape[0] // H)]


def scaled_gaussian(H: int, rho: float, generator: torch.Generator) -> torch.Tensor:
    """``W ~ N(0, 1/H)`` rescaled so that ``max |eig(W)| = rho``.  # (H, H)"""
    w = torch.randn(H, H, generator=generator, dtype=torch.float64) / math.sqrt(H)  # (H, H)
    radius = torch.linalg.eigvals(w).abs().max().item()
    if radius < 1e-12:  # H = 1 and a draw of ~0: fall back to the scalar rho itself
        return torch.full((H, H), rho, dtype=torch.float32)
    return (w * (rho / radius)).float()


@torch.no_grad()
def init_recurrent(rnn: nn.RNNBase, config: ExperimentConfig, generator: torch.Generator) -> None:
    """Apply ``config.init`` and ``config.forget_bias`` in place (see the module docstring)."""
    H = rnn.hidden_size
    scheme = config.init
    if scheme == "xavier":
        for w in _weights(rnn, "weight"):
            for b in _blocks(w, H):
                nn.init.xavier_uniform_(b, generator=generator)
    elif scheme in ("orthogonal", "identity", "scaled"):
        for w in _weights(rnn, "weight_hh"):
            for b in _blocks(w, H):  # (H, H) per gate
                b.copy_(_recurrent_block(scheme, H, config.rho, generator))
    if scheme in ("xavier", "identity"):
        for bias in _weights(rnn, "bias"):
            bias.zero_()
    if config.cell == "lstm" and config.forget_bias != "default":
        _init_forget_bias(rnn, config.forget_bias, config.length, generator)


def _recurrent_block(scheme: str, H: int, rho: float, generator: torch.Generator) -> torch.Tensor:
    """One (H, H) gate block of W_hh under ``scheme`` (orthogonal | identity | scaled)."""
    if scheme == "orthogonal":
        return nn.init.orthogonal_(torch.empty(H, H), generator=generator)
    if scheme == "identity":
        return torch.eye(H)
    return scaled_gaussian(H, rho, generator)


def _init_forget_bias(rnn: nn.RNNBase, forget_bias: str, t_max: int, generator: torch.Generator) -> None:
    """Write b_f into bias_ih's f block and zero bias_hh's (the effective bias is b_ih + b_hh)."""
    H = rnn.hidden_size
    for b_ih, b_hh in zip(_weights(rnn, "bias_ih"), _weights(rnn, "bias_hh"), strict=True):
        i_ih, f_ih, _, _ = _blocks(b_ih, H)  # (H,) each
        i_hh, f_hh, _, _ = _blocks(b_hh, H)
        f_hh.zero_()
        if forget_bias == "zero":
            f_ih.zero_()
        elif forget_bias == "one":
            f_ih.fill_(1.0)
        else:  # chrono: b_f ~ log U(1, T_max - 1), b_i = -b_f
            u = 1.0 + (t_max - 2) * torch.rand(H, generator=generator, dtype=torch.float64)
            f_ih.copy_(torch.log(u).float())
            i_ih.copy_(-f_ih)
            i_hh.zero_()


def build_model(config: ExperimentConfig, input_size: int, output_size: int) -> SequenceModel:
    """Build the seeded model for ``config``: ``.rnn`` (batch_first, float32) and ``.head``.

    The global torch RNG is left untouched; the same config gives identical weights.
    """
    for name, v in (("input_size", input_size), ("output_size", output_size)):
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 4096:
            raise RnnvizError(f"{name} must be an integer in 1..4096, got {v!r}")
    common = dict(
        input_size=input_size,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        bidirectional=config.bidirectional,
        batch_first=True,
        dtype=torch.float32,
    )
    with GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        cell = cells.get(config.cell)
        rnn: nn.RNNBase = getattr(nn, cell.torch_class)(**common, **cell.torch_kwargs)
        head = nn.Linear(config.directions * config.hidden_size, output_size, dtype=torch.float32)
    # a separate stream for the schemes so that changing init never changes the head or W_ih
    generator = torch.Generator().manual_seed(config.seed + 1)
    init_recurrent(rnn, config, generator)
    return SequenceModel(rnn, head, config.cell)
