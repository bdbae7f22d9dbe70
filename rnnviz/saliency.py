"""Saliency: which inputs mattered. ||dL/dx_t|| per timestep of one sequence, and its share on the
positions the task says matter.

For probe sequence p with its own loss L_p (the task's loss on that sequence alone)::

    s_t = ||dL_p / dx_{p,t}||_2          (over the I input features of step t)

computed with autograd at the current weights (:func:`input_saliency`; equal to ``rnnviz.trace``'s
``grad_input`` for the same loss, tested). The trainer's recorded ``input_grad_norms`` is the same
quantity over the whole training batch (Frobenius over its N sequences), whose marked positions differ
from sequence to sequence; here one sequence is shown, so its marked positions can be drawn.

The positions that matter (:data:`MARKED`, one row per task that has them): adding, the two marked
numbers (marker bit 1); copy, the 10 symbols to copy (t = 1..10); temporal order, the two X/Y symbols;
parity, the flagged bits. Their share of the input gradient::

    share = sum_{t in M} s_t / sum_t s_t        (the marked positions are |M| / L of the sequence)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnviz.errors import RnnvizError


def _marker_bit(x: np.ndarray) -> np.ndarray:
    return x[:, 1] == 1.0


def _copy_symbols(x: np.ndarray) -> np.ndarray:
    marked = np.zeros(len(x), dtype=bool)
    marked[:10] = True  # CopyTask.n_copy: the 10 symbols shown first
    return marked


def _xy_symbols(x: np.ndarray) -> np.ndarray:
    return np.isin(x.argmax(axis=1), (4, 5)) & (x.max(axis=1) > 0)  # TemporalOrderTask: X = 4, Y = 5


#: task name -> (what the marked positions are, x (L, I) -> (L,) bool). The one table.
MARKED: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "adding": ("the 2 marked numbers", _marker_bit),
    "copy": ("the 10 symbols to copy", _copy_symbols),
    "temporal_order": ("the 2 X/Y symbols", _xy_symbols),
    "parity": ("the flagged bits", _marker_bit),
}


def marked_positions(task_name: str, x) -> np.ndarray | None:
    """(L,) bool: the positions of sequence ``x`` (L, I) that the task's answer depends on; None for a
    task without such positions (forecasting: every step is an input to the next answer)."""
    if task_name not in MARKED:
        return None
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise RnnvizError(f"x must be one sequence (L, I), got shape {x.shape}")
    return MARKED[task_name][1](x)


def marked_share(saliency, marked) -> float:
    """``sum_{t in M} s_t / sum_t s_t``; nan when the gradient is 0 everywhere or not finite."""
    s = np.asarray(saliency, dtype=np.float64)
    m = np.asarray(marked, dtype=bool)
    if s.shape != m.shape or s.ndim != 1:
        raise RnnvizError(f"saliency and marked must be (L,) of the same length, got {s.shape} and {m.shape}")
    total = s.sum()
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(s[m].sum() / total)


def share_line(saliency, marked, what: str) -> str:
    """The instrument line, e.g. "62% of ||dL/dx_t|| falls on the 2 marked numbers (they are 4% of the
    sequence)", computed from ``saliency`` (L,) and ``marked`` (L,) bool."""
    m = np.asarray(marked, dtype=bool)
    share = marked_share(saliency, m)
    part = f"they are {m.sum()} of {len(m)} steps, {m.mean():.0%} of the sequence"
    if not np.isfinite(share):
        return f"No input gradient to share out: ||dL/dx_t|| is 0 or not finite on every step ({what}: {part})."
    amount = "less than 1%" if share < 0.005 else "more than 99%" if share > 0.995 else f"{share:.0%}"
    return f"{amount} of the summed ||dL/dx_t|| falls on {what} ({part})."


def input_saliency(model, task, batch) -> np.ndarray:
    """(P, L) ``||dL_p/dx_{p,t}||_2`` for every sequence p of ``batch`` (e.g. the trainer's probe), each
    with its own loss ``L_p = task.loss(model(x_p), batch_p)``, at the model's current weights.

    One forward and backward of ``sum_p L_p`` (sequences do not interact, so row p's input gradient is
    dL_p/dx_p) through ``torch.autograd.grad`` with respect to x only: no parameter's ``.grad`` changes."""
    import torch

    from rnnviz.tasks import Batch

    x = batch.x.detach().clone().requires_grad_(True)  # (P, L, I)
    pred = model(x)  # (P, L, O)
    total = sum(task.loss(pred[p:p + 1], Batch(x[p:p + 1], batch.y[p:p + 1], batch.mask[p:p + 1]))
                for p in range(x.shape[0]))
    (gx,) = torch.autograd.grad(total, x)
    return gx.detach().double().norm(dim=-1).numpy()  # (P, L)


#: Share of ||dL/dx_t|| on the adding problem's 2 marked numbers (% rounded, every probe sequence of seeds
#: 0-4) at the initial weights and after 500 training steps, re-measured by tests/test_saliency.py (slow).
SHARE_RANGES = {
    "lstm-remembers": {0: (2, 6), 500: (53, 70)},
    "vanishing-tanh": {0: (0, 12), 500: (0, 12)},
}


def _pct(preset: str, steps: int) -> str:
    lo, hi = SHARE_RANGES[preset][steps]
    return f"{lo}–{hi}%" if lo else f"at most {hi}%"


#: What training does to the share on the adding problem, as measured (shown under the saliency strip).
ADDING_NOTE = (f"Measured on the adding problem at T=50 (presets, seeds 0-4, every probe sequence): the LSTM of "
               f"lstm-remembers puts {_pct('lstm-remembers', 0)} of ||dL/dx_t|| on the 2 marked numbers before "
               f"training and {_pct('lstm-remembers', 500)} after 500 steps; the tanh RNN of vanishing-tanh puts "
               f"{_pct('vanishing-tanh', 0)} there before and {_pct('vanishing-tanh', 500)} after: in 500 steps it "
               f"does not learn which inputs matter.")
