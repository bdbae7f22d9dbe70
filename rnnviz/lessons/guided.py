"""Guided lessons: set up, predict, run, reveal, explain. One row of :data:`GUIDED` per lesson.

Each lesson

- **sets up** a preset (``rnnviz.config.PRESETS``) or a config it defines (:attr:`Guided.config`);
- asks a multiple-choice **prediction** (:attr:`Guided.choices`);
- **runs** ``steps`` training steps (steps 0 .. steps-1) of that config;
- **reveals** the outcome with :attr:`Guided.reveal`, a pure function ``(history) -> Outcome`` that reads the
  run's own numbers and picks the choice they show (never stored text);
- **explains** it in one paragraph with the equation and the run's numbers (:attr:`Guided.explain`).

``answer`` is the choice the lesson says will happen: tests/test_guided.py runs every lesson's config for
seeds 0-4 over its steps and asserts that ``reveal`` picks ``answer`` each time. ``questions`` are the
learner questions of docs/QUESTIONS.md the lesson answers; ``figure`` is the live figure of the current run
the Learn page draws (:data:`FIGURES`), ``widget`` an optional widget (``rnnviz.lessons.widgets``) and
``reading`` the texts (``rnnviz.lessons.texts``) shown under "Read more".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rnnviz import cells
from rnnviz.config import PRESETS, ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.presets import quote_number

#: The live figures of the current run a lesson can show (the Learn page maps each to a rnnviz.plots builder).
FIGURES = ("loss", "grad_norm", "gradient_flow", "cell_vs_hidden", "hidden", "gates")
#: The Run step plays at most this many steps (small configs: a few seconds on one core).
MAX_LESSON_STEPS = 300
#: The figures that show one training step; the others ("loss", "grad_norm") are curves over every step played.
STEP_FIGURES = ("gradient_flow", "cell_vs_hidden", "hidden", "gates")
#: The training step every one-step reveal rule reads (the untrained network); a lesson with a one-step
#: figure shows this step, so the figure and the reveal speak of the same step (tests/test_guided.py checks
#: that those rules read no other step).
REVEAL_STEP = 0


@dataclass(frozen=True)
class Outcome:
    """What the run shows: the choice its numbers pick (None: not measurable on this run) and the numbers."""

    choice: int | None
    measured: str


@dataclass(frozen=True)
class Guided:
    """One guided lesson (see the module docstring)."""

    key: str
    title: str
    questions: tuple[int, ...]
    setup: str | ExperimentConfig
    predict: str
    choices: tuple[str, ...]
    answer: int
    steps: int
    reveal: Callable[..., Outcome]
    explain: Callable[..., str]
    figure: str
    widget: str | None = None
    reading: tuple[str, ...] = ()

    @property
    def config(self) -> ExperimentConfig:
        return PRESETS[self.setup].config if isinstance(self.setup, str) else self.setup

    @property
    def preset(self) -> str | None:
        return self.setup if isinstance(self.setup, str) else None

    @property
    def figure_step(self) -> int | None:
        """The training step the lesson's figure shows and its reveal reads (None: a curve over every step)."""
        return REVEAL_STEP if self.figure in STEP_FIGURES else None


# ------------------------------------------------------------------------------------------ helpers
def num(x: float) -> str:
    """A measured number in a sentence: 3 significant figures, ``2.7e-12``, ``inf``, ``nan``."""
    x = float(x)
    if not math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    return quote_number(float(f"{x:.3g}"))


def _band(value: float, edges: tuple[float, ...]) -> int | None:
    """Index of the band ``value`` falls in: ``edges`` ascending split the line into len(edges)+1 bands."""
    if not math.isfinite(value):
        return None
    return int(np.searchsorted(np.asarray(edges, dtype=np.float64), value, side="right"))


def _record(history, step: int, full: bool = False):
    rec = history.record_at(step, full=full)
    if rec is None:
        raise RnnvizError(f"the run must have step {step} recorded, got none (play the lesson's run first)")
    return rec


