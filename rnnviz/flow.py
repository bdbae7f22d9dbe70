"""What the Gradient-flow page draws and says: the bounds that hold on a task, and the verdict.

The Pascanu bound ``||dL/dh_t|| <= ||dL/dh_T|| (gamma sigma_max)^(T-t)`` holds only where the loss enters
a layer's recurrence at ``h_T`` alone (:func:`gradient_enters_at_T_only`); the bound
``||dh_T/dh_t|| <= (gamma sigma_max)^(T-t)`` on the measured transport holds on every task. The verdict
(:func:`read_flow`) reads the transport, which does not depend on where the task puts its loss (the LSTM's
the cell path), and names the cell in words (``cells.Cell.label``). NumPy only; the task table is read
lazily (it imports torch).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from rnnviz import cells
from rnnviz.analysis import format_ratio, gradient_ratio, theory_bound


def gradient_enters_at_T_only(config, layer: int, direction: int) -> bool:
    """Whether the loss reaches this layer and direction's recurrence only through its last state h_T.

    True exactly when the task's loss sits on the last step alone (``Task.loss_steps == "last"``: adding,
    temporal order, parity), the layer is the top one (a lower layer feeds every step of the layer
    above, so the loss reaches its h_t along other paths too) and the direction is forward (the backward
    direction's last state is at t = 1, and a last-step loss enters it at its first). Then
    ``dL/dh_t = (dh_T/dh_t)^T dL/dh_T`` for every sequence of the batch, so the Pascanu bound
    ``||dL/dh_t|| <= ||dL/dh_T|| (gamma sigma_max)^(T-t)`` holds and the ratio of the two ends of the
    gradient curve measures the transport back through time.
    """
    from rnnviz.tasks import TASK_CLASSES  # torch: only when a page or a test asks

    return (TASK_CLASSES[config.task].loss_steps == "last" and layer == config.num_layers - 1
            and direction == 0)


def pascanu_overlay(record, config, layer: int, direction: int) -> np.ndarray | None:
    """The Pascanu bound on ||dL/dh_t|| from the last-step loss, only where it is a bound.

        ||dL/dh_t|| <= ||dL/dh_T|| (gamma sigma_max)^(T - t)

    ``sigma_max = ||W_hh||_2`` of that layer and direction (largest recorded singular value) and
    ``gamma = cells.Cell.gamma``. None unless :func:`gradient_enters_at_T_only` (with a loss at every
    step dL/dh_t also holds its own step's term, and the measured curve sits above this line), for a
    gated cell (LSTM, GRU: no single W_hh carries h_{t-1} -> h_t) or when no singular values were
    recorded. ``record`` is a ``StepRecord`` (``grad_norms`` (Lyr, D, L), ``singular_values``
    (Lyr, D, G, H)). Returns float64 (L,).
    """
    c = cells.get(config.cell)
    if c.gates or record.singular_values is None or not gradient_enters_at_T_only(config, layer, direction):
        return None
    sigma_max = float(np.max(record.singular_values[layer, direction, 0]))
    g = np.asarray(record.grad_norms[layer, direction], dtype=np.float64)
    return theory_bound(sigma_max, c.gamma, len(g)) * float(g[-1])


def transport_bound(record, cell: str, layer: int, direction: int) -> np.ndarray | None:
    """The Pascanu bound on the transport itself, true on every task and for every layer:

        ||dh_T/dh_t|| <= (gamma sigma_max)^(T - t)

    (T the direction's last step: t = T .. 1 reads backwards for the backward direction, whose bound
    runs the other way). None for a gated cell or without recorded singular values. Returns float64 (L,).
    """
    c = cells.get(cell)
    if c.gates or record.singular_values is None:
        return None
    sigma_max = float(np.max(record.singular_values[layer, direction, 0]))
    bound = theory_bound(sigma_max, c.gamma, np.asarray(record.grad_norms).shape[-1])
    return bound[::-1].copy() if direction == 1 else bound


#: The Gradient-flow page's caption: sigma_max bounds every step, the spectral radius is the long-run rate.
FLOW_CAPTION = (
    "Backpropagation through time multiplies the gradient by one Jacobian per step, diag(φ′)·W_hh in a plain "
    "RNN, whose norm is at most γσ_max (σ_max the largest singular value of W_hh, γ the largest slope of φ). "
    "If γσ_max < 1 every step shrinks the gradient: it vanishes geometrically, a straight falling line on the "
    "log axis. The spectral radius ρ of W_hh sets only the long-run rate per step (Gelfand's formula); with "
    "ρ < 1 < σ_max the gradient can still grow for a while before it shrinks.")

#: A ratio below this is vanishing, above EXPLODE_ABOVE exploding (the one place these thresholds live).
VANISH_BELOW, EXPLODE_ABOVE = 1e-3, 1e3
#: A curve that jumps to exactly 0 from above this share of its value at T lost its gradient at a step
#: whose Jacobian is 0 (every unit saturated or dead), not by underflow below float32's ~1e-45.
DEAD_JUMP = 1e-30


def ratio_kind(ratio: float) -> str:
    """"vanishing" (< VANISH_BELOW), "exploding" (> EXPLODE_ABOVE), "preserved"; nan -> "undefined"."""
    if math.isnan(ratio):
        return "undefined"
    return "vanishing" if ratio < VANISH_BELOW else "exploding" if ratio > EXPLODE_ABOVE else "preserved"


class FlowReading(NamedTuple):
    """What the Gradient-flow page draws and says about one recorded step (see :func:`read_flow`).

    ``basis``: "transport" (the measured ||dh_T/dh_t||, which does not depend on the task), "gradient"
    (no weights, but the loss enters at h_T only, so the gradient curve's ends measure the transport of
    the loss's gradient) or "none" (a loss at every step and no weights to measure the transport).
    ``kind``: "vanishing", "preserved", "exploding", "dead" (exactly 0 from some step back: every unit
    saturated or dead), "diverged", "no gradient" or "unmeasured". ``ratio``: the number the verdict is
    based on (the cell path for the LSTM). ``bound``: the Pascanu bound on ||dL/dh_t|| (only where it
    holds), ``transport_bound`` the bound on ||dh_T/dh_t|| (plain RNN), both (L,) float64 or None.
    """

    verdict: str
    kind: str
    basis: str
    ratio: float
    bound: np.ndarray | None
    transport_bound: np.ndarray | None


def _far_end(curve, direction: int) -> tuple[float, int, int]:
    """(value, t, steps back) at the far end of a curve that starts at 1 at T: t = 1 forward, t = L
    backward, or the first measured position of a capped (nan-padded) transport."""
    a = np.asarray(curve, dtype=np.float64)
    order = a if direction == 0 else a[::-1]
    finite_at = np.flatnonzero(~np.isnan(order))
    i = int(finite_at[0]) if finite_at.size else len(order) - 1
    t = i + 1 if direction == 0 else len(a) - i
    return float(order[i]), t, len(order) - 1 - i


def _zero_from(curve, direction: int) -> int | None:
    """t (1-based) nearest T where a curve that is positive at T is exactly 0 after a jump (no underflow)."""
    a = np.asarray(curve, dtype=np.float64)
    order = (a if direction == 0 else a[::-1])[::-1]  # from T backwards
    if not (order.size > 1 and order[0] > 0) or not (order == 0).any():
        return None
    k = int(np.flatnonzero(order == 0)[0])  # first exact zero going back
    if order[k - 1] < DEAD_JUMP * order[0]:
        return None  # faded to 0 through underflow: vanishing
    return len(a) - k if direction == 0 else k + 1


def _path_words(label: str, c_ratio: float, h_ratio: float, what: str) -> str:
    """LSTM: the cell path's ratio with the hidden path's beside it, and which carries more."""
    more = "the cell state c" if not h_ratio > c_ratio else "the hidden state h"
    return (f"{label}: {what} through the cell state c is {format_ratio(c_ratio)}, through the hidden "
            f"state h {format_ratio(h_ratio)}: {more} carries more of it")


def read_flow(record, config, layer: int, direction: int, transport=None) -> FlowReading:
    """The verdict on one recorded step's gradient flow, and the bounds that hold, for any task.

    With ``transport`` (a ``JacobianNorms`` measured at the current weights on one probe sequence) the
    verdict reads it: r = ||dh_T/dh_1|| (LSTM: the cell path ||dc_T/dc_1||, with the hidden path beside
    it), which does not depend on the task. Where the loss enters at h_T only
    (:func:`gradient_enters_at_T_only`) the recorded gradient's own ratio ||dL/dh_1|| / ||dL/dh_T|| (LSTM:
    ||dL/dc_1|| / ||dL/dc_T||) is quoted beside it, the Pascanu bound on ||dL/dh_t|| is drawn, and without
    ``transport`` (an older step, a saved run: no weights) that ratio is the verdict. Otherwise (a loss at
    every step, a lower layer, the backward direction) the ratio mixes each step's own loss term into
    dL/dh_1 and says nothing about vanishing: without ``transport`` there is no verdict, and the line says
    why. r < VANISH_BELOW vanishing, r > EXPLODE_ABOVE exploding, else preserved; a curve that drops to
    exactly 0 is "dead" (units saturated: tanh' = 0, or relu units off), not vanishing. The cell is named
    by ``cells.Cell.label``.
    """
    c = cells.get(config.cell)
    g = np.asarray(record.grad_norms[layer, direction], dtype=np.float64)
    bound, t_bound = pascanu_overlay(record, config, layer, direction), transport_bound(record, c.name, layer,
                                                                                       direction)
    at_T = gradient_enters_at_T_only(config, layer, direction)
    cg = record.cell_grad_norms
    loss_curve = np.asarray(cg[layer, direction], dtype=np.float64) if cg is not None else g
    if transport is not None:
        cell_path = transport.cell is not None
        main = transport.cell if cell_path else transport.hidden
        verdict, kind = _transport_verdict(c, main, transport.hidden if cell_path else None, direction)
        if at_T and kind not in ("dead", "diverged"):
            path = "||dL/dc_1|| / ||dL/dc_T||" if cg is not None else "||dL/dh_1|| / ||dL/dh_T||"
            verdict += f"; the last-step loss's own gradient: {path} = {format_ratio(gradient_ratio(loss_curve))}"
        return FlowReading(verdict, kind, "transport", _far_end(main, direction)[0], bound, t_bound)
    if at_T:
        hidden = g if cg is not None else None
        return FlowReading(*_gradient_verdict(c, loss_curve, hidden), "gradient", gradient_ratio(loss_curve),
                           bound, t_bound)
    return FlowReading(
        f"{c.label}: the loss reaches this layer at every step, so ||dL/dh_1|| / ||dL/dh_T|| = "
        f"{format_ratio(gradient_ratio(g))} mixes each step's own loss term in and says nothing about "
        f"vanishing; the transport ||∂h_T/∂h_t|| needs the weights (the newest step of a live run)",
        "unmeasured", "none", math.nan, None, t_bound)


def _gradient_verdict(c, main: np.ndarray, hidden: np.ndarray | None) -> tuple[str, str]:
    """(verdict, kind) from a gradient curve whose loss enters at t = T only: ``main`` the cell path when
    the cell has one (then ``hidden`` is the hidden path, else None)."""
    ratio = gradient_ratio(main)
    if not (np.isfinite(main[0]) and np.isfinite(main[-1])):
        return f"{c.label}: gradient not finite (the run diverged)", "diverged"
    if math.isnan(ratio):
        return f"{c.label}: no gradient reached the recurrent layer (||dL/dh_T|| = 0)", "no gradient"
    dead = _zero_from(main, 0)
    if dead is not None:
        return (f"{c.label}: the gradient is exactly 0 from t={dead} back: every unit there is saturated or "
                f"off (its slope is 0), so nothing flows back (dead, not vanishing)"), "dead"
    kind = ratio_kind(ratio)
    what = "the gradient reaching t=1, as a share of its size at t=T,"
    if hidden is not None:
        return _path_words(c.label, ratio, gradient_ratio(hidden), what) + f" ({kind})", kind
    return f"{c.label}: the gradient reaching t=1 is {format_ratio(ratio)} of its size at t=T ({kind})", kind


def _transport_verdict(c, main: np.ndarray, hidden: np.ndarray | None, direction: int) -> tuple[str, str]:
    """(verdict, kind) from the measured transport: ``main`` the cell path ||dc_T/dc_t|| when the cell has
    one (then ``hidden`` is ||dh_T/dh_t||, else None)."""
    ratio, t, back = _far_end(main, direction)
    where = f"t={t}" + ("" if back == len(main) - 1 else f" ({back} steps back: the measurement is capped)")
    if not math.isfinite(ratio):
        return f"{c.label}: the transport ||∂h_T/∂h_t|| is not finite (the weights overflowed)", "diverged"
    dead = _zero_from(main, direction)
    if dead is not None:
        return (f"{c.label}: the transport ||∂h_T/∂h_t|| is exactly 0 from t={dead} back: every unit there is "
                f"saturated or off (its slope is 0), so no gradient flows back (dead, not vanishing)"), "dead"
    kind = ratio_kind(ratio)
    if hidden is not None:
        what = f"a change at {where} reaching T (measured transport, current weights)"
        return _path_words(c.label, ratio, _far_end(hidden, direction)[0], what) + f" ({kind})", kind
    return (f"{c.label}: a change of h at {where} reaches h_T scaled by ||∂h_T/∂h_t|| = {format_ratio(ratio)} "
            f"(measured transport at the current weights, whatever the task's loss; {kind})"), kind


def largest_gradient_step(history) -> int | None:
    """The recorded step with the largest finite gradient norm ||g|| (before clipping), or None when no
    recorded step has a finite one. The Gradient-flow page keeps this step's curve pinned, so an explosion
    stays visible after the run saturates or diverges."""
    steps = np.asarray(history.steps)
    norms = np.asarray(history.scalars["grad_norm"], dtype=np.float64)
    recorded = np.isin(steps, np.asarray(history.recorded_steps())) & np.isfinite(norms)
    if not recorded.any():
        return None
    return int(steps[recorded][np.argmax(norms[recorded])])


def pinned_curves(history, step: int, layer: int, direction: int) -> dict[str, np.ndarray]:
    """{label: ||dL/dh_t|| (L,)} of :func:`largest_gradient_step` when it is not ``step`` (the step shown),
    labelled with its ||g|| and what the dashed line is, e.g. ``"step 15: largest ||g|| = 1e19 (its
    curve, kept in view)"``; {} otherwise.

    While playing, full curves are recorded only at display cadence, so the largest ||g|| of all steps
    (every step's scalar is kept) may be on a step without a curve: then the label says the pinned step is
    the largest of the N recorded steps, and which step had the largest overall
    (:func:`pinned_label`)."""
    pin = largest_gradient_step(history)
    if pin is None or pin == step:
        return {}
    rec = history.record_at(pin)
    return {pinned_label(history, pin): rec.grad_norms[layer, direction]}


def pinned_label(history, pin: int) -> str:
    """The legend of the pinned curve of step ``pin`` (:func:`pinned_curves`): true whether or not the
    largest ||g|| of the whole run was recorded."""
    steps = np.asarray(history.steps)
    norms = np.asarray(history.scalars["grad_norm"], dtype=np.float64)
    value = format_ratio(float(norms[steps == pin][0]))
    finite = np.isfinite(norms)
    top = int(steps[finite][np.argmax(norms[finite])])
    if norms[steps == top][0] <= norms[steps == pin][0]:
        return f"step {pin}: largest ||g|| = {value}<br>(its curve, kept in view)"
    recorded = len(history.recorded_steps())
    return (f"step {pin}: largest ||g|| of the {recorded} recorded steps = {value}<br>(its curve, kept in view; "
            f"step {top}, not recorded, had {format_ratio(float(norms[steps == top][0]))})")
