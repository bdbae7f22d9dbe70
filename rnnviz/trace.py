"""Exact recording of one forward + backward pass of a torch.nn RNN, LSTM or GRU.

Shapes: N batch, L length, I input features, H hidden, Lyr layers, D directions (1|2).
Recorded gradients are the full BPTT adjoints: dL/dh_t is the total derivative through
all later timesteps and all upper layers plus any direct use by the loss (h_n included);
dL/dc_t likewise for the LSTM.

The passes themselves (cell equations, the hand-written backward of every cell, and why it is
exact and cheap) live in :mod:`rnnviz.trace_layers`; this module validates the input, runs them
layer by layer through autograd, and turns what they wrote into a :class:`Trace`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import sys
import types
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.trace_layers import Buffers, run_layers


@dataclasses.dataclass(frozen=True)
class Trace:
    """Everything one forward (+ backward) pass recorded; NumPy arrays in the input dtype.

    For the reverse direction (d = 1) index t is the input position, as in PyTorch's output.
    """

    cell_type: str  # a name in rnnviz.cells.CELLS; ``cell`` is the LSTM cell state
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

    def _repr_html_(self) -> str:
        """In Jupyter: the gradient flow and the gates as figures (rnnviz.notebook.trace_html)."""
        from rnnviz.notebook import trace_html

        return trace_html(self)


# ----------------------------------------------------------------------------- validation


def _check_module(module) -> str:
    cell = cells.cell_of_module(module)
    if getattr(module, "proj_size", 0) > 0:
        raise RnnvizError(f"LSTM projections (proj_size > 0) are not supported, got proj_size={module.proj_size}")
    if module.training and module.dropout > 0:
        raise RnnvizError(
            f"dropout between layers is not supported in training mode (call module.eval() or set "
            f"dropout=0), got dropout={module.dropout}"
        )
    return cell


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


# ----------------------------------------------------------------------------- recording


def _block_names(bias: bool) -> list[tuple[str, str]]:
    """(param prefix, block-name prefix) pairs, e.g. ("weight_ih", "W_i")."""
    pairs = [("weight_ih", "W_i"), ("weight_hh", "W_h")]
    return pairs + ([("bias_ih", "b_i"), ("bias_hh", "b_h")] if bias else [])


def _param_grad_norms(module, cell: str, grads: dict) -> dict[str, np.ndarray]:
    """Frobenius norm of this call's gradient per gate block: name -> (Lyr, D)."""
    D = 2 if module.bidirectional else 1
    gates = cells.get(cell).gates
    norms: dict[str, np.ndarray] = {}
    for layer in range(module.num_layers):
        for d in range(D):
            sfx = cells.weight_suffix(layer, d)
            for pname, block in _block_names(module.bias):
                p = getattr(module, pname + sfx)
                g = grads.get(p)
                g = torch.zeros_like(p) if g is None else g
                chunks = g.chunk(len(gates), 0) if gates else [g]
                for gate, chunk in zip(gates or ("",), chunks, strict=True):
                    name = block + (gate if gates else "h")  # W_ii .. b_ho, or W_ih .. b_hh
                    arr = norms.setdefault(name, np.zeros((module.num_layers, D), dtype=_np_dtype(p)))
                    arr[layer, d] = float(torch.linalg.vector_norm(chunk))
    return norms




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


def _np_dtype(t: torch.Tensor):
    return np.float64 if t.dtype == torch.float64 else np.float32


# ----------------------------------------------------------------------------- public API


def trace(module: nn.Module, x: torch.Tensor, loss_fn: Callable | None, h0=None) -> Trace:
    """Run module on x, call loss_fn(*module(x, h0)), backpropagate, and record everything.

    module: nn.RNN (tanh|relu), nn.LSTM or nn.GRU; any num_layers, bidirectional, batch_first,
    bias; float32 or float64. x: (N, L, I) if batch_first else (L, N, I). h0: as the module
    takes it ((h0, c0) for an LSTM), each (Lyr*D, N, H), or None for zeros.
    loss_fn(output, h_n) -> scalar tensor, or None to record the forward only.
    Like loss.backward(), it accumulates .grad on every parameter the loss depends on.
    """
    cell = _check_module(module)
    x = _check_input(module, x)
    h0, c0 = _check_state(module, x, h0)
    with_grad = loss_fn is not None
    D = 2 if module.bidirectional else 1
    N, L = (x.shape[0], x.shape[1]) if module.batch_first else (x.shape[1], x.shape[0])
    bufs = Buffers(cell, module.num_layers, D, N, L, module.hidden_size, x.dtype, with_grad)
    with _no_gc(), torch.set_grad_enabled(with_grad):
        x_leaf = _input_leaf(x) if with_grad else x.detach()
        x_bf = x_leaf if module.batch_first else x_leaf.transpose(0, 1)  # (N, L, I) view
        runs, out_bf, h_n, c_n = run_layers(module, cell, x_bf, h0, c0, bufs, with_grad)
        loss, own = None, None
        if with_grad:
            output = out_bf if module.batch_first else out_bf.transpose(0, 1)
            loss = loss_fn(output, (h_n, c_n) if cell == "lstm" else h_n)
            _check_loss(loss)
            own = _backward_with_own_grads(module, loss)
    with torch.no_grad():
        return _record(module, cell, runs, bufs, out_bf, x_leaf, loss, own)