def _ratio(norms) -> float:
    g = np.asarray(norms, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = g[0] / g[-1]
    return float(r) if np.isfinite(r) else math.nan


@lru_cache(maxsize=32)
def _task(config: ExperimentConfig):
    from rnnviz.tasks import make_task  # torch only when a lesson needs a baseline

    return make_task(config)


def baseline(history) -> float:
    """The task's baseline loss (the best predictor without memory) for the run's config."""
    return float(_task(history.config).baseline_loss)


def _last_mean(history, name: str, n: int = 20) -> tuple[float, int]:
    """Mean of a scalar over the run's last ``n`` steps, and the last step."""
    s = history.scalars
    return float(np.mean(np.asarray(s[name][-n:], dtype=np.float64))), int(s["step"][-1])


RATIO_CHOICES = ("more than 10% of it", "between a millionth and 10%", "less than a millionth (1e-6)")
RATIO_EDGES = (1e-6, 0.1)


def _ratio_choice(r: float) -> int | None:
    band = _band(r, RATIO_EDGES)
    return None if band is None else 2 - band  # bands ascend; the choices descend


# ------------------------------------------------------------------------------------------ reveal rules
def reveal_units_change(history) -> Outcome:
    """On how many of the T-1 steps t = 2..T does h_t differ from h_{t-1} (any unit by more than 1e-3)?"""
    h = _record(history, REVEAL_STEP, full=True).hidden[0, 0, 0].astype(np.float64)  # (L, H), probe sequence 1
    changed = int((np.abs(np.diff(h, axis=0)).max(axis=1) > 1e-3).sum())
    T = h.shape[0]
    choice = 0 if changed == T - 1 else (2 if changed == 0 else 1)
    return Outcome(choice, f"h_t changed on **{changed} of the {T - 1}** steps t = 2..{T} of probe sequence 1 "
                           f"(step 0, largest change of one unit {num(np.abs(np.diff(h, axis=0)).max())}).")


def param_counts(history) -> tuple[int, int]:
    """(RNN weights, weights of a one-hidden-layer feed-forward net of the same width reading all L inputs).

    RNN: G H (I + H) + 2 G H + (H O + O); feed-forward: L I H + H + (H O + O); G = gate blocks, I = inputs
    per step (from the probe), O = outputs, L = sequence length."""
    c = history.config
    G = len(history.gate_names) or 1
    I = int(history.probe["x"].shape[-1])  # noqa: E741 - the input size, as in the equations
    O = int(_task(c).output_size)
    H, L = c.hidden_size, c.length
    head = H * O + O
    return G * H * (I + H) + 2 * G * H + head, L * I * H + H + head


def reveal_param_counts(history) -> Outcome:
    rnn, ff = param_counts(history)
    choice = _band(rnn / ff, (0.5, 2.0))
    return Outcome(choice, f"The RNN has **{rnn:,}** weights for any length; the feed-forward net for "
                           f"T = {history.config.length} needs **{ff:,}** (ratio {num(rnn / ff)}).")


def reveal_recurrent_blocks(history) -> Outcome:
    blocks = [b for b in history.param_blocks if b.startswith("W_h")]
    return Outcome(len(blocks) - 1 if 1 <= len(blocks) <= 4 else None,
                   f"The run's {history.config.cell.upper()} has **{len(blocks)}** H×H recurrent blocks: "
                   f"{', '.join(blocks)}.")


def reveal_mask(history) -> Outcome:
    mask = np.asarray(history.probe["mask"])  # (P, L)
    counted = int(mask[0].sum())
    L = mask.shape[1]
    last_only = counted == 1 and bool(mask[0, -1])
    choice = 1 if last_only else (0 if counted == L else 2)
    return Outcome(choice, f"The mask of probe sequence 1 counts **{counted} of its {L}** outputs "
                           f"({'the last step' if last_only else 'see the steps'}).")


def reveal_step0_ratio(history) -> Outcome:
    r = _ratio(_record(history, REVEAL_STEP).grad_norms[0, 0])
    return Outcome(_ratio_choice(r), f"At step 0, ||dL/dh_1|| / ||dL/dh_T|| = **{num(r)}**.")


def reveal_cell_ratio(history) -> Outcome:
    rec = _record(history, REVEAL_STEP)
    if rec.cell_grad_norms is None:
        return Outcome(None, "This run has no cell state (it is not an LSTM).")
    r = _ratio(rec.cell_grad_norms[0, 0])
    return Outcome(_ratio_choice(r), f"At step 0, ||dL/dc_1|| / ||dL/dc_T|| = **{num(r)}** along the cell "
                                     f"state (the hidden path: {num(_ratio(rec.grad_norms[0, 0]))}).")


def reveal_divergence(history) -> Outcome:
    s = history.scalars
    status = history.status or {}
    g = np.asarray(s["grad_norm"], dtype=np.float64)
    finite = g[np.isfinite(g)]
    top = num(finite.max()) if len(finite) else "nan"
    if status.get("state") == "diverged":
        return Outcome(1, f"The run **diverged at step {status.get('diverged_step')}** (largest finite "
                          f"||g|| {top}).")
    clipped = np.asarray(s["grad_norm_clipped"], dtype=np.float64)
    c = history.config
    capped = c.clip == "norm" and bool(np.all(clipped <= c.clip_threshold * (1 + 1e-5)))
    loss, last = _last_mean(history, "loss")
    text = (f"No divergence in steps 0-{last}; the largest ||g|| before clipping was **{top}**"
            + (f", every update used at most θ = {num(c.clip_threshold)}" if capped else "")
            + f"; mean loss of the last 20 steps {num(loss)} (baseline {num(baseline(history))}).")
    return Outcome(2 if capped else 0, text)


def reveal_negative_gates(history) -> Outcome:
    gates = _record(history, REVEAL_STEP, full=True).gates
    if not gates:
        return Outcome(None, "This run's cell has no gates.")
    lows = {g: float(np.min(v.astype(np.float64))) for g, v in gates.items()}
    negative = [g for g, lo in lows.items() if lo < 0]
    choice = 1 if negative == ["g"] else (0 if len(negative) == len(lows) else (2 if not negative else None))
    return Outcome(choice, "Smallest value of each gate at step 0: "
                   + ", ".join(f"{g} **{num(lo)}**" for g, lo in lows.items()) + ".")


def reveal_backward_gradient(history) -> Outcome:
    g = _record(history, REVEAL_STEP).grad_norms
    if g.shape[1] < 2:
        return Outcome(None, "This run is not bidirectional.")
    fwd, bwd = float(g[0, 0, 0]), float(g[0, 1, 0])
    choice = 0 if bwd == 0 else (1 if bwd < fwd else 2)
    nonzero = np.flatnonzero(g[0, 1]) + 1
    where = ", ".join(str(t) for t in nonzero[:5]) or "none"
    return Outcome(choice, f"At step 0, t = 1: forward ||dL/dh_1|| = **{num(fwd)}**, backward **{num(bwd)}** "
                           f"(the backward direction's gradient is non-zero at t = {where}).")


def reveal_beats_baseline(history) -> Outcome:
    """Mean loss of the last 20 steps over the task's baseline: <0.5 learned, 0.5..2 at the baseline."""
    loss, last = _last_mean(history, "loss")
    ratio = loss / baseline(history)
    choice = _band(ratio, (0.5, 2.0))
    return Outcome(choice, f"Mean loss over the last 20 steps (to step {last}): **{num(loss)}**, "
                           f"**{num(ratio)}** × the baseline {num(baseline(history))}.")


def reveal_bits_per_char(history) -> Outcome:
    """Loss in bits per character (mean of the last 20 steps) against uniform guessing and letter frequencies."""
    loss, last = _last_mean(history, "loss")
    bits = loss / math.log(2)
    uniform, unigram = uniform_bits(history), unigram_bits(history)
    choice = 0 if bits >= uniform else (1 if bits >= unigram else 2)
    return Outcome(choice, f"At step {last}: **{num(bits)} bits/char**; uniform guessing {num(uniform)}, "
                           f"letter frequencies (unigram) {num(unigram)}.")


def uniform_bits(history) -> float:
    return math.log2(len(_task(history.config).vocab))


def unigram_bits(history) -> float:
    """Entropy of the corpus's character frequencies, in bits: the best predictor that ignores the past."""
    ids = _task(history.config).ids.numpy()
    p = np.bincount(ids).astype(np.float64)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log2(p)).sum())


