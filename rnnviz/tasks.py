"""Task registry: every problem the model can learn, as seeded batches (x, y, mask).

Shapes: ``N`` batch, ``L`` length (``config.length``: ``seq_len``, or ``seq_len + 20`` for copy),
``I`` input features, ``O`` outputs (classes or regression targets).

* ``x``    (N, L, I) float32 inputs
* ``y``    (N, L, O) float32 targets (regression) or (N, L) int64 class indices (classification)
* ``mask`` (N, L) bool: the time steps that carry loss (e.g. only the last for the adding problem)

Loss, averaged over the masked steps only::

    regression:      loss = mean_{n,t: mask} mean_o (pred[n,t,o] - y[n,t,o])^2
    classification:  loss = mean_{n,t: mask} -log softmax(pred[n,t])[y[n,t]]

Every task states its chance level (``baseline_loss``, ``baseline_metric``) and the predictor
that attains it (``baseline_note``); tests/test_tasks.py measures each one on >= 10,000 sequences.
Batches come only from the ``torch.Generator`` passed to :meth:`Task.sample`, so the same
generator seed gives the same batches for every cell: fair comparisons.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F

from rnnviz.config import COPY_EXTRA, ExperimentConfig
from rnnviz.errors import RnnvizError, must


@dataclass(frozen=True)
class Batch:
    """One batch of sequences; see the module docstring for shapes."""

    x: torch.Tensor  # (N, L, I) float32
    y: torch.Tensor  # (N, L, O) float32 | (N, L) int64
    mask: torch.Tensor  # (N, L) bool


TASK_CLASSES: dict[str, type[Task]] = {}


def _last_step_mask(n: int, L: int) -> torch.Tensor:
    """(N, L) bool, True only at the last step: the tasks whose answer is due at the end score only it."""
    mask = torch.zeros(n, L, dtype=torch.bool)
    mask[:, -1] = True
    return mask


def register(name: str) -> Callable[[type[Task]], type[Task]]:
    def deco(cls: type[Task]) -> type[Task]:
        cls.name = name
        TASK_CLASSES[name] = cls
        return cls

    return deco


def make_task(config: ExperimentConfig, data=None) -> Task:
    """The task named by ``config.task``; ``data`` is a ``str`` for charlm (user text) or a 2-D
    float array for csv (rows = time steps, columns = features). Other tasks take no data."""
    cls = TASK_CLASSES[config.task]
    return cls(config, data)


def _data_error(rule: str, value) -> RnnvizError:
    return must("data", rule, value)


class Task:
    """Base class. Subclasses set the attributes and implement :meth:`_sample` and :meth:`describe`."""

    name: str = ""
    title: str = ""
    kind: str = "regression"  # "regression" | "classification"
    metric_name: str = ""
    higher_is_better: bool = True  # for the metric; the loss is always lower-is-better
    input_size: int = 1
    output_size: int = 1
    #: How the input strip speaks the task's language: a name per input feature ("value", "marker"), or,
    #: for one-hot inputs, the symbol each feature stands for (copy: digits; char-LM: the characters).
    input_names: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    baseline_loss: float = float("nan")
    baseline_metric: float = float("nan")
    baseline_note: str = ""  # which predictor scores the baselines
    uses_data: bool = False
    #: Where the loss sits: "last" (only the last step is masked in: the gradient enters the recurrence at
    #: h_T alone, so ||dL/dh_t|| <= ||dL/dh_T|| (gamma sigma_max)^(T-t) holds) or "every" (a loss at many
    #: steps: dL/dh_t also holds that step's own term, and the ratio of the two ends is no vanishing measure).
    loss_steps: str = "every"

    def __init__(self, config: ExperimentConfig, data=None):
        if data is not None and not self.uses_data:
            raise _data_error(f"be None for task {self.name!r} (only charlm and csv take data)",
                              type(data).__name__)
        self.config = config
        self.length = config.length  # L

    # --- batches ---------------------------------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """``n`` fresh sequences drawn only from ``generator`` (deterministic)."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise RnnvizError(f"n must be a positive integer, got {n!r}")
        if not isinstance(generator, torch.Generator):
            raise RnnvizError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return self._sample(n, generator)

    def _sample(self, n: int, g: torch.Generator) -> Batch:
        raise NotImplementedError

    # --- loss and metric -------------------------------------------------------------------------
    def _check(self, pred: torch.Tensor, batch: Batch) -> None:
        N, L = batch.mask.shape
        if tuple(pred.shape) != (N, L, self.output_size):
            raise RnnvizError(f"pred must have shape (N, L, O) = {(N, L, self.output_size)}, "
                              f"got {tuple(pred.shape)}")

    def loss(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Scalar loss over the masked steps (MSE or cross-entropy, see the module docstring)."""
        self._check(pred, batch)
        if self.kind == "regression":
            return ((pred - batch.y) ** 2).mean(-1)[batch.mask].mean()
        return F.cross_entropy(pred[batch.mask], batch.y[batch.mask])

    def metric(self, pred: torch.Tensor, batch: Batch) -> float:
        """Default: classification accuracy on the masked steps; regression: variance explained
        ``1 - mse / baseline_loss`` (0 = the chance predictor, 1 = perfect)."""
        self._check(pred, batch)
        with torch.no_grad():
            if self.kind == "classification":
                return (pred.argmax(-1) == batch.y)[batch.mask].float().mean().item()
            mse = ((pred - batch.y) ** 2).mean(-1)[batch.mask].mean().item()
            return 1.0 - mse / self.baseline_loss

    def describe(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Task {self.name} L={self.length} I={self.input_size} O={self.output_size}>"


# --------------------------------------------------------------------------------------------------
# Synthetic long-memory tasks
# --------------------------------------------------------------------------------------------------


@register("adding")
class AddingTask(Task):
    """Adding problem (Hochreiter & Schmidhuber 1997; modern form of Le et al. 2015).

    ``x_t = (v_t, m_t)`` with ``v_t ~ U[0, 1]`` and markers ``m_t = 1`` at one step in each half
    of the sequence; target at the last step ``y = sum_t m_t v_t`` (sum of two U[0,1]), MSE.
    Always predicting 1 gives ``E[(y - 1)^2] = Var(y) = 2/12 = 1/6``.
    Metric: accuracy with ``|pred - y| < 0.04``; predicting 1 scores ``P(|y-1| < e) = 2e - e^2``.
    """

    title = "Adding problem"
    kind = "regression"
    metric_name = "accuracy (|error| < 0.04)"
    input_size, output_size = 2, 1
    input_names = ("value", "marker")
    tolerance = 0.04
    baseline_loss = 1.0 / 6.0
    baseline_metric = 2 * 0.04 - 0.04**2
    baseline_note = "always predicting 1 (the mean of the sum)"
    loss_steps = "last"

    def _sample(self, n, g):
        L = self.length
        x = torch.zeros(n, L, 2)  # (N, L, 2)
        x[:, :, 0] = torch.rand(n, L, generator=g)
        half = L // 2
        first = torch.randint(0, half, (n,), generator=g)  # (N,)
        second = torch.randint(half, L, (n,), generator=g)  # (N,)
        rows = torch.arange(n)
        x[rows, first, 1] = 1.0
        x[rows, second, 1] = 1.0
        y = torch.zeros(n, L, 1)  # (N, L, 1)
        y[:, -1, 0] = x[rows, first, 0] + x[rows, second, 0]
        mask = _last_step_mask(n, L)
        return Batch(x, y, mask)

    def metric(self, pred, batch):
        self._check(pred, batch)
        with torch.no_grad():
            err = (pred - batch.y).abs()[..., 0][batch.mask]
            return (err < self.tolerance).float().mean().item()

    def describe(self):
        L = self.length
        return (
            f"Adding problem: each of the {L} steps shows a random number between 0 and 1 and a "
            f"marker bit. Exactly two numbers are marked, one in each half of the sequence. At the "
            f"last step the network must output the sum of the two marked numbers, so it has to "
            f"remember the first one for up to {L - 1} steps. Always answering 1 gives a mean "
            f"squared error of 1/6 = 0.167: a model must get below that to show any memory."
        )


@register("copy")
class CopyTask(Task):
    """Copy memory (Arjovsky, Shah & Bengio 2016).

    Alphabet: 0 blank, 1..8 data symbols, 9 delimiter. Input: 10 symbols from 8, ``T-1`` blanks,
    the delimiter, 10 blanks (length ``L = T + 20``). Target: blanks everywhere except the last 10
    steps, which must repeat the first 10 symbols. Cross-entropy over all ``L`` steps.
    A model with no memory predicts blank with certainty for ``T+10`` steps and guesses uniformly
    over 8 on the last 10: ``CE = 10 ln 8 / (T + 20)``. Metric: accuracy on the 10 copied symbols
    (chance 1/8).
    """

    title = "Copy memory"
    kind = "classification"
    metric_name = "accuracy on the copied symbols"
    input_size, output_size = 10, 9
    symbols = ("·", "1", "2", "3", "4", "5", "6", "7", "8", ":")  # blank, the 8 data symbols, delimiter
    n_copy, n_symbols = 10, 8
    baseline_note = "no memory: blank for T+10 steps, then uniform over the 8 symbols"

    def __init__(self, config, data=None):
        super().__init__(config, data)
        T = config.seq_len
        assert self.length == T + COPY_EXTRA
        self.baseline_loss = self.n_copy * math.log(self.n_symbols) / (T + COPY_EXTRA)
        self.baseline_metric = 1.0 / self.n_symbols

    def _sample(self, n, g):
        T, L, K = self.config.seq_len, self.length, self.n_copy
        symbols = torch.randint(1, self.n_symbols + 1, (n, K), generator=g)  # (N, 10)
        inp = torch.zeros(n, L, dtype=torch.long)  # (N, L)
        inp[:, :K] = symbols
        inp[:, T + K - 1] = 9  # the delimiter after T-1 blanks
        y = torch.zeros(n, L, dtype=torch.long)  # (N, L)
        y[:, -K:] = symbols
        x = F.one_hot(inp, self.input_size).float()  # (N, L, 10)
        return Batch(x, y, torch.ones(n, L, dtype=torch.bool))

    def metric(self, pred, batch):
        self._check(pred, batch)
        K = self.n_copy
        with torch.no_grad():
            return (pred[:, -K:].argmax(-1) == batch.y[:, -K:]).float().mean().item()

    def describe(self):
        T = self.config.seq_len
        return (
            f"Copy memory: the network sees 10 random symbols (from 8), then {T - 1} blanks, then a "
            f"delimiter, then 10 more blanks. When the delimiter appears it must replay the 10 "
            f"symbols in order, {T + 10} steps after it saw the first one. A network without memory "
            f"can only output blanks and guess the last 10 symbols, which costs "
            f"10 ln 8 / {T + 20} = {self.baseline_loss:.4f} cross-entropy and scores 1/8 accuracy."
        )


@register("temporal_order")
class TemporalOrderTask(Task):
    """Temporal order (Hochreiter & Schmidhuber 1997, task 6a; Pascanu et al. 2013).

    Distractors a, b, c, d (one-hot 0..3) fill the sequence; marker X or Y (4, 5) appears at
    ``t1 ~ U{floor(L/10) .. floor(2L/10)}`` and ``t2 ~ U{floor(5L/10) .. floor(6L/10)}``. The class at
    the last step is the ordered pair XX, XY, YX, YY (4 classes). Chance: CE ``ln 4``, 25% accuracy
    (75% error), for the uniform predictor and for any constant class.
    """

    title = "Temporal order"
    kind = "classification"
    metric_name = "accuracy"
    input_size, output_size = 6, 4
    symbols = ("a", "b", "c", "d", "X", "Y")
    baseline_loss = math.log(4)
    baseline_metric = 0.25
    baseline_note = "uniform guess over XX, XY, YX, YY (any constant class: 75% error)"
    loss_steps = "last"

    def positions(self) -> tuple[tuple[int, int], tuple[int, int]]:
        L = self.length
        return (L // 10, (2 * L) // 10), ((5 * L) // 10, (6 * L) // 10)

    def _sample(self, n, g):
        L = self.length
        (a1, b1), (a2, b2) = self.positions()
        sym = torch.randint(0, 4, (n, L), generator=g)  # (N, L) distractors
        t1 = torch.randint(a1, b1 + 1, (n,), generator=g)  # (N,)
        t2 = torch.randint(a2, b2 + 1, (n,), generator=g)  # (N,)
        bits = torch.randint(0, 2, (n, 2), generator=g)  # (N, 2): 0 = X, 1 = Y
        rows = torch.arange(n)
        sym[rows, t1] = 4 + bits[:, 0]
        sym[rows, t2] = 4 + bits[:, 1]
        y = torch.zeros(n, L, dtype=torch.long)  # (N, L)
        y[:, -1] = 2 * bits[:, 0] + bits[:, 1]
        mask = _last_step_mask(n, L)
        return Batch(F.one_hot(sym, 6).float(), y, mask)

    def describe(self):
        (a1, b1), (a2, b2) = self.positions()
        return (
            f"Temporal order: a sequence of {self.length} random letters a, b, c, d hides two special "
            f"symbols, each X or Y: one between steps {a1} and {b1}, the other between steps {a2} and "
            f"{b2}. At the end the network must say which order it saw: XX, XY, YX or YY. Guessing is "
            f"right one time in four (75% error); only a network that remembers both symbols does better."
        )


@register("parity")
class ParityTask(Task):
    """Delayed parity / XOR.

    ``x_t = (2 b_t - 1, m_t)`` with random bits ``b_t`` and ``m_t = 1`` on the first ``k``
    (``parity_bits``) steps; the class at the last step is ``b_0 xor ... xor b_{k-1}``:
    k=1 recalls one bit across ``L-1`` steps, k=2 is delayed XOR (not linearly separable), and
    ``k = L`` is the parity of the whole sequence. Chance: CE ``ln 2``, 50% accuracy.
    """

    title = "Delayed parity (XOR)"
    kind = "classification"
    metric_name = "accuracy"
    input_size, output_size = 2, 2
    input_names = ("bit (±1)", "marker")
    baseline_loss = math.log(2)
    baseline_metric = 0.5
    baseline_note = "a coin flip (any constant class)"
    loss_steps = "last"

    def _sample(self, n, g):
        L, k = self.length, self.config.parity_bits
        bits = torch.randint(0, 2, (n, L), generator=g)  # (N, L)
        x = torch.zeros(n, L, 2)  # (N, L, 2)
        x[:, :, 0] = 2.0 * bits - 1.0
        x[:, :k, 1] = 1.0
        y = torch.zeros(n, L, dtype=torch.long)  # (N, L)
        y[:, -1] = bits[:, :k].sum(1) % 2
        mask = _last_step_mask(n, L)
        return Batch(x, y, mask)

    def describe(self):
        k, L = self.config.parity_bits, self.length
        what = "the first bit" if k == 1 else f"the XOR (parity) of the first {k} bits"
        return (
            f"Delayed parity: the network reads {L} random bits; the first {k} are flagged by a marker. "
            f"At the last step it must output {what}, {L - k} steps after the last flagged bit. "
            f"Parity changes whenever any one bit flips, so no simple summary works and the network "
            f"must carry the bits themselves. A coin flip is right half of the time."
        )


# --------------------------------------------------------------------------------------------------
# Forecasting tasks (targets are the next input: no bidirectional models, see config.RULES)
# --------------------------------------------------------------------------------------------------


@register("sine")
class SineTask(Task):
    """Multi-sine forecasting: predict the next value at every step.

    ``s_t = sum_{k<K} sqrt(2/K) sin(2 pi t / P_k + phi_k)``, ``phi_k ~ U[0, 2 pi)`` per sequence,
    fixed periods ``P = (20, 9, 31, 13, 5)[:K]``; observed ``u_t = s_t + sigma eps_t``, ``eps ~ N(0,1)``.
    ``x_t = u_t``, ``y_t = u_{t+1}`` for ``t < L``; MSE at every step. ``E[s_t^2] = 1``, so always
    predicting 0 gives ``1 + sigma^2``; a perfect forecaster of the signal still pays ``sigma^2``.
    Metric: variance explained ``1 - mse / (1 + sigma^2)``.
    """

    title = "Sine forecasting"
    kind = "regression"
    metric_name = "variance explained"
    input_size, output_size = 1, 1
    input_names = ("u_t",)
    periods = (20.0, 9.0, 31.0, 13.0, 5.0)
    baseline_metric = 0.0
    baseline_note = "always predicting 0 (the mean of the series)"

    def __init__(self, config, data=None):
        super().__init__(config, data)
        self.noise = config.noise
        self.baseline_loss = 1.0 + self.noise**2

    def _sample(self, n, g):
        L, K = self.length, self.config.n_waves
        omega = 2 * math.pi / torch.tensor(self.periods[:K])  # (K,)
        phase = 2 * math.pi * torch.rand(n, K, 1, generator=g)  # (N, K, 1)
        t = torch.arange(L + 1, dtype=torch.float32)  # (L+1,)
        s = (math.sqrt(2.0 / K) * torch.sin(omega[:, None] * t + phase)).sum(1)  # (N, L+1)
        u = s + self.noise * torch.randn(n, L + 1, generator=g)  # (N, L+1)
        return Batch(u[:, :L, None], u[:, 1:, None], torch.ones(n, L, dtype=torch.bool))

    def describe(self):
        K, sig = self.config.n_waves, self.noise
        waves = "a sine wave" if K == 1 else f"a sum of {K} sine waves with different periods"
        return (
            f"Sine forecasting: the input is {waves} plus noise of size {sig:g}; at every step the "
            f"network predicts the next value. Always predicting 0 costs {self.baseline_loss:.3f} "
            f"(the signal variance 1 plus the noise {sig:g}^2); even a perfect model pays the noise "
            f"{sig**2:.3f}, because noise cannot be forecast."
        )


def _text_resource(name: str) -> str:
    return resources.files("rnnviz").joinpath("data", name).read_text(encoding="utf-8")


def embedded_reber(n: int, seed: int = 0) -> list[str]:
    """``n`` strings of the embedded Reber grammar (Hochreiter & Schmidhuber 1997, Python's
    ``random.Random(seed)``): ``B T <reber> T E`` or ``B P <reber> P E``; the second symbol must be
    recalled at the second-to-last, across the whole inner string."""
    graph = {1: (("T", 2), ("P", 3)), 2: (("S", 2), ("X", 4)), 3: (("T", 3), ("V", 5)),
             4: (("X", 3), ("S", 6)), 5: (("P", 4), ("V", 6))}
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s, node = "B", 1
        while node != 6:
            sym, node = graph[node][rng.randrange(2)]
            s += sym
        s += "E"
        outer = "TP"[rng.randrange(2)]
        out.append("B" + outer + s + outer + "E")
    return out


#: Characters with no visible glyph, as the input strip shows them.
VISIBLE = {" ": "·", "\n": "↵", "\t": "→"}


@register("charlm")
class CharLMTask(Task):
    """Character-level language model on shipped text (``config.corpus``) or the user's text.

    ``x_t`` is the one-hot of character ``c_t``, ``y_t = c_{t+1}``: cross-entropy at every step,
    over the vocabulary ``V`` of the text (sorted distinct characters). Windows of ``L + 1``
    characters start uniformly at random. Chance: the uniform predictor, CE ``ln V``
    (perplexity ``V``), accuracy ``1/V`` for a random guess. Perplexity is ``exp(loss)``.
    """

    title = "Character language model"
    kind = "classification"
    metric_name = "next-character accuracy"
    uses_data = True
    max_chars = 5_000_000
    max_vocab = 256
    baseline_note = "uniform over the vocabulary (a random guess)"

    def __init__(self, config, data=None):
        super().__init__(config, data)
        if data is None:
            text = _text_resource("notes.txt" if config.corpus == "notes" else "reber.txt")
            self.source = f"shipped corpus {config.corpus!r}"
        else:
            if not isinstance(data, str):
                raise _data_error("be a str of text for task 'charlm'", type(data).__name__)
            text = data
            self.source = "your text"
        if not text.strip():
            raise _data_error("contain some text (it is empty or only whitespace)", f"{len(text)} characters")
        if len(text) > self.max_chars:
            raise _data_error(f"have at most {self.max_chars:,} characters", f"{len(text):,}")
        if len(text) < self.length + 1:
            raise _data_error(f"have at least seq_len + 1 = {self.length + 1} characters "
                              f"(one window plus the next character)", len(text))
        self.vocab = sorted(set(text))
        V = len(self.vocab)
        if V > self.max_vocab:
            raise _data_error(f"use at most {self.max_vocab} distinct characters", V)
        if V < 2:
            raise _data_error("use at least 2 distinct characters", V)
        self.text = text
        self.index = {ch: i for i, ch in enumerate(self.vocab)}
        self.ids = torch.tensor([self.index[ch] for ch in text], dtype=torch.long)  # (len,)
        self.input_size = self.output_size = V
        self.symbols = tuple(VISIBLE.get(ch, ch) for ch in self.vocab)
        self.baseline_loss = math.log(V)
        self.baseline_metric = 1.0 / V

    def encode(self, s: str) -> torch.Tensor:
        return torch.tensor([self.index[ch] for ch in s], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.vocab[int(i)] for i in ids)

    def _sample(self, n, g):
        L = self.length
        start = torch.randint(0, len(self.ids) - L, (n,), generator=g)  # (N,)
        idx = start[:, None] + torch.arange(L + 1)  # (N, L+1)
        chars = self.ids[idx]  # (N, L+1)
        x = F.one_hot(chars[:, :L], self.input_size).float()  # (N, L, V)
        return Batch(x, chars[:, 1:], torch.ones(n, L, dtype=torch.bool))

    def describe(self):
        V = self.input_size
        return (
            f"Character language model on {self.source} ({len(self.text):,} characters, {V} distinct). "
            f"At every step the network sees one character and predicts the next. Guessing uniformly "
            f"costs ln {V} = {self.baseline_loss:.3f} nats per character (perplexity {V}); a good model "
            f"learns spelling and spacing and its perplexity falls towards a handful of choices."
        )


@register("csv")
class CSVTask(Task):
    """Forecast the next row of a user's multivariate time series (or the shipped sample).

    Columns are z-scored, ``z = (u - mean) / std``; windows of ``L + 1`` rows start uniformly
    at random; ``x_t = z_t``, ``y_t = z_{t+1}``; MSE at every step and column. The baseline is
    predicting the column means (0): its expected MSE over the window distribution is computed
    exactly (``baseline_loss``, about 1). Metric: variance explained ``1 - mse / baseline_loss``.
    """

    title = "Time series (CSV)"
    kind = "regression"
    metric_name = "variance explained"
    uses_data = True
    max_columns = 32
    max_rows = 1_000_000
    baseline_metric = 0.0
    baseline_note = "always predicting each column's mean"

    def __init__(self, config, data=None):
        super().__init__(config, data)
        if data is None:
            data = load_sample_series()
            self.source = "the shipped sample series (hourly temperature and load)"
        else:
            self.source = "your series"
        try:
            arr = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError):
            raise _data_error("be a 2-D array of numbers (rows = time steps, columns = features)",
                              type(data).__name__) from None
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise _data_error("be a 2-D array (rows = time steps, columns = features)", f"shape {arr.shape}")
        R, C = arr.shape
        if R == 0 or C == 0:
            raise _data_error("not be empty", f"shape {arr.shape}")
        if C > self.max_columns:
            raise _data_error(f"have at most {self.max_columns} columns (too wide)", C)
        if R > self.max_rows:
            raise _data_error(f"have at most {self.max_rows:,} rows", f"{R:,}")
        bad = np.argwhere(~np.isfinite(arr))
        if len(bad):
            r, c = bad[0]
            raise _data_error(f"be finite (no NaN or inf; {len(bad)} bad cells)",
                              f"{arr[r, c]} at row {r}, column {c}")
        L = self.length
        if R < L + 1:
            raise _data_error(f"have at least seq_len + 1 = {L + 1} rows (one window of {L} inputs "
                              f"plus the next row); lower seq_len", f"{R} rows")
        mean, std = arr.mean(0), arr.std(0)  # (C,)
        for c in range(C):
            if not std[c] > 1e-12 * max(1.0, abs(mean[c])):
                raise _data_error("have no constant column (it cannot be normalized; drop it)",
                                  f"column {c} constant at {arr[0, c]:g}")
        self.mean, self.std = mean, std
        z = (arr - mean) / std  # (R, C)
        self.series = torch.tensor(z, dtype=torch.float32)  # (R, C)
        self.input_size = self.output_size = C
        # exact E[MSE of predicting 0]: row j is a target in count_j of the S = R - L windows
        j = np.arange(R)
        count = np.clip(np.minimum(R - L - 1, j - 1) - np.maximum(0, j - L) + 1, 0, None)  # (R,)
        self.baseline_loss = float((count * (z**2).mean(1)).sum() / count.sum())

    def _sample(self, n, g):
        L = self.length
        start = torch.randint(0, self.series.shape[0] - L, (n,), generator=g)  # (N,)
        idx = start[:, None] + torch.arange(L + 1)  # (N, L+1)
        rows = self.series[idx]  # (N, L+1, C)
        return Batch(rows[:, :L], rows[:, 1:], torch.ones(n, L, dtype=torch.bool))

    def describe(self):
        R, C = self.series.shape
        return (
            f"Time-series forecasting on {self.source}: {R:,} rows, {C} column(s), each scaled to "
            f"mean 0 and standard deviation 1. The network reads {self.length} consecutive rows and "
            f"at every step predicts the next row. Always predicting the average costs about "
            f"{self.baseline_loss:.2f}; anything lower means the network found a pattern in time."
        )


def load_sample_series() -> np.ndarray:
    """The shipped synthetic series ``rnnviz/data/sample_series.csv``: (rows, 2) float64."""
    text = _text_resource("sample_series.csv")
    return np.loadtxt(text.splitlines(), delimiter=",", skiprows=1, dtype=np.float64)
