"""Instruments: short notes in plain words, each computed from the run's own recorded numbers.

One table, :data:`INSTRUMENTS`: a row names the instrument, the pages that show it and its reading
function ``read(run: Run) -> str | None`` (None: nothing worth saying, the note stays silent).
:func:`notes` runs a page's rows. Every sentence names the quantity it reads and the step it was
read at, and says nothing the numbers do not show (no causes). The Gradient-flow verdict (vanishing,
preserved, exploding; :func:`rnnviz.flow.read_flow`) is not repeated here: these notes add what it
does not say (how far back the gradient survives, the carry path's gate product, clipping, the
spectrum's two numbers, saturated units, the loss against the baseline). NumPy only.

Thresholds (one place each): ``DEPTH_FRACTION`` (1e-6 of the gradient's value at the last step),
``CLIP_WINDOW`` (100 steps), ``SATURATED`` (|h| > 0.99), ``BASELINE_BAND`` (within 5% of the
baseline or above it) for at least ``BASELINE_MIN_STEPS`` (50) steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnviz import cells
from rnnviz.analysis import format_ratio

#: The gradient-depth note fires when ||dL/dh_t|| falls below this fraction of its value at the last step.
DEPTH_FRACTION = 1e-6
#: The clipping note reads the last this many steps.
CLIP_WINDOW = 100
#: A unit is saturated at a timestep when |h_t| is above this.
SATURATED = 0.99
#: "At the baseline": the loss is above (1 - BASELINE_BAND) x the baseline loss ...
BASELINE_BAND = 0.05
#: ... for at least this many consecutive steps up to the newest.
BASELINE_MIN_STEPS = 50
#: The carry path of each gated cell: the gate that multiplies the previous state on its own path.
#: LSTM c_t = f_t c_{t-1} + i_t g_t, so dc_t/dc_{t-1} along c alone is diag(f_t); GRU h_t = (1 - z_t) n_t +
#: z_t h_{t-1}, so the term of dh_t/dh_{t-1} that skips the candidate is diag(z_t).
CARRY = {"lstm": ("f", "c", "the cell's own path c_(t−1) → c_t"),
         "gru": ("z", "h", "the update path h_(t−1) → h_t (the term z_t·h_(t−1))")}


@dataclass(frozen=True)
class Run:
    """What an instrument reads: the history, its config, the task's baseline loss (None if unknown), the
    training step shown (None: the newest) and the layer and direction shown (0-based)."""

    history: object  # RunHistory
    config: object  # ExperimentConfig
    baseline: float | None = None
    step: int | None = None
    layer: int = 0
    direction: int = 0

    def record(self, full: bool = False):
        """The recorded step shown (nearest at or before ``step``); None when nothing is recorded."""
        h = self.history
        steps = h.full_steps() if full else h.recorded_steps()
        if not len(steps):
            return None
        return h.record_at(int(steps[-1]) if self.step is None else int(self.step), full=full)

    def where(self) -> str:
        """"layer 2, backward" when there is more than one layer or direction to tell apart, else ""."""
        parts = [f"layer {self.layer + 1}"] if self.config.num_layers > 1 else []
        parts += ["backward" if self.direction else "forward"] if self.config.bidirectional else []
        return ", ".join(parts)


def _at(rec, run: Run) -> str:
    where = run.where()
    return f"training step {rec.step}" + (f", {where}" if where else "")


def gradient_depth(run: Run) -> str | None:
    """How many steps back ||dL/dh_t|| first falls below DEPTH_FRACTION of its value at the last step
    (t = T; t = 1 for the backward direction) of the recorded training-batch curve. Silent when it never
    does, or when the value at the last step is 0 or not finite."""
    rec = run.record()
    if rec is None or rec.grad_norms is None:
        return None
    g = np.asarray(rec.grad_norms[run.layer, run.direction], dtype=np.float64)
    back = g[::-1] if run.direction == 0 else g  # processing order reversed: from the last step backwards
    end = back[0]
    if not (np.isfinite(end) and end > 0):
        return None
    below = np.flatnonzero(back < DEPTH_FRACTION * end)
    if not below.size:
        return None
    k = int(below[0])
    t = len(g) - k if run.direction == 0 else k + 1
    last = "t=T" if run.direction == 0 else "t=1"
    zero = " (to exactly 0)" if back[k] == 0 else ""
    return (f"The gradient ||dL/dh_t|| falls below {format_ratio(DEPTH_FRACTION)} of its value at {last} "
            f"{k} step{'s' if k != 1 else ''} back (at t={t}){zero} ({_at(rec, run)}).")


def clipping(run: Run) -> str | None:
    """The share of the last CLIP_WINDOW steps on which gradient clipping changed the gradient. Silent
    without clipping or when it never fired in that window."""
    cfg = run.config
    if cfg.clip == "none" or not len(run.history):
        return None
    steps = np.asarray(run.history.steps)
    clipped = np.asarray(run.history.scalars["clipped"], dtype=bool)
    if run.step is not None:
        keep = steps <= run.step
        steps, clipped = steps[keep], clipped[keep]
    window = clipped[-CLIP_WINDOW:]
    if not window.any():
        return None
    t = f"{cfg.clip_threshold:g}"
    how = (f"the gradient norm ||g|| was above {t} and was rescaled to {t}" if cfg.clip == "norm"
           else f"some gradient entry was outside ±{t} and was cut to ±{t}")
    last = f"the last {len(window)} steps" if len(window) > 1 else "the only step"
    n = int(window.sum())
    return (f"Clipping fired on {window.mean():.0%} of {last} ({n} of them, up to step {int(steps[-1])}): "
            f"there {how}.")


def carry_path(run: Run) -> str | None:
    """LSTM: the forget gates' mean, and the product of f_t along the cell's own path from t=1 to t=T,
    averaged over units and probe sequences (the factor a gradient keeps along c alone); GRU: the same for
    the update gate z. Read on the probe sequences of the full record shown. Silent for a plain RNN."""
    carry = CARRY.get(run.config.cell)
    rec = run.record(full=True)
    if carry is None or rec is None or not rec.gates:
        return None
    gate, _, path = carry
    v = np.asarray(rec.gates[gate][run.layer, run.direction], dtype=np.float64)  # (P, L, H)
    if not np.isfinite(v).all():
        return None
    L = v.shape[1]
    later = v[:, 1:] if run.direction == 0 else v[:, :-1]  # the L - 1 factors after the first processed step
    kept = np.prod(later, axis=1).mean()  # mean over probe sequences and units
    label = cells.get(run.config.cell).gate_labels[gate]
    return (f"{label.capitalize()} gates {gate}_t average {v.mean():.2f} on the probe sequences; along {path}, "
            f"×{gate}_t per step, a unit keeps on average {_percent(kept)} of a gradient across the {L - 1} steps "
            f"from one end of the sequence to the other (the product of its {gate}_t; {_at(rec, run)}).")


def _percent(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 else f"{format_ratio(share)} (as a fraction)"


def saturated_units(run: Run) -> str | None:
    """Units saturated (|h_t| > SATURATED) on every timestep of every probe sequence; for a ReLU RNN, units
    at exactly 0 on every timestep (off throughout). Silent when there are none."""
    rec = run.record(full=True)
    if rec is None or rec.hidden is None:
        return None
    h = np.asarray(rec.hidden[run.layer, run.direction], dtype=np.float32)  # (P, L, H)
    P, _, H = h.shape
    seqs = f"all {P} probe sequences" if P > 1 else "the probe sequence"
    if cells.get(run.config.cell).nonlinearity == "relu":
        n = int((h == 0).all(axis=(0, 1)).sum())
        what = "are 0 (the ReLU is off)"
    else:
        n = int((np.abs(h) > SATURATED).all(axis=(0, 1)).sum())
        what = f"are saturated (|h| > {SATURATED:g})"
    if n == 0:
        return None
    units = f"{n} of the {H} units" if n > 1 else f"1 of the {H} units"
    verb = what if n > 1 else what.replace("are ", "is ", 1)
    return f"{units} {verb} on every timestep of {seqs} ({_at(rec, run)})."


def at_baseline(run: Run) -> str | None:
    """How long the loss has stayed at the task's baseline (above (1 - BASELINE_BAND) x the baseline loss),
    counted back from the newest step; silent under BASELINE_MIN_STEPS steps, without a baseline, or when
    the newest loss is below the band."""
    if run.baseline is None or not np.isfinite(run.baseline) or not len(run.history):
        return None
    loss = np.asarray(run.history.scalars["loss"], dtype=np.float64)
    steps = np.asarray(run.history.steps)
    at = loss >= (1 - BASELINE_BAND) * run.baseline  # nan (diverged) is not at the baseline
    off = np.flatnonzero(~at)
    n = len(at) - (int(off[-1]) + 1 if off.size else 0)
    if n < BASELINE_MIN_STEPS:
        return None
    base = f"the baseline {run.baseline:.3g}"
    if n == len(at):
        return (f"The loss has been at {base} or above for all {n} steps so far (within {BASELINE_BAND:.0%}): the "
                f"network does no better than the baseline predictor yet.")
    return (f"The loss has been back at {base} or above (within {BASELINE_BAND:.0%}) for the last {n} steps, "
            f"since step {int(steps[len(at) - n])}, after it had been lower.")


def spectrum(run: Run) -> str | None:
    """Plain RNN: sigma_max(W_hh) with the per-step bound gamma sigma_max, and the spectral radius rho (the
    long-run rate per step of W_hh^n), from the record shown. Silent for gated cells (no single W_hh carries
    h_{t-1} -> h_t) or without a recorded spectrum."""
    c = cells.get(run.config.cell)
    rec = run.record()
    if c.gates or rec is None or rec.singular_values is None or rec.eigenvalues is None:
        return None
    s = float(np.max(rec.singular_values[run.layer, run.direction, 0]))
    rho = float(np.max(np.abs(rec.eigenvalues[run.layer, run.direction, 0])))
    if not (np.isfinite(s) and np.isfinite(rho)):
        return None
    bound = c.gamma * s
    grow = "can grow" if bound > 1 else "cannot grow"
    return (f"σ_max(W_hh) = {s:.3g}: one backward step through the recurrence (∂h_t/∂h_(t−1)) multiplies a "
            f"gradient's norm by at most γσ_max = {bound:.3g} (γ = {c.gamma:g}), so it {grow} there; the spectral "
            f"radius ρ(W_hh) = {rho:.3g} is the long-run rate per step of W_hh^n alone ({_at(rec, run)}).")


@dataclass(frozen=True)
class Instrument:
    """One row of the table: a name, the pages that show it, and its reading."""

    name: str
    pages: frozenset[str]
    read: Callable[[Run], str | None]


#: Page keys: playground, hidden, gates, flow (as the pages' widget keys).
INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("at baseline", frozenset({"playground"}), at_baseline),
    Instrument("clipping", frozenset({"playground", "flow"}), clipping),
    Instrument("gradient depth", frozenset({"playground", "flow"}), gradient_depth),
    Instrument("spectrum", frozenset({"flow"}), spectrum),
    Instrument("carry path", frozenset({"flow", "gates", "hidden"}), carry_path),
    Instrument("saturated units", frozenset({"hidden", "gates"}), saturated_units),
)
PAGES = frozenset().union(*(i.pages for i in INSTRUMENTS))


def notes(page: str, run: Run) -> list[str]:
    """The notes of ``page`` that have something to say about ``run``, in table order."""
    return [text for i in INSTRUMENTS if page in i.pages and (text := i.read(run)) is not None]
