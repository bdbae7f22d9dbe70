"""Derived quantities: gate saturation, spectra of W_hh, theory bounds, gradient ratios, PCA.

NumPy functions: arrays in, arrays (or small named tuples) out, so every number a figure shows
can be tested directly. Nothing here knows about plotly or streamlit; torch is imported only
inside :func:`spectra` (torch.linalg) and :func:`jacobian_norms` (rnnviz.jacobian), so the
module itself imports without it.

Shapes are named once: ``L`` sequence length, ``H`` hidden size, ``N`` batch, ``S``
recorded training steps, ``k`` principal components. Time is 1-based in every text this
module writes (``t = 1 .. T`` with ``T = L``), matching the figures.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from rnnviz import cells
from rnnviz.errors import RnnvizError

# --------------------------------------------------------------------------------------
# Nonlinearities (per-cell facts, the gate order and each cell's gamma, live in rnnviz.cells)
# --------------------------------------------------------------------------------------

#: gamma = sup |phi'(x)|, the largest slope of the nonlinearity phi (Pascanu et al. 2013).
NONLINEARITY_GAMMA: dict[str, float] = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}



# --------------------------------------------------------------------------------------
# Saturation
# --------------------------------------------------------------------------------------


def saturation(values: np.ndarray, low: float = 0.1, high: float = 0.9) -> tuple[float, float]:
    """Fractions of gate activations stuck near 0 and near 1.

    frac_below = #{a < low} / n,   frac_above = #{a > high} / n

    over all finite entries ``a`` of ``values`` (any shape; non-finite entries are
    ignored). A saturated sigmoid gate has slope sigma'(x) = sigma(x)(1 - sigma(x)) < 0.09
    outside [0.1, 0.9], so saturated gates pass little gradient. Returns (nan, nan) when
    there is no finite value.
    """
    if not low < high:
        raise RnnvizError(f"saturation needs low < high, got low={low}, high={high}")
    a = np.asarray(values, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, math.nan
    return float(np.mean(a < low)), float(np.mean(a > high))


def saturation_over_training(
    history, cell: str, layer: int, direction: int, low: float = 0.1, high: float = 0.9
) -> tuple[list[int], dict[str, tuple[list[float], list[float]]]]:
    """:func:`saturation` of every gate at every training step whose gates are kept.

    ``history`` is a ``RunHistory`` (``full_steps()``, ``record_at(step, full=True)``, ``gate_names``);
    each record's ``gates[name]`` is (Lyr, D, N, L, H), of which layer ``layer``, direction ``direction``
    is used (all probe sequences, all timesteps and units). For the cell's tanh gates
    (``cells.Cell.tanh_gates``: LSTM g, GRU n) the fractions are of |value|: a candidate near -1 is
    as saturated as one near +1 (tanh' < 0.19 beyond |x| = 0.9). Returns the steps (S,) and, per gate,
    (below (S,), above (S,)), the input of :func:`rnnviz.plots.saturation_curve`.
    """
    tanh_gates = cells.get(cell).tanh_gates
    steps: list[int] = []
    per_gate: dict[str, tuple[list[float], list[float]]] = {g: ([], []) for g in history.gate_names}
    for s in history.full_steps():
        rec = history.record_at(int(s), full=True)
        steps.append(int(rec.step))
        for g, values in rec.gates.items():
            v = np.asarray(values[layer, direction])
            below, above = saturation(np.abs(v) if g in tanh_gates else v, low, high)
            per_gate.setdefault(g, ([], []))[0].append(below)
            per_gate[g][1].append(above)
    return steps, per_gate


# --------------------------------------------------------------------------------------
# Spectra of the recurrent matrix
# --------------------------------------------------------------------------------------


def spectra(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Singular values and eigenvalues of a stack of square matrices W (..., H, H).

    Returns ``singular_values (..., H)`` float64, ``sigma_1 >= ... >= sigma_H >= 0``, and
    ``eigenvalues (..., H)`` complex128 sorted by modulus (descending), ties by angle.
    ``sigma_max = ||W||_2 = sigma_1 >= rho(W) = |lambda_1|``, the spectral radius. For the
    vanilla RNN one step's Jacobian is ``dh_t/dh_{t-1} = diag(phi'(a_t)) W_hh``, so
    ``gamma * sigma_max`` bounds every step and ``rho`` is the long-run rate. A matrix with an
    inf/nan entry (a diverged run) gets nan everywhere. Computed in float64 by torch.linalg
    (imported lazily; measured ~2x faster than numpy.linalg for 4 blocks of 64 x 64 on one thread).
    """
    import torch

    A = np.asarray(W, dtype=np.float64)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RnnvizError(f"spectra needs square matrices (..., H, H), got shape {A.shape}")
    finite = np.isfinite(A).all(axis=(-2, -1))  # (...)
    t = torch.from_numpy(np.where(finite[..., None, None], A, 0.0))
    sv = torch.linalg.svdvals(t).numpy()
    ev = torch.linalg.eigvals(t).numpy()
    order = np.lexsort((np.angle(ev), -np.abs(ev)), axis=-1)
    ev = np.take_along_axis(ev, order, axis=-1)
    sv[~finite], ev[~finite] = np.nan, np.nan
    return sv, ev


def whh_spectra(rnn) -> tuple[np.ndarray, np.ndarray]:
    """:func:`spectra` of every H x H gate block of every ``W_hh`` of a torch.nn RNN/LSTM/GRU.

    ``weight_hh`` + ``cells.weight_suffix(layer, d)`` is ``(G*H, H)`` with the blocks in the cell's
    row order (``cells.Cell.blocks``). Returns ``singular_values (Lyr, D, G, H)`` float32 and
    ``eigenvalues (Lyr, D, G, H)`` complex64, as a StepRecord stores them.
    """
    D, H, Lyr = 2 if rnn.bidirectional else 1, rnn.hidden_size, rnn.num_layers
    Ws = [getattr(rnn, "weight_hh" + cells.weight_suffix(k, d)).detach().numpy() for k in range(Lyr) for d in range(D)]
    W = np.stack(Ws).reshape(Lyr, D, -1, H, H)  # (Lyr, D, G, H, H)
    sv, ev = spectra(W)
    return sv.astype(np.float32), ev.astype(np.complex64)


# --------------------------------------------------------------------------------------
# Theory: the Pascanu et al. (2013) bound
# --------------------------------------------------------------------------------------


def theory_bound(sigma_max: float, gamma: float, L: int) -> np.ndarray:
    """Upper bound on the Jacobian norm through time, for t = 1 .. T (T = L).

        ||dh_T/dh_t|| <= prod_{k=t+1..T} ||diag(phi'(a_k))|| ||W_hh|| <= (gamma * sigma_max)^(T - t)

    with gamma = sup|phi'| (1 for tanh and relu, 1/4 for sigmoid: NONLINEARITY_GAMMA; a cell's own is cells.Cell.gamma)
    and sigma_max = ||W_hh||_2 (Pascanu, Mikolov & Bengio 2013). If gamma*sigma_max < 1 the
    gradient vanishes geometrically for sure. Returns float64 (L,); index 0 is t = 1, the last
    entry (t = T) is 1. Huge/tiny powers saturate to inf/0 quietly (no warning).
    """
    if L < 1:
        raise RnnvizError(f"theory_bound needs L >= 1, got {L}")
    if not (sigma_max >= 0 and gamma >= 0):
        raise RnnvizError(f"theory_bound needs sigma_max >= 0 and gamma >= 0, got {sigma_max}, {gamma}")
    exponent = np.arange(L - 1, -1, -1, dtype=np.float64)  # T - t for t = 1 .. T
    with np.errstate(over="ignore", under="ignore"):
        return np.power(float(gamma) * float(sigma_max), exponent)  # 0^0 = 1 at t = T


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


def block_norms(param_grad_norms, layer: int, direction: int) -> dict[str, float]:
    """``{block: ||dL/dW_block||}`` of one layer and direction, from ``StepRecord.param_grad_norms``
    (block name -> (Lyr, D)): the input of :func:`rnnviz.plots.param_grad_bars`."""
    return {name: float(np.asarray(v)[layer, direction]) for name, v in param_grad_norms.items()}


# --------------------------------------------------------------------------------------
# Gradient ratio and the one-line verdict
# --------------------------------------------------------------------------------------


def gradient_ratio(grad_norms: np.ndarray) -> float:
    """How much of the gradient survives the trip back through time.

        ratio = ||dL/dh_1|| / ||dL/dh_T||

    from a per-timestep norm curve (L,) (e.g. ``Trace.grad_norms[layer, direction]``).
    ~1 means the gradient is preserved, << 1 vanishing, >> 1 exploding. Only meaningful
    when the loss sits at the end (adding, copy, temporal order); with a loss at every step
    dL/dh_1 also holds its own direct term.

    Edge cases (never raises on values, only on shape):
      - either end inf/nan (a diverged run)          -> nan
      - both ends 0 (no gradient reached the RNN)    -> nan
      - ||dL/dh_T|| = 0 but ||dL/dh_1|| > 0          -> inf
      - ||dL/dh_1|| = 0 (underflow below float range) -> 0.0
    Computed in float64, so float32 norms near the underflow limit still divide exactly.
    """
    g = np.asarray(grad_norms, dtype=np.float64)
    if g.ndim != 1 or g.size == 0:
        raise RnnvizError(f"gradient_ratio needs a 1-D curve of L >= 1 norms, got shape {g.shape}")
    first, last = abs(g[0]), abs(g[-1])
    if not (math.isfinite(first) and math.isfinite(last)):
        return math.nan
    if last == 0.0:
        return math.nan if first == 0.0 else math.inf
    return first / last


def format_ratio(ratio: float) -> str:
    """Short human form of a ratio: 0.3, 12, 1e-7, 3e13 (one significant digit beyond 1e3)."""
    if math.isnan(ratio):
        return "undefined"
    if math.isinf(ratio):
        return "infinite"
    if ratio == 0.0:
        return "0"
    if 1e-2 <= abs(ratio) < 1e3:
        return f"{ratio:.2g}"
    mantissa, exponent = f"{ratio:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def vanishing_verdict(
    label: str, grad_norms: np.ndarray, vanish_below: float = 1e-3, explode_above: float = 1e3
) -> str:
    """One line for the Compare page, e.g. ``"RNN: gradient at t=1 is 1e-7 of t=T (vanishing)"``.

    Classifies r = gradient_ratio(grad_norms): r < vanish_below -> vanishing,
    r > explode_above -> exploding, otherwise preserved. Non-finite data gives a line
    saying so instead of a number.
    """
    g = np.asarray(grad_norms, dtype=np.float64)
    ratio = gradient_ratio(g)
    if math.isnan(ratio):
        if not (np.isfinite(g[0]) and np.isfinite(g[-1])):
            return f"{label}: gradient not finite (the run diverged)"
        return f"{label}: no gradient reached the recurrent layer"
    if ratio < vanish_below:
        kind = "vanishing"
    elif ratio > explode_above:
        kind = "exploding"
    else:
        kind = "preserved"
    return f"{label}: gradient at t=1 is {format_ratio(ratio)} of t=T ({kind})"


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
    labelled with its ||g||, e.g. ``"step 15: largest ||g|| = 1e19"``; {} otherwise."""
    pin = largest_gradient_step(history)
    if pin is None or pin == step:
        return {}
    rec = history.record_at(pin)
    return {f"step {pin}: largest ||g|| = {format_ratio(float(rec.grad_norm))}": rec.grad_norms[layer, direction]}


# --------------------------------------------------------------------------------------
# PCA of hidden-state trajectories
# --------------------------------------------------------------------------------------


class PcaProjection(NamedTuple):
    """projected (..., L, k) and explained_variance_ratio (k,) of :func:`pca_trajectory`."""

    projected: np.ndarray
    explained_variance_ratio: np.ndarray


def pca_trajectory(hidden: np.ndarray, k: int = 2) -> PcaProjection:
    """Project hidden-state trajectories onto their top-k principal components.

    With X the (M, H) matrix of all finite states (M = L or N*L), mu its mean and
    X - mu = U S V^T its thin SVD:

        projected = (h - mu) V[:, :k],   explained_variance_ratio_j = S_j^2 / sum_i S_i^2

    Sign convention (deterministic across redraws): each component is flipped so that its
    largest-magnitude loading is positive. States with inf/nan are excluded from the fit
    and project to nan. If fewer than k components exist (H < k, or too few points), the
    missing columns are 0 with explained ratio 0. Returns float64.
    """
    if k not in (2, 3):
        raise RnnvizError(f"pca_trajectory k must be 2 or 3, got {k}")
    h = np.asarray(hidden, dtype=np.float64)
    if h.ndim not in (2, 3):
        raise RnnvizError(f"pca_trajectory needs hidden of shape (L, H) or (N, L, H), got {h.shape}")
    H = h.shape[-1]
    X = h.reshape(-1, H)  # (M, H)
    finite_rows = np.all(np.isfinite(X), axis=1)
    components = np.zeros((H, k))
    ratio = np.zeros(k)
    mean = np.zeros(H)
    if finite_rows.any():
        Xf = X[finite_rows]
        mean = Xf.mean(axis=0)
        _, S, Vt = np.linalg.svd(Xf - mean, full_matrices=False)
        n = min(k, Vt.shape[0])
        V = Vt[:n].T  # (H, n)
        biggest = np.argmax(np.abs(V), axis=0)
        V = V * np.where(V[biggest, np.arange(n)] < 0, -1.0, 1.0)
        components[:, :n] = V
        total = float(np.sum(S**2))
        if total > 0:
            ratio[:n] = S[:n] ** 2 / total
    projected = np.full((X.shape[0], k), np.nan)
    projected[finite_rows] = (X[finite_rows] - mean) @ components
    return PcaProjection(projected.reshape(*h.shape[:-1], k), ratio)


# --------------------------------------------------------------------------------------
# Maths behind the Learn page's live widgets
# --------------------------------------------------------------------------------------


def jacobian_product(sigma_max: float, T: int, gamma: float = 1.0) -> np.ndarray:
    """(gamma * sigma_max)^n for n = 0 .. T: the bound on a product of n step Jacobians.

    Each step Jacobian diag(phi'(a_k)) W_hh has norm <= gamma sigma_max (sigma_max the largest singular
    value of W_hh), so n of them scale the gradient by at most (gamma sigma_max)^n: for sure vanishing
    when gamma sigma_max < 1. Returns float64 (T+1,), index n. Same maths as :func:`theory_bound`, read
    forwards.
    """
    return theory_bound(sigma_max, gamma, T + 1)[::-1].copy()


def example_jacobian_powers(sigma_max: float, rho: float, T: int, gamma: float = 1.0) -> np.ndarray:
    """||(gamma W)^n||_2 for n = 0 .. T, W the 2 x 2 matrix with spectral radius rho and largest singular
    value sigma_max (sigma_max >= rho >= 0):

        W = [[rho, c], [0, rho]],  c = sigma_max - rho^2 / sigma_max,   W^n = [[rho^n, n c rho^(n-1)], [0, rho^n]]

    and ||[[a, b], [0, a]]||_2 = (|b| + sqrt(b^2 + 4 a^2)) / 2, so ||W|| = sigma_max exactly, while
    ||W^n||^(1/n) -> rho (Gelfand's formula): with rho < 1 < sigma_max the product first grows, then
    shrinks at the long-run rate rho per step. Returns float64 (T+1,) (inf where it overflows).
    """
    if not sigma_max >= rho >= 0:
        raise RnnvizError(f"example_jacobian_powers needs sigma_max >= rho >= 0, got sigma_max={sigma_max}, "
                          f"rho={rho}")
    n = np.arange(T + 1, dtype=np.float64)
    c = sigma_max - rho**2 / sigma_max if sigma_max > 0 else 0.0
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        a = np.power(float(rho), n)
        b = n * c * np.power(float(rho), np.maximum(n - 1, 0))
        norms = (np.abs(b) + np.sqrt(b**2 + 4 * a**2)) / 2 * np.power(float(gamma), n)
    return np.where(np.isnan(norms), np.inf, norms)


class Clipped(NamedTuple):
    """Result of :func:`clip_by_norm`: the clipped vector, its norm before, the scale applied."""

    clipped: np.ndarray
    norm: float
    scale: float


def clip_by_norm(g: np.ndarray, threshold: float) -> Clipped:
    """Gradient-norm clipping (Pascanu et al. 2013):

        if ||g|| > theta:  g <- theta * g / ||g||     (direction kept, length capped at theta)

    Returns the clipped vector, ||g|| before clipping and the scale factor min(1, theta/||g||).
    A non-finite g cannot be rescaled and comes back as nan with scale nan.
    """
    if not threshold > 0:
        raise RnnvizError(f"clipping threshold must be > 0, got {threshold}")
    g = np.asarray(g, dtype=np.float64)
    norm = float(np.linalg.norm(g))
    if not math.isfinite(norm):
        return Clipped(np.full_like(g, np.nan), norm, math.nan)
    scale = 1.0 if norm <= threshold else threshold / norm
    return Clipped(g * scale, norm, scale)


def nonlinearity_curves(x: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """The three nonlinearities and their slopes, for the "sigmoid_tanh" widget.

    sigma(x) = 1/(1+e^{-x}),  sigma'(x) = sigma(x)(1 - sigma(x)) <= 1/4
    tanh(x),                  tanh'(x) = 1 - tanh(x)^2           <= 1
    relu(x) = max(0, x),      relu'(x) = [x > 0]                  <= 1
    Returns {name: {"value": (n,), "slope": (n,)}}; the bounds are NONLINEARITY_GAMMA.
    """
    x = np.asarray(x, dtype=np.float64)
    sig = 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free sigmoid
    th = np.tanh(x)
    return {
        "sigmoid": {"value": sig, "slope": sig * (1.0 - sig)},
        "tanh": {"value": th, "slope": 1.0 - th**2},
        "relu": {"value": np.maximum(x, 0.0), "slope": (x > 0).astype(np.float64)},
    }


# --------------------------------------------------------------------------------------
# Jacobian norms live in rnnviz.jacobian (torch); re-exported lazily so this module stays
# importable without torch.
# --------------------------------------------------------------------------------------


def jacobian_norms(*args, **kwargs):
    """||dh_T/dh_t||_2 for every t (and ||dc_T/dc_t||_2 for LSTM); see rnnviz.jacobian."""
    from rnnviz.jacobian import jacobian_norms as _jacobian_norms

    return _jacobian_norms(*args, **kwargs)


def __getattr__(name: str):
    if name == "JacobianNorms":
        from rnnviz.jacobian import JacobianNorms

        return JacobianNorms
    raise AttributeError(f"module 'rnnviz.analysis' has no attribute {name!r}")