def reveal_variance_explained(history) -> Outcome:
    metric, last = _last_mean(history, "metric")
    choice = _band(metric, (0.1, 0.8))
    return Outcome(choice, f"Variance explained over the last 20 steps (to step {last}): **{num(metric)}** "
                           f"(always predicting 0 scores 0).")


# ------------------------------------------------------------------------------------------ explanations
def _h_equation(history) -> str:
    c = history.config
    I = int(history.probe["x"].shape[-1])  # noqa: E741
    return (rf"$h_t = \tanh(W_{{ih}} x_t + b_{{ih}} + W_{{hh}} h_{{t-1}} + b_{{hh}})$ "
            rf"with $x_t \in \mathbb{{R}}^{{{I}}}$, $h_t \in \mathbb{{R}}^{{{c.hidden_size}}}$ and $t = 1..{c.length}$")


def explain_hidden_state(history) -> str:
    h = _record(history, REVEAL_STEP, full=True).hidden[0, 0, 0].astype(np.float64)
    return (f"An RNN reads one time step at a time: {_h_equation(history)}. The same weights are used at every "
            f"step, and $h_t$ is all the network keeps about the past: here {history.config.hidden_size} "
            f"numbers, with mean $|h_t|$ = {num(np.abs(h).mean())} on probe sequence 1. Because $x_t$ and "
            f"$h_{{t-1}}$ both enter every step, $h_t$ moves at every step, marked or not: the heatmap shows each "
            f"unit (row) over time (columns).")