@contextlib.contextmanager
def _no_gc():
    """The cyclic garbage collector paused while the per-step loops create their views.

    Each step creates a few tensor views (GC-tracked objects); at L=100..500 that is several
    thousand per layer-direction, enough to trigger collections whose cost grows with
    everything else alive in the process (measured: ~0.2-2 ms per LSTM trace in a bare
    process, more in an app). Nothing the loops create is cyclic, so nothing is delayed
    but the collections themselves; the previous state is restored on exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _input_leaf(x: torch.Tensor) -> torch.Tensor:
    """A tensor whose .grad will be dL/dx; keeps x's own graph if x requires grad."""
    if x.requires_grad:
        x_in = x.clone()
        x_in.retain_grad()
        return x_in
    return x.detach().requires_grad_()


def _check_loss(loss) -> None:
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise RnnvizError(f"loss_fn must return a scalar tensor, got {got}")
    if not loss.requires_grad:
        raise RnnvizError("loss_fn's result must depend on the module's output (requires_grad), got a constant")


def _record(module, cell, runs, bufs: Buffers, out_bf, x_leaf, loss, own) -> Trace:
    is_lstm, with_grad = cell == "lstm", loss is not None
    output = out_bf.detach().numpy()  # (N, L, D*H)
    output = output.copy() if np.shares_memory(output, bufs.hidden) else np.ascontiguousarray(output)
    gates = dict(zip(cells.get(cell).gates, bufs.gates, strict=True)) if bufs.gates is not None else {}
    grads = {}
    if with_grad:
        for run in runs:  # a layer-direction the loss does not reach has zero adjoints
            if not run.backward_ran:
                run.dh.zero_()
                if run.dc is not None:
                    run.dc.zero_()
        gx = x_leaf.grad if x_leaf.grad is not None else torch.zeros_like(x_leaf)
        gx = gx if module.batch_first else gx.transpose(0, 1)
        grads = dict(
            grad_hidden=bufs.grad_hidden,
            grad_cell=bufs.grad_cell,
            grad_input=np.ascontiguousarray(gx.numpy()),  # (N, L, I)
            grad_norms=_frobenius(bufs.grad_hidden),  # (Lyr, D, L)
            grad_cell_norms=_frobenius(bufs.grad_cell) if is_lstm else None,
            param_grad_norms=_param_grad_norms(module, cell, own),
        )
    loss_value = float(loss.detach()) if with_grad else None
    return Trace(
        cell_type=cell,
        loss=loss_value,
        output=output,
        hidden=bufs.hidden,
        cell=bufs.cell,
        gates=gates,
        grad_hidden=grads.get("grad_hidden"),
        grad_cell=grads.get("grad_cell"),
        grad_input=grads.get("grad_input"),
        grad_norms=grads.get("grad_norms"),
        grad_cell_norms=grads.get("grad_cell_norms"),
        param_grad_norms=grads.get("param_grad_norms"),
        finite=_all_finite(loss_value, bufs.hidden, bufs.cell, grads),
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


class _TraceModule(types.ModuleType):
    """``rnnviz.trace`` is both this module and the public function :func:`trace` (``from rnnviz import
    trace``, resolved lazily by ``rnnviz.__getattr__`` so that importing rnnviz never loads torch). Once any
    code imports the module ``rnnviz.trace`` first (``import rnnviz.trainer`` does), Python binds the package
    attribute ``rnnviz.trace`` to the module, and ``from rnnviz import trace`` would hand out the module.
    Calling the module therefore calls the function, so both spellings trace."""

    def __call__(self, *args, **kwargs):
        return trace(*args, **kwargs)


sys.modules[__name__].__class__ = _TraceModule
