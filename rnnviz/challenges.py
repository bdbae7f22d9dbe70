"""Challenge links: a target on a recorded quantity, the knobs a student may change, and hints.

A :class:`Challenge` travels in the URL, so no server state is needed:

- a shipped one by its key: ``?challenge=keep-gradient`` (its config, its locked and hidden knobs);
- a custom one in the open: ``?challenge_target=grad_ratio>1e-3&challenge_steps=50&challenge_hint=...``
  next to the usual config parameters and the instructor flags ``lock=`` / ``hide=``.

:data:`QUANTITIES` is the one table of what a target can be on; each quantity is a pure function of the
run's history (and the task's baseline), giving one value per step it can be read at. The app checks the
target on every recorded step and says "solved at step N", the first step it held (:func:`solved_at`).
Every shipped challenge is tested (tests/test_challenges.py): its stated solution meets the target within
its steps for seeds 0-4, and its own config does not. Standard library and NumPy only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from rnnviz.config import FIELDS, ExperimentConfig
from rnnviz.errors import RnnvizError

#: Losses and metrics are read as the mean over the last WINDOW steps (one batch is noisy).
WINDOW = 20
#: A challenge plays at most this many steps (a few hundred steps of a small config).
MAX_STEPS = 500
#: A hint or title from a link is shown (escaped) up to this many characters.
MAX_TEXT = 200
#: URL parameters of a challenge (not config fields, not instructor flags).
PARAMS = ("challenge", "challenge_target", "challenge_steps", "challenge_hint")


def _running_mean(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """mean(values[max(0, s - window + 1) .. s]) for every s (nan stays nan: a diverged run never passes)."""
    v = np.asarray(values, dtype=np.float64)
    if not len(v):
        return v
    c = np.concatenate([[0.0], np.cumsum(v)])
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def _ratio_rows(matrix: np.ndarray) -> np.ndarray:
    """||dL/dh_1|| / ||dL/dh_T|| of every row of a (S, L) gradient-norm matrix (nan where not finite or 0/0)."""
    m = np.asarray(matrix, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = m[:, 0] / m[:, -1]
    return np.where(np.isfinite(r), r, np.nan)


def _grad_ratio(history, baseline):
    return history.recorded_steps(), _ratio_rows(history.grad_norm_matrix(0, 0, "hidden"))


def _cell_grad_ratio(history, baseline):
    if history.config is None or history.config.cell != "lstm":
        return np.zeros(0, np.int64), np.zeros(0)
    return history.recorded_steps(), _ratio_rows(history.grad_norm_matrix(0, 0, "cell"))


def _gate_mean(gate: str) -> Callable:
    def series(history, baseline):
        if gate not in history.gate_names:
            return np.zeros(0, np.int64), np.zeros(0)
        steps = history.full_steps()
        means = [float(np.mean(history.record_at(int(s), full=True).gates[gate][0, 0].astype(np.float64)))
                 for s in steps]
        return steps, np.asarray(means)
    return series


def _loss_vs_baseline(history, baseline):
    s = history.scalars
    if not baseline:
        return np.zeros(0, np.int64), np.zeros(0)
    return s["step"], _running_mean(s["loss"]) / baseline


def _metric(history, baseline):
    s = history.scalars
    return s["step"], _running_mean(s["metric"])


def _grad_norm(history, baseline):
    s = history.scalars
    return s["step"], np.asarray(s["grad_norm"], dtype=np.float64)


@dataclass(frozen=True)
class Quantity:
    """A recorded quantity a target can be on: ``series(history, baseline) -> (steps, values)``.

    ``baseline`` is the task's baseline loss (only ``loss_vs_baseline`` reads it). ``needs`` names the cell
    a quantity exists for (None: every cell); where it does not exist the series is empty.
    """

    key: str
    label: str
    meaning: str
    series: Callable
    needs: str | None = None


QUANTITIES: dict[str, Quantity] = {q.key: q for q in (
    Quantity("grad_ratio", "||dL/dh_1|| / ||dL/dh_T||",
             "how much of the gradient at the last step reaches the first one (layer 1, forward; "
             "on the training batch of each recorded step)", _grad_ratio),
    Quantity("cell_grad_ratio", "||dL/dc_1|| / ||dL/dc_T||",
             "the same along the LSTM's cell state", _cell_grad_ratio, needs="lstm"),
    Quantity("loss_vs_baseline", f"loss / baseline (mean of the last {WINDOW} steps)",
             "the training loss over the loss of the best predictor without memory: 1 = learned nothing",
             _loss_vs_baseline),
    Quantity("metric", f"the task's metric (mean of the last {WINDOW} steps)",
             "accuracy, or variance explained for forecasting", _metric),
    Quantity("mean_forget_gate", "mean forget gate f",
             "the LSTM's forget gate averaged over the probe sequences' every unit and step", _gate_mean("f"),
             needs="lstm"),
    Quantity("mean_update_gate", "mean update gate z",
             "the GRU's update gate averaged over the probe sequences' every unit and step", _gate_mean("z"),
             needs="gru"),
    Quantity("grad_norm", "gradient norm ||g|| (before clipping)",
             "the length of the whole parameter gradient at each step", _grad_norm),
)}

OPS = {">": np.greater, "<": np.less}
_TARGET = re.compile(r"^\s*([a-z_]+)\s*([<>])\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Target:
    """``quantity op value``, e.g. ``grad_ratio > 1e-3``; written in a URL as ``grad_ratio>0.001``."""

    quantity: str
    op: str
    value: float

    def __post_init__(self):
        if self.quantity not in QUANTITIES:
            raise RnnvizError(f"a target's quantity must be one of {list(QUANTITIES)}, got {self.quantity!r}")
        if self.op not in OPS:
            raise RnnvizError(f"a target's comparison must be one of {list(OPS)}, got {self.op!r}")
        if not math.isfinite(self.value):
            raise RnnvizError(f"a target's value must be a finite number, got {self.value!r}")

    @classmethod
    def parse(cls, text: str) -> Target:
        m = _TARGET.match(str(text))
        if not m:
            raise RnnvizError(f"challenge_target must be <quantity><op><number> with a quantity in "
                              f"{list(QUANTITIES)} and op < or >, got {str(text)[:80]!r}")
        try:
            value = float(m.group(3))
        except ValueError:
            raise RnnvizError(f"challenge_target's value must be a number, got {m.group(3)!r}") from None
        return cls(m.group(1), m.group(2), value)

    def format(self) -> str:
        return f"{self.quantity}{self.op}{self.value:g}"

    def words(self) -> str:
        verb = "exceed" if self.op == ">" else "go below"
        return f"make {QUANTITIES[self.quantity].label} {verb} {self.value:g}"

    def met(self, values: np.ndarray) -> np.ndarray:
        """Where the target holds (nan never meets it)."""
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return OPS[self.op](v, self.value) & np.isfinite(v)


@dataclass(frozen=True)
class Challenge:
    """A target to hit within ``steps`` training steps, starting from ``config``.

    ``change``: the knobs the student may change; every other config field is locked (or ``hide``: not
    shown), and so are the preset picker and the seed. ``key`` is None for a custom challenge from a link.
    ``solution``: changes to ``config`` that meet the target for seeds 0-4 (tested; shown only as hints
    in words, never as the answer).
    """

    key: str | None
    title: str
    target: Target
    steps: int
    config: ExperimentConfig = field(default_factory=ExperimentConfig)
    change: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    solution: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        if not (isinstance(self.steps, int) and 1 <= self.steps <= MAX_STEPS):
            raise RnnvizError(f"challenge_steps must be an integer in 1..{MAX_STEPS}, got {self.steps!r}")
        unknown = [n for n in (*self.change, *self.hide) if n not in FIELDS]
        if unknown:
            raise RnnvizError(f"a challenge's knobs must be config fields, got {unknown}")

    @property
    def within(self) -> str:
        """When the target must hold, in words: "at step 0 (the untrained network)" or "within N steps"."""
        return "at step 0 (the untrained network)" if self.steps == 1 else f"within {self.steps} steps"

    @property
    def locked(self) -> frozenset[str]:
        """Controls a shipped challenge locks: every field the student may not change, and the preset."""
        if self.key is None:
            return frozenset()
        return frozenset({*FIELDS, "preset"} - set(self.change) - set(self.hide))

    def to_params(self) -> dict[str, str]:
        """The URL parameters naming this challenge (the config and flags travel as usual)."""
        if self.key is not None:
            return {"challenge": self.key}
        out = {"challenge_target": self.target.format(), "challenge_steps": str(self.steps)}
        if self.hints:
            out["challenge_hint"] = self.hints[0]
        return out


def quantity_series(quantity: str, history, baseline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of a quantity over the run so far."""
    if quantity not in QUANTITIES:
        raise RnnvizError(f"quantity must be one of {list(QUANTITIES)}, got {quantity!r}")
    steps, values = QUANTITIES[quantity].series(history, baseline)
    return np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class Progress:
    """Where a run stands on a challenge: the first step the target held (None: not yet), the latest value."""

    solved_step: int | None
    latest_step: int | None
    latest: float | None
    within: bool  # the solved step is inside the challenge's steps


