"""``python -m rnnviz reproduce``: the published effects, re-measured with this engine over seeds.

Each :class:`Target` states one effect from the literature, where it comes from, how it is measured
here (one number per seed) and the range that counts as reproduced. :func:`run` measures every target
over its seeds and returns one :class:`Row` per target: the median and range over the seeds and a
verdict. The success-rate-against-length study (:mod:`rnnviz.success`, training sweeps) is one more row,
:class:`StudyRow`, with its own table and figure. :func:`markdown_table` and :func:`html_page` write them out
(the HTML is standalone: no script, no outside link).

Setups (unless a target says otherwise): the adding problem's inputs at T = 100, H = 128, batch 32,
the first training batch at initialisation (step 0), seeds 0-4. The gradient ratio is
``||dL/dh_1|| / ||dL/dh_T||`` (``analysis.gradient_ratio``) with the loss on the last step only, so it is
the transport of the loss's gradient back through time.

Sources: Pascanu, Mikolov & Bengio 2013 (On the difficulty of training recurrent neural networks);
Le, Jaitly & Hinton 2015 (A simple way to initialize recurrent networks of rectified linear units);
Tallec & Ollivier 2018 (Can recurrent neural networks warp time?); Hochreiter & Schmidhuber 1997
(Long short-term memory); Arjovsky, Shah & Bengio 2016 (Unitary evolution recurrent neural networks).
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnviz import analysis, success
from rnnviz.errors import RnnvizError

SEEDS = (0, 1, 2, 3, 4)
#: The common setup of the step-0 targets.
BASE = dict(task="adding", seq_len=100, hidden_size=128, batch_size=32)
PASCANU = "Pascanu, Mikolov & Bengio 2013"
IRNN = "Le, Jaitly & Hinton 2015"
CHRONO = "Tallec & Ollivier 2018"
LSTM = "Hochreiter & Schmidhuber 1997"
ARJOVSKY = "Arjovsky, Shah & Bengio 2016"


@dataclass(frozen=True)
class Target:
    """One effect: ``measure(seed) -> float``; reproduced when the median over ``seeds`` lies in ``expected``
    (and, when ``every_seed``, every seed's value does)."""

    key: str
    claim: str
    source: str
    measure: Callable[[int], float]
    expected: tuple[float, float]
    quick: bool = True
    every_seed: bool = False
    seeds: tuple[int, ...] = SEEDS
    fmt: str = "ratio"  # "ratio" (analysis.format_ratio) or "fixed" (3 decimals)


@dataclass(frozen=True)
class Row:
    target: Target
    values: tuple[float, ...]

    @property
    def key(self) -> str:
        return self.target.key

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    @property
    def reproduced(self) -> bool:
        lo, hi = self.target.expected
        inside = [lo <= v <= hi for v in self.values]
        return (lo <= self.median <= hi) and (all(inside) or not self.target.every_seed)

    def cells(self) -> tuple[str, str, str, str]:
        """(target, source, measured, verdict) as text."""
        f = _fmt(self.target.fmt)
        lo, hi = self.target.expected
        measured = (f"{f(self.median)} (range {f(min(self.values))} to {f(max(self.values))}, "
                    f"{len(self.values)} seeds)")
        verdict = ("reproduced" if self.reproduced else "NOT reproduced") + f" (expected {f(lo)} to {f(hi)})"
        return self.target.claim, self.target.source, measured, verdict


@dataclass(frozen=True)
class StudyRow:
    """The success-vs-length study (:mod:`rnnviz.success`) as a row of the table."""

    table: success.SuccessTable
    key: str = "success-vs-length"

    @property
    def reproduced(self) -> bool:
        return self.table.reproduced

    def cells(self) -> tuple[str, str, str, str]:
        """(target, source, measured, verdict) as text."""
        t, study = self.table, self.table.study
        first, last = study.lengths[0], study.lengths[-1]
        n = study.seeds
        claim = (f"adding problem, T = {', '.join(map(str, study.lengths))}, {study.steps} training steps per run, "
                 f"success = last-step loss ≤ {study.success:g} × the baseline 1/6: at T = {last} the LSTM and the "
                 f"GRU succeed at least as often as the tanh RNN, which succeeds less often at T = {last} than at "
                 f"T = {first}")
        at_last = ", ".join(f"{LABELS[c]} {t.succeeded(c, -1)}/{n}" for c in success.CELLS)
        measured = (f"seeds that learned at T = {last}: {at_last}; tanh RNN at T = {first}: "
                    f"{t.succeeded('rnn_tanh', 0)}/{n}")
        verdict = ("reproduced" if self.reproduced else "NOT reproduced") + (
            f" (expected LSTM and GRU ≥ tanh RNN at T = {last}, tanh RNN lower at T = {last} than at T = {first})")
        return claim, success.SOURCE, measured, verdict


LABELS = {"rnn_tanh": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}


def _fmt(kind: str) -> Callable[[float], str]:
    return analysis.format_ratio if kind == "ratio" else (lambda v: f"{v:.3f}")


# ------------------------------------------------------------------------------------ measurements
def _step0(seed: int, **fields):
    """A Trainer of BASE + ``fields`` after its step 0 (the initial weights): (trainer, record of step 0)."""
    from rnnviz.config import ExperimentConfig
    from rnnviz.trainer import Trainer

    t = Trainer(ExperimentConfig(**{**BASE, "seed": seed, **fields}))
    t.step(1)
    return t, t.history.record_at(0, full=True)


def step0_ratio(seed: int, **fields) -> float:
    """||dL/dh_1|| / ||dL/dh_T|| at initialisation (BASE + ``fields``, layer 0, forward)."""
    return analysis.gradient_ratio(_step0(seed, **fields)[1].grad_norms[0, 0])


def pascanu_margin(seed: int, sigma_max: float = 0.9) -> float:
    """max over t < T of ||dL/dh_t|| / (||dL/dh_T|| sigma_max^(T-t)) for a tanh RNN whose W_hh is rescaled
    to largest singular value ``sigma_max`` (gamma = 1): the Pascanu bound holds when this is <= 1 (at
    t = T both sides are ||dL/dh_T||, so T is left out)."""
    import torch

    from rnnviz.config import ExperimentConfig
    from rnnviz.trainer import Trainer

    t = Trainer(ExperimentConfig(**{**BASE, "seed": seed, "init": "scaled", "rho": 0.5}))
    w = t.model.rnn.weight_hh_l0
    with torch.no_grad():
        w.mul_(sigma_max / torch.linalg.matrix_norm(w.double(), ord=2).item())
    t.step(1)
    g = t.history.record_at(0).grad_norms[0, 0].astype(np.float64)
    bound = analysis.theory_bound(sigma_max, 1.0, len(g)) * g[-1]
    return float(np.max(g[:-1] / bound[:-1]))


def mean_forget_gate(seed: int, forget_bias: str) -> float:
    """Mean LSTM forget gate f over the probe batch's every unit and step at initialisation."""
    rec = _step0(seed, cell="lstm", forget_bias=forget_bias)[1]
    return float(np.mean(rec.gates["f"][0, 0].astype(np.float64)))


def late_loss(seed: int, preset: str, steps: int = 500) -> float:
    """Mean training loss over the last 100 of ``steps`` steps of a preset, over the task's baseline."""
    from rnnviz.config import PRESETS
    from rnnviz.trainer import Trainer

    t = Trainer(PRESETS[preset].config.replace(seed=seed))
    t.step(steps)
    loss = t.history.scalars["loss"][steps - 100 : steps]
    return float(np.mean(loss)) / t.task.baseline_loss if len(loss) == 100 else math.inf


def copy_baseline_ratio(seed: int, T: int = 100, n: int = 2000) -> float:
    """Cross-entropy of the memoryless predictor on the copy task (blank for T+10 steps, uniform over the
    8 symbols on the last 10) over the formula 10 ln 8 / (T + 20)."""
    import torch

    from rnnviz.config import ExperimentConfig
    from rnnviz.tasks import make_task

    task = make_task(ExperimentConfig(task="copy", seq_len=T))
    batch = task.sample(n, torch.Generator().manual_seed(seed))
    logits = torch.full((n, task.length, task.output_size), -1e4)
    logits[:, :-10, 0] = 0.0  # certain blank
    logits[:, -10:, 1:9] = 0.0  # uniform over the 8 symbols
    return float(task.loss(logits, batch)) / (10 * math.log(8) / (T + 20))


def _targets() -> list[Target]:
    t: list[Target] = [
        Target("pascanu", "Pascanu's bound holds when σ_max = 0.9: max over t < T of ||dL/dh_t|| / (||dL/dh_T|| "
               "0.9^(T−t)) ≤ 1 (tanh RNN, W_hh rescaled to σ_max = 0.9)", PASCANU, pascanu_margin, (0.0, 1.0),
               every_seed=True, fmt="fixed"),
    ]
    ranges = {0.5: (1e-33, 1e-29), 0.9: (2e-7, 6e-6), 1.0: (7e-4, 0.15), 1.1: (0.07, 10.0), 3.0: (1e12, 1e14)}
    for rho, expected in ranges.items():
        t.append(Target(f"rho-{rho:g}", f"gradient ratio ||dL/dh_1|| / ||dL/dh_T||, tanh RNN, W_hh Gaussian scaled "
                        f"to spectral radius ρ = {rho:g}", PASCANU,
                        lambda s, rho=rho: step0_ratio(s, init="scaled", rho=rho), expected))
    t += [
        Target("orthogonal", "gradient ratio, tanh RNN, orthogonal W_hh (every singular value 1)", PASCANU,
               lambda s: step0_ratio(s, init="orthogonal"), (0.002, 0.013)),
        Target("irnn", "gradient ratio, ReLU RNN, identity W_hh (IRNN)", IRNN,
               lambda s: step0_ratio(s, cell="rnn_relu", init="identity"), (0.64, 0.76)),
    ]
    for cell, label in (("rnn_tanh", "tanh RNN"), ("lstm", "LSTM"), ("gru", "GRU")):
        t.append(Target(f"default-{cell}", f"PyTorch's default init vanishes at T = 100: gradient ratio, {label}",
                        PASCANU if cell == "rnn_tanh" else LSTM, lambda s, c=cell: step0_ratio(s, cell=c),
                        (0.0, 1e-3)))
    t += [
        Target("forget-one", "forget-gate bias 1: mean forget gate f of an LSTM at initialisation", LSTM,
               lambda s: mean_forget_gate(s, "one"), (0.70, 0.76), fmt="fixed"),
        Target("chrono", "chrono init (b_f = log U(1, T−1), T = 100): mean forget gate f", CHRONO,
               lambda s: mean_forget_gate(s, "chrono"), (0.94, 0.98), fmt="fixed"),
        Target("copy-baseline", "copy task, T = 100: the memoryless cross-entropy over 10 ln 8 / (T + 20)", ARJOVSKY,
               copy_baseline_ratio, (0.99, 1.01), fmt="fixed"),
    ]
    for preset, label, expected in (("vanishing-tanh", "tanh RNN stays at the 1/6 baseline", (0.9, math.inf)),
                                    ("lstm-remembers", "LSTM learns", (0.0, 0.5)),
                                    ("gru-remembers", "GRU learns", (0.0, 0.5)),
                                    ("irnn", "IRNN learns", (0.0, 0.5))):
        t.append(Target(f"adding-{preset}", f"adding problem, T = 50, 500 steps (preset {preset}): {label}; "
                        f"mean loss over steps 400-499 / the baseline 1/6", IRNN if preset == "irnn" else LSTM,
                        lambda s, p=preset: late_loss(s, p), expected, quick=False, every_seed=True, fmt="fixed"))
    return t


TARGETS: list[Target] = _targets()


def run(quick: bool = False, progress: Callable[[int, int, str], None] | None = None,
        workers: int | None = None) -> list[Row | StudyRow]:
    """Measure every target (``quick``: only those marked quick) over its seeds, in order, then the
    success-vs-length study (``success.QUICK`` or ``success.FULL``, on ``workers`` processes).

    ``progress(done, total, label)`` is called after every measurement and run (the CLI draws its bar with it)."""
    targets = [t for t in TARGETS if t.quick or not quick]
    study = success.QUICK if quick else success.FULL
    total = sum(len(t.seeds) for t in targets) + study.runs
    rows, done = [], 0
    for target in targets:
        values = []
        for seed in target.seeds:
            values.append(float(target.measure(seed)))
            done += 1
            if progress:
                progress(done, total, target.key)
        rows.append(Row(target, tuple(values)))

    def tick(k: int, _total: int) -> None:
        if progress:
            progress(done + k, total, StudyRow.key)

    rows.append(StudyRow(success.measure(study, workers, tick)))
    return rows


def study_of(rows) -> success.SuccessTable | None:
    """The success-vs-length table among ``rows`` (None when it was not run)."""
    return next((r.table for r in rows if isinstance(r, StudyRow)), None)


def success_markdown(table: success.SuccessTable) -> str:
    """The study's table: seeds that learned (and the median last-step loss / baseline) per cell and length."""
    study = table.study
    lines = ["| cell | " + " | ".join(f"T = {T}" for T in study.lengths) + " |", "|---|" + "---|" * len(study.lengths)]
    for c in success.CELLS:
        lines.append(f"| {LABELS[c]} | " + " | ".join(
            f"{table.succeeded(c, i)}/{study.seeds} ({table.final_loss[c][i]:.3f})" for i in range(len(study.lengths)))
            + " |")
    return "\n".join(lines) + "\n"


def success_figure(table: success.SuccessTable):
    """:func:`rnnviz.plots.success_vs_length` of the study."""
    from rnnviz import plots

    study = table.study
    return plots.success_vs_length(study.lengths, table.rates, study.seeds,
                                   f"adding problem, {study.steps} training steps per run; success: last-step loss "
                                   f"≤ {study.success:g} × the baseline 1/6")


HEADER = ("target", "source", "measured (median and range over seeds)", "verdict")


def markdown_table(rows: list[Row]) -> str:
    """``| target | source | measured | verdict |``, one line per row (``|`` inside a cell escaped)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row.cells()) + " |")
    return "\n".join(lines) + "\n"


def markdown_report(rows: list[Row], quick: bool = False) -> str:
    """The markdown file `reproduce` writes: a heading, the setup, the table and how to regenerate it."""
    command = "python -m rnnviz reproduce" + (" --quick" if quick else "")
    text = (f"# Published effects, reproduced with rnnviz\n\n{SETUP}\n\n{markdown_table(rows)}\n"
            f"Written by `{command}` (rnnviz/reproduce.py); a target is reproduced when the median over its "
            f"seeds lies in the expected range (and, where the row is about every seed, each seed's value does).\n")
    table = study_of(rows)
    if table is not None:
        study = table.study
        text += (f"\n## Success rate against sequence length\n\n{SUCCESS_SETUP}\n\nSeeds 0-{study.seeds - 1}, "
                 f"{study.steps} steps per run; each cell: seeds that learned / seeds (median last-step loss / "
                 f"baseline). Figure: `success_vs_length.html`.\n\n{success_markdown(table)}")
    return text


def html_page(rows: list[Row], title: str = "rnnviz: published effects, reproduced") -> str:
    """A standalone HTML page with the same table (no script, no outside resource)."""
    if not rows:
        raise RnnvizError("html_page needs at least one measured row, got 0")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    body = "".join(
        f"<tr class=\"{'ok' if r.reproduced else 'fail'}\">" + "".join(f"<td>{html.escape(c)}</td>"
                                                                       for c in r.cells()) + "</tr>"
        for r in rows)
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;"
             "padding:.4em;vertical-align:top}tr.fail td:last-child{color:#b00;font-weight:bold}")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(SETUP)}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>\n")


SUCCESS_SETUP = (
    "The adding problem at each length T, trained by `python -m rnnviz sweep --train` (rnnviz/success.py): H = 64, "
    "batch 32, Adam at 1e-2, gradient norm clipped to 1, PyTorch's default init but the LSTM's chrono forget-gate "
    "bias. A run succeeds when it did not diverge and the loss of its last step is at most 0.5 × the baseline 1/6 "
    "(always answering the mean sum).")
SETUP = ("Unless a row says otherwise: adding-problem inputs at T = 100, H = 128, batch 32, the gradient of the "
         "first training batch at initialisation, seeds 0-4; the loss sits on the last step, so "
         "||dL/dh_1|| / ||dL/dh_T|| is the transport of the loss's gradient back through time.")
