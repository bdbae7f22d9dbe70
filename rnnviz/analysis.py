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