def explain_params(history) -> str:
    rnn, ff = param_counts(history)
    c = history.config
    return (f"A feed-forward network gives every input position its own weights, so reading T = {c.length} "
            f"steps at once needs {ff:,} of them, and a longer sequence needs more. The RNN reuses "
            f"{_h_equation(history)} at every step: {rnn:,} weights for any T, and the order of the inputs "
            f"matters because $h_t$ depends on $h_{{t-1}}$. The price is depth: the gradient to step 1 "
            f"passes through all {c.length} steps (the gradient-flow plot).")


def explain_blocks(history) -> str:
    c = history.config
    G = len(history.gate_names) or 1
    return (f"Every cell type is the same loop $h_t = f(x_t, h_{{t-1}})$; they differ in $f$. A tanh RNN has one "
            f"recurrent block $W_{{hh}}$; the LSTM has one per gate (i, f, g, o: $c_t = f_t \\odot c_{{t-1}} + "
            f"i_t \\odot g_t$, $h_t = o_t \\odot \\tanh(c_t)$) and the GRU three (r, z, n). This {c.cell.upper()} "
            f"with H = {c.hidden_size} has {G} blocks of {c.hidden_size}×{c.hidden_size} = "
            f"{G * c.hidden_size ** 2:,} recurrent weights. Stacking layers (num_layers) and reading both ways "
            f"(bidirectional) are the other architecture choices.")


def explain_mask(history) -> str:
    mask = np.asarray(history.probe["mask"])
    return (r"The loss is a masked mean, $\mathcal{L} = \sum_{n,t} m_{n,t}\,\ell_{n,t} / \sum_{n,t} m_{n,t}$: "
            f"here $m$ is 1 on {int(mask.sum())} of the {mask.size} probe positions, so the other outputs give "
            f"no loss and no gradient. Padding works the same way: sequences of different lengths are "
            f"filled to one length L = {mask.shape[1]} and the padded steps get $m = 0$.")