def progress(challenge: Challenge, history, baseline: float | None = None) -> Progress:
    """Check the target on every step the quantity was recorded at; "solved at step N" is the first."""
    steps, values = quantity_series(challenge.target.quantity, history, baseline)
    if not len(steps):
        return Progress(None, None, None, False)
    hit = np.flatnonzero(challenge.target.met(values))
    solved = int(steps[hit[0]]) if len(hit) else None
    return Progress(solved, int(steps[-1]), float(values[-1]),
                    solved is not None and solved < challenge.steps)


def solved_at(challenge: Challenge, history, baseline: float | None = None) -> int | None:
    """The first recorded step at which the target held, within the challenge's steps (else None)."""
    p = progress(challenge, history, baseline)
    return p.solved_step if p.within else None


_FAIR = dict(task="adding", seq_len=50, hidden_size=64, batch_size=32, optimizer="adam", lr=1e-2, clip="norm",
             clip_threshold=1.0)

CHALLENGES: dict[str, Challenge] = {c.key: c for c in (
    Challenge(
        "keep-gradient", "Keep the gradient alive over 50 steps at initialisation",
        Target("grad_ratio", ">", 1e-3), 1,
        ExperimentConfig(cell="rnn_tanh", init="scaled", rho=0.6, **_FAIR),
        change=("init", "rho"),
        hints=("Each step back multiplies the gradient by a Jacobian; its size is set by W_hh.",
               "The spectral radius ρ is the long-run rate per step: what does ρ^49 give at ρ = 0.6?",
               "Only step 0 counts: the untrained network, before Adam changes W_hh."),
        solution={"rho": 1.0}),
    Challenge(
        "relu-remembers", "A plain relu RNN that passes the gradient back",
        Target("grad_ratio", ">", 0.1), 10,
        ExperimentConfig(cell="rnn_relu", **{**_FAIR, "lr": 1e-3}),
        change=("init",),
        hints=("With W_hh = I and zero bias, h_t = relu(h_{t-1} + W_ih x_t): what does one step do to "
               "the gradient of an active unit?",),
        solution={"init": "identity"}),
    Challenge(
        "open-forget-gates", "Open the LSTM's forget gates",
        Target("mean_forget_gate", ">", 0.9), 10,
        ExperimentConfig(cell="lstm", **_FAIR),
        change=("forget_bias",),
        hints=("f = σ(... + b_f): a larger bias b_f moves every forget gate towards 1.",
               "σ(1) ≈ 0.73 is not enough; one initialisation sets b_f from the sequence length."),
        solution={"forget_bias": "chrono"}),
    Challenge(
        "cell-path", "Carry the gradient along the cell state",
        Target("cell_grad_ratio", ">", 0.1), 10,
        ExperimentConfig(cell="lstm", **_FAIR),
        change=("forget_bias",),
        hints=("Along the cell state one step back multiplies the gradient by f_t.",),
        solution={"forget_bias": "chrono"}),
    Challenge(
        "learn-sine", "Forecast the sine wave",
        Target("metric", ">", 0.9), 200,
        ExperimentConfig(task="sine", seq_len=20, hidden_size=16, batch_size=16, optimizer="sgd", lr=1e-3),
        change=("optimizer", "lr"),
        hints=("Plain SGD with a tiny step barely moves in 200 steps.",
               "Adam scales each parameter's step by its own gradient history."),
        solution={"optimizer": "adam", "lr": 1e-2}),
    Challenge(
        "tame-explosion", "Tame the exploding gradient",
        Target("loss_vs_baseline", "<", 0.5), 200,
        ExperimentConfig(task="sine", seq_len=70, hidden_size=64, batch_size=32, cell="rnn_tanh", init="scaled",
                         rho=3.0, optimizer="momentum", lr=0.1, clip="none"),
        change=("clip", "clip_threshold"),
        hints=("Look at the gradient norm just before the run diverges.",
               "Capping the length of the gradient keeps its direction."),
        solution={"clip": "norm", "clip_threshold": 1.0}),
)}