def explain_vanishing(history) -> str:
    rec = _record(history, REVEAL_STEP)
    sv = rec.singular_values[0, 0, 0].astype(np.float64)
    ev = np.abs(rec.eigenvalues[0, 0, 0].astype(np.complex128))
    r = _ratio(rec.grad_norms[0, 0])
    T = history.config.length
    gamma = cells.get(history.config.cell).gamma
    bound = gamma * sv.max()
    says = ("below 1, so every step shrinks the gradient for sure" if bound < 1 else
            "not below 1, so that bound promises nothing here")
    return (r"Each step back multiplies the gradient by $\mathrm{diag}(\phi'(a_k))\,W_{hh}$, whose norm is at most "
            rf"$\gamma\,\sigma_{{\max}}$ (every step). Here $\gamma\,\sigma_{{\max}}(W_{{hh}})$ = {num(bound)}, "
            rf"{says}; the spectral radius $\rho$ = {num(ev.max())} is the long-run rate per step: "
            rf"$\rho^{{{T - 1}}}$ = "
            f"{num(ev.max() ** (T - 1))}. The measured ratio at step 0 is {num(r)}: the first steps get "
            f"almost no learning signal, so the network cannot learn that an early input matters.")


def explain_explosion(history) -> str:
    s = history.scalars
    g = np.asarray(s["grad_norm"], dtype=np.float64)
    finite = g[np.isfinite(g)]
    c = history.config
    clip = (rf"Clipping rescales $g \leftarrow \theta\, g/\|g\|$ when $\|g\| > \theta = {num(c.clip_threshold)}$: "
            "the direction stays, the step length is capped, so the run goes on."
            if c.clip == "norm" else "Without clipping one such update throws the weights away.")
    return (rf"With $\rho(W_{{hh}})$ = {c.rho:g} > 1 the product of Jacobians grows in the long run, by about $\rho$ "
            f"per step while units are not saturated. Here ||g|| reached {num(finite.max()) if len(finite) else 'nan'} "
            f"within {len(g)} steps. {clip}")


def explain_gates(history) -> str:
    gates = _record(history, REVEAL_STEP, full=True).gates
    means = ", ".join(f"{g} {num(np.mean(v.astype(np.float64)))}" for g, v in gates.items())
    return (r"The LSTM writes with $c_t = f_t \odot c_{t-1} + i_t \odot g_t$ and reads $h_t = o_t \odot \tanh(c_t)$. "
            r"$i, f, o$ are sigmoids in (0, 1): how much to write, keep and show; $g = \tanh(\dots)$ in (-1, 1) is "
            f"what to write, so only it can be negative. Mean values at step 0: {means}.")


def explain_cell_path(history) -> str:
    rec = _record(history, REVEAL_STEP, full=True)
    f = float(np.mean(rec.gates["f"].astype(np.float64))) if "f" in rec.gates else math.nan
    T = history.config.length
    return (r"Along the cell state one step back multiplies the gradient by $\partial c_t/\partial c_{t-1} = "
            r"\mathrm{diag}(f_t)$ (plus indirect paths): no $W_{hh}$, no tanh slope. The mean forget gate here is "
            rf"{num(f)}, and ${num(f)}^{{{T - 1}}}$ = {num(f ** (T - 1))}: chrono init opens the gates from the "
            f"start. With PyTorch's default bias f ≈ 0.5 and the cell path vanishes too.")


def explain_gru(history) -> str:
    rec = _record(history, REVEAL_STEP, full=True)
    z = rec.gates["z"].astype(np.float64) if "z" in rec.gates else np.array([math.nan])
    return (r"The GRU has no separate forget gate: $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$, so the update "
            rf"gate $z_t$ plays its role and keeps the state (and its gradient) where $z_t \approx 1$. Untrained, the "
            f"mean z is {num(z.mean())} and {num(100 * (z > 0.9).mean())}% of the gates are above 0.9: like "
            f"the tanh RNN, it keeps little gradient over {history.config.length} steps at first and must learn "
            f"to open $z$ (the GRU preset does, within 500 steps).")


def explain_bidirectional(history) -> str:
    T = history.config.length
    return (r"A bidirectional RNN runs a second RNN from $t = T$ back to 1 and concatenates, $h_t = "
            r"[\overrightarrow{h}_t; \overleftarrow{h}_t]$. Here the answer is read only at "
            rf"t = {T}, where $\overleftarrow{{h}}_{{{T}}}$ has seen only $x_{{{T}}}$: the loss reaches the backward "
            f"states at no other step, so its gradient is exactly 0 for t < {T}. The backward direction helps "
            "only when outputs are read at many steps (tagging); it needs the whole sequence first.")


def explain_language(history) -> str:
    loss, last = _last_mean(history, "loss")
    return (r"A character model predicts $p(x_{t+1} \mid x_{\le t})$ and is scored by the cross-entropy "
            rf"$-\frac{{1}}{{T}}\sum_t \log_2 p(x_{{t+1}})$ bits per character: here {num(loss / math.log(2))} at "
            f"step {last}. Guessing uniformly costs {num(uniform_bits(history))} bits; knowing only how often "
            f"each letter occurs, {num(unigram_bits(history))}. Below that, the model uses what it has read so "
            f"far: perplexity $2^{{\\text{{bits}}}}$ = {num(2 ** (loss / math.log(2)))} choices per character.")


def explain_forecast(history) -> str:
    metric, last = _last_mean(history, "metric")
    loss, _ = _last_mean(history, "loss")
    return (rf"Forecasting reads $x_1..x_t$ and predicts $x_{{t+1}}$ at every step; the loss is the mean squared "
            rf"error. Variance explained $1 - \mathrm{{MSE}}/\mathrm{{MSE}}_{{\text{{baseline}}}}$ compares it with "
            f"always predicting 0 (MSE {num(baseline(history))}): over the last 20 steps to step {last}, MSE "
            f"{num(loss)} and variance explained {num(metric)}. The order of the data is what is learned: the "
            "next value depends on the previous ones.")


def explain_limitations(history) -> str:
    rec = _record(history, REVEAL_STEP)
    T = history.config.length
    return (rf"$h_t$ needs $h_{{t-1}}$, so the {T} steps run one after another: no parallelism over time. And "
            rf"everything about the past must pass {T - 1} Jacobians: at step 0 this LSTM (default init) keeps "
            f"{num(_ratio(rec.grad_norms[0, 0]))} of the gradient from h_T at h_1 and "
            f"{num(_ratio(rec.cell_grad_norms[0, 0])) if rec.cell_grad_norms is not None else '–'} along the "
            r"cell state. Attention links any two steps directly (path length 1) at $O(T^2)$ cost.")


def explain_evaluation(history) -> str:
    loss, last = _last_mean(history, "loss")
    metric, _ = _last_mean(history, "metric")
    task = _task(history.config)
    return (f"A loss means little alone: compare it with the baseline, the best predictor without memory, "
            f"{task.baseline_note}, whose loss is {num(baseline(history))}. Over the last 20 steps to step "
            f"{last} the mean loss is {num(loss)} = {num(loss / baseline(history))} × the baseline, and the "
            f"{task.metric_name} {num(metric)} against the baseline's {num(task.baseline_metric)}.")


def explain_irnn(history) -> str:
    r = _ratio(_record(history, REVEAL_STEP).grad_norms[0, 0])
    return (r"With $W_{hh} = I$ and zero bias, $h_t = \mathrm{relu}(h_{t-1} + W_{ih} x_t)$: each active unit has "
            r"slope 1 and the identity has every eigenvalue at 1, so one step back multiplies the gradient of "
            f"an active unit by 1. At step 0 the measured ratio is {num(r)}. The price: relu states are unbounded, "
            "so the IRNN needs a small learning rate and clipping.")