def from_params(params: Mapping[str, str]) -> tuple[Challenge | None, list[str]]:
    """The challenge a link names (None when it names none) and the problems met, each a sentence naming
    the parameter, the rule and the value (a bad challenge is ignored, never raised)."""
    problems: list[str] = []
    key = params.get("challenge")
    if key is not None:
        name = str(key).strip().lower()
        if name in CHALLENGES:
            return CHALLENGES[name], problems
        problems.append(f"challenge: must be one of {', '.join(CHALLENGES)}, got {str(key)[:80]!r}; ignored")
    if "challenge_target" not in params:
        extra = [p for p in ("challenge_steps", "challenge_hint") if p in params]
        if extra:
            problems.append(f"{extra[0]}: needs challenge_target; ignored")
        return None, problems
    try:
        target = Target.parse(params["challenge_target"])
        steps_text = str(params.get("challenge_steps", "100")).strip()
        if not re.fullmatch(r"\d{1,6}", steps_text):
            raise RnnvizError(f"challenge_steps must be an integer in 1..{MAX_STEPS}, got {steps_text[:80]!r}")
        hint = " ".join(str(params.get("challenge_hint", "")).split())[:MAX_TEXT]
        challenge = Challenge(None, "A challenge from your teacher", target, int(steps_text),
                              hints=(hint,) if hint else ())
    except RnnvizError as err:
        text = str(err)
        param = text.split(" ", 1)[0] if text.startswith("challenge_") else "challenge_target"
        problems.append(f"{param}: {text.removeprefix(param).strip()}; the challenge is ignored")
        return None, problems
    return challenge, problems


def custom_params(target: Target, steps: int, hint: str = "") -> dict[str, str]:
    """The URL parameters of a custom challenge built in the app (validated: a bad one raises)."""
    hint = " ".join(str(hint).split())[:MAX_TEXT]
    return Challenge(None, target.words(), target, steps, hints=(hint,) if hint else ()).to_params()