# ------------------------------------------------------------------------------------------ the table
_SMALL = dict(task="adding", seq_len=20, hidden_size=16, batch_size=8)

GUIDED: list[Guided] = [
    Guided("hidden-state", "The hidden state, step by step", (1, 6, 7),
           ExperimentConfig(**_SMALL),
           "The adding problem marks two of the 20 inputs. In the untrained network, on how many steps does "
           "the hidden state h_t change?", ("at every step", "only at the two marked steps", "never"),
           0, 10, reveal_units_change, explain_hidden_state, "hidden", reading=("hidden-state",)),
    Guided("rnn-vs-feedforward", "RNN vs feed-forward: shared weights", (2, 3),
           ExperimentConfig(task="adding", seq_len=100, hidden_size=32, batch_size=8),
           "This RNN reads T = 100 steps with 32 units. Compared with a feed-forward net of the same width "
           "that reads all 100 inputs at once, how many weights does it have?",
           ("far fewer (less than half)", "about as many", "far more (more than twice)"),
           0, 10, reveal_param_counts, explain_params, "gradient_flow", reading=("rnn-vs-feedforward",)),
    Guided("architectures", "Cell types: RNN, LSTM, GRU", (5,),
           ExperimentConfig(cell="lstm", **_SMALL),
           "A tanh RNN has one recurrent weight matrix W_hh. How many H×H recurrent blocks does an LSTM have?",
           ("1", "2", "3", "4"), 3, 10, reveal_recurrent_blocks, explain_blocks, "gates", reading=("lstm",)),
    Guided("padding-masking", "Sequences of different lengths: the mask", (8,),
           ExperimentConfig(**_SMALL),
           "The adding problem asks for the sum only at the end. Of the 20 outputs of a sequence, how many "
           "count in the loss?", ("all 20", "only the last one", "the two marked ones"),
           1, 10, reveal_mask, explain_mask, "gradient_flow", reading=("padding-masking",)),
    Guided("vanishing", "Why gradients vanish", (10, 11), "vanishing-tanh",
           "A tanh RNN with W_hh at spectral radius 0.6 reads T = 50 steps. Before training, how much of the "
           "gradient at h_T reaches h_1?", RATIO_CHOICES, 2, 10, reveal_step0_ratio, explain_vanishing,
           "gradient_flow", widget="jacobian_product", reading=("bptt", "vanishing")),
    Guided("exploding", "Training challenges: exploding gradients", (9,), "exploding",
           "A tanh RNN with W_hh at spectral radius 3, no clipping. What happens within 30 steps?",
           ("it trains normally", "it diverges: the loss or gradient stops being finite",
            "it trains, every update capped"), 1, 30, reveal_divergence, explain_explosion, "grad_norm",
           widget="sigmoid_tanh", reading=("exploding",)),
    Guided("clipping", "Gradient clipping", (9,), "clipping-tames",
           "The same network with the gradient clipped to norm 1. What happens within 50 steps?",
           ("it trains normally, no update is capped", "it diverges all the same",
            "it keeps training; every update has length at most 1"), 2, 50, reveal_divergence, explain_explosion,
           "grad_norm", widget="clipping", reading=("clipping",)),
    Guided("lstm", "The LSTM's components", (15,), "lstm-remembers",
           "The LSTM has four gates i, f, g, o. Which of them can take negative values?",
           ("all four", "only g, the candidate", "none"), 1, 10, reveal_negative_gates, explain_gates, "gates",
           reading=("lstm",)),
    Guided("forget-bias", "How the LSTM fixes vanishing: the cell path", (14,), "forget-bias",
           "An LSTM with chrono forget-gate bias reads T = 50 steps. Before training, how much of the "
           "gradient at the cell state c_T reaches c_1?", RATIO_CHOICES, 0, 10, reveal_cell_ratio,
           explain_cell_path, "cell_vs_hidden", reading=("forget-bias",)),
    Guided("gru", "GRU vs RNN, and the GRU's 'forget gate'", (12, 13), "gru-remembers",
           "A GRU (PyTorch's default init) reads T = 50 steps. Before training, how much of the gradient at "
           "h_T reaches h_1?", RATIO_CHOICES, 2, 10, reveal_step0_ratio, explain_gru, "gates",
           reading=("gru",)),
    Guided("irnn", "A plain RNN that remembers: identity init", (11,), "irnn",
           "A relu RNN whose W_hh starts as the identity reads T = 50 steps. Before training, how much of the "
           "gradient at h_T reaches h_1?", RATIO_CHOICES, 0, 10, reveal_step0_ratio, explain_irnn,
           "gradient_flow", reading=("irnn",)),
    Guided("bidirectional", "Bidirectional RNNs", (16,),
           ExperimentConfig(bidirectional=True, **_SMALL),
           "A bidirectional RNN on the adding problem (the answer is read at the last step). How much gradient "
           "reaches the backward direction's state at t = 1?",
           ("exactly zero", "less than the forward direction's", "more than the forward direction's"),
           0, 10, reveal_backward_gradient, explain_bidirectional, "gradient_flow", reading=("bidirectional",)),
    Guided("language", "Language: a character model", (17,),
           ExperimentConfig(task="charlm", seq_len=30, hidden_size=32, batch_size=16, optimizer="adam", lr=1e-2),
           "A small tanh RNN reads the course notes character by character for 300 steps. Where does its "
           "loss end up?", ("no better than guessing uniformly", "better than uniform, not better than letter "
                            "frequencies", "better than letter frequencies: it uses the context"),
           2, 300, reveal_bits_per_char, explain_language, "loss", reading=("applications",)),
    Guided("forecasting", "Sequential data: forecasting a sine", (4, 18),
           ExperimentConfig(task="sine", seq_len=20, hidden_size=16, batch_size=16, optimizer="adam", lr=1e-2),
           "A small RNN learns to predict the next value of a noisy sum of sines for 200 steps. How much of "
           "the variance does it explain at the end?", ("almost none (below 0.1)", "some (0.1 to 0.8)",
                                                        "most of it (above 0.8)"),
           2, 200, reveal_variance_explained, explain_forecast, "loss", reading=("applications",)),
    Guided("limitations", "Limitations: long sequences", (19,),
           ExperimentConfig(cell="lstm", task="adding", seq_len=200, hidden_size=32, batch_size=8),
           "Even an LSTM (PyTorch's default init) reads T = 200 steps. Before training, how much of the "
           "gradient at h_T reaches h_1?", RATIO_CHOICES, 2, 10, reveal_step0_ratio, explain_limitations,
           "gradient_flow", reading=("limitations",)),
    Guided("evaluation", "Evaluation: against the baseline", (20, 10), "vanishing-tanh",
           "The tanh RNN trains 200 steps on the adding problem at T = 50. Compared with always answering 1 "
           "(the baseline), where does its loss end?",
           ("well below the baseline (under half)", "about at the baseline (0.5 to 2 times)",
            "far above the baseline"), 1, 200, reveal_beats_baseline, explain_evaluation, "loss",
           reading=("evaluation",)),
]


def guided_by_key(key: str) -> Guided:
    """The guided lesson with this key; RnnvizError listing the keys otherwise."""
    for lesson in GUIDED:
        if lesson.key == key:
            return lesson
    raise RnnvizError(f"lesson must be one of {[g.key for g in GUIDED]}, got {key!r}")


def grade(lesson: Guided, history, prediction: int | None) -> tuple[Outcome, bool | None]:
    """The run's outcome and whether the prediction matches it (None: no prediction or not measurable)."""
    outcome = lesson.reveal(history)
    if prediction is None or outcome.choice is None:
        return outcome, None
    return outcome, prediction == outcome.choice
