"""ExperimentConfig: the single source of truth for one experiment.

One declarative table, :data:`FIELDS`, lists every knob once (name, kind, default,
allowed range or choices, help text, and the reason for the default). That table drives

* validation (:meth:`ExperimentConfig.__post_init__`): every error names the field,
  the rule and the value, e.g. ``"hidden_size must be an integer in 1..256, got 300"``;
* URL query parameters (:meth:`ExperimentConfig.to_params` / :meth:`ExperimentConfig.from_params`):
  only non-default fields, parsed leniently (a bad value falls back to its default and
  is reported, never raised), so a hand-edited link still opens the app;
* JSON (:meth:`ExperimentConfig.to_json` / :meth:`ExperimentConfig.from_json`, strict);
* the UI widgets (the app iterates :data:`FIELDS`: ``kind``, ``choices``, ``lo``/``hi``,
  ``log``, ``help``, ``group``, and :meth:`ExperimentConfig.relevant` to grey out knobs that
  have no effect, e.g. ``rho`` unless ``init == "scaled"``).

The seed is state: the same config gives the same initial weights and the same batches.

Cross-field limits (:data:`RULES`) keep the app alive: the estimated time of one training step
(:func:`step_seconds`: H^2, layers, directions, gates, batch and probe) and the size of one recorded
probe array are bounded, and a bidirectional model may not read the future it must forecast.

This module imports only the standard library (no torch), so the app can build its
sidebar before torch is loaded.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rnnviz.errors import RnnvizError

CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
TASKS = ("adding", "copy", "temporal_order", "parity", "sine", "charlm", "csv")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
CLIPS = ("none", "norm", "value")
INITS = ("default", "xavier", "orthogonal", "identity", "scaled")
FORGET_BIASES = ("default", "zero", "one", "chrono")
CORPORA = ("notes", "reber")

#: Tasks whose target at step t is the input at step t+1: a bidirectional model would read the answer.
FORECAST_TASKS = ("sine", "charlm", "csv")
#: Extra steps the copy task appends to the lag T (10 symbols + delimiter ... 10 blanks = T + 20).
COPY_EXTRA = 20

#: The step-cost rule (RULES "step_work"): one recorded training step, estimated by :func:`step_seconds`,
#: must take at most this long on the reference machine (2 cores, one torch thread per session), so Step,
#: x10 and a play tick stay interactive and one session cannot hold a training slot for long.
MAX_STEP_SECONDS = 0.3
#: Gate blocks per cell (rows of W_hh = G x H); the cost of a step grows with them.
GATE_COUNT = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
#: Seconds per unit of each term of :func:`step_cost_terms`: fitted by ``benchmarks/bench_cost.py --fit`` on
#: the reference machine (2 cores, torch 2.13, one thread; 36 configs, every term varied on its own; the
#: step's CPU time on its thread, i.e. on a core of its own, as each training slot is one core), then
#: multiplied by 1.6 (timesteps by 1.8: deep bidirectional runs step through time the most) so the estimate is
#: above the measured time for every config of the fit and of the check (the fit's
#: estimate/measured: median 1.01, min 0.60, max 1.39).
STEP_COST_COEFFICIENTS = {"multiply_add": 1.9e-11, "elementwise": 3.4e-8, "timesteps": 2.4e-5, "spectra": 3.2e-9,
                          "fixed": 0.0079}
STEP_COST_TERMS = tuple(STEP_COST_COEFFICIENTS)
#: Upper bound on probe_size * length * hidden_size * num_layers * directions: the values in one
#: recorded array (hidden states, one gate, one gradient) of one step, ~2 MB in float32.
MAX_PROBE_VALUES = 524_288


def _error(field: str, rule: str, value: Any) -> RnnvizError:
    """The one way this module reports a bad value: ``"<field> must be <rule>, got <value>"``.

    The error carries ``.field``, ``.rule`` and ``.value`` so the app can point at the widget.
    """
    err = RnnvizError(f"{field} must be {rule}, got {value!r}")
    err.field, err.rule, err.value = field, rule, value
    return err


@dataclass(frozen=True)
class Field:
    """One row of the declarative table: everything the app needs to know about a knob.

    ``kind`` is ``"choice" | "int" | "float" | "bool"``; ``lo``/``hi`` are inclusive bounds;
    ``log`` hints a log-scale slider; ``when = (other_field, values)`` says the knob only has
    an effect while ``other_field`` is one of ``values`` (the UI may hide or grey it out).
    """

    name: str
    kind: str
    default: Any
    help: str
    reason: str
    group: str
    choices: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    log: bool = False
    when: tuple[str, tuple[str, ...]] | None = None

    @property
    def rule(self) -> str:
        """The rule in words, as it appears in error messages."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "int":
            return f"an integer in {self.lo}..{self.hi}"
        if self.kind == "float":
            return f"a number in {self.lo!r}..{self.hi!r}"
        return "a boolean (true/false or 1/0)"

    def check(self, value: Any) -> Any:
        """Validate a Python value (from code or JSON) and return it coerced (int -> float)."""
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
        elif self.kind == "bool":
            if isinstance(value, bool):
                return value
        elif self.kind == "int":
            if isinstance(value, int) and not isinstance(value, bool) and self.lo <= value <= self.hi:
                return int(value)
        else:  # float
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
                and self.lo <= value <= self.hi
            ):
                return float(value)
        raise _error(self.name, self.rule, value)

    def parse(self, text: str) -> Any:
        """Parse a URL parameter leniently (case, spaces, ``-`` for ``_``, ``64.0`` for 64)."""
        s = str(text).strip()
        if self.kind == "choice":
            value: Any = s.lower().replace("-", "_")
        elif self.kind == "bool":
            low = s.lower()
            if low in ("1", "true", "yes", "on"):
                value = True
            elif low in ("0", "false", "no", "off"):
                value = False
            else:
                raise _error(self.name, self.rule, text)
        else:
            try:
                num = float(s)
            except ValueError:
                raise _error(self.name, self.rule, text) from None
            if self.kind == "int":
                if not (math.isfinite(num) and num == int(num)):
                    raise _error(self.name, self.rule, text)
                value = int(num)
            else:
                value = num
        try:
            return self.check(value)
        except RnnvizError:
            raise _error(self.name, self.rule, text) from None

    def format(self, value: Any) -> str:
        """Compact, stable text for the URL; ``parse(format(v)) == v`` exactly (floats via repr)."""
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "float":
            return repr(float(value))
        return str(value)


def _table(*fields: Field) -> dict[str, Field]:
    return {f.name: f for f in fields}


# fmt: off
#: The declarative table. Order is the display order and the URL parameter order.
FIELDS: dict[str, Field] = _table(
    # --- model ---------------------------------------------------------------------------------
    Field("cell", "choice", "rnn_tanh", group="model", choices=CELLS,
          help="Recurrent cell: vanilla RNN with tanh or relu, LSTM, or GRU.",
          reason="the vanilla tanh RNN is where the lesson starts; switch cells to compare"),
    Field("hidden_size", "int", 64, group="model", lo=1, hi=256,
          help="Number of hidden units H per layer and direction.",
          reason="64 units learn the classic tasks and keep heatmaps readable on a projector"),
    Field("num_layers", "int", 1, group="model", lo=1, hi=3,
          help="Stacked recurrent layers; layer k+1 reads the hidden states of layer k.",
          reason="one layer shows every effect and keeps the plots simple"),
    Field("bidirectional", "bool", False, group="model",
          help="Run a second RNN right-to-left and concatenate both hidden states.",
          reason="off: forecasting tasks forbid it and the gradient-flow story is left-to-right"),
    # --- task ----------------------------------------------------------------------------------
    Field("task", "choice", "adding", group="task", choices=TASKS,
          help="The problem the model learns (see the task's description).",
          reason="the adding problem isolates long-range memory with a known baseline of 1/6"),
    Field("seq_len", "int", 50, group="task", lo=2, hi=1000,
          help="Sequence length T, i.e. the lag the model must bridge (copy adds 20 steps).",
          reason="50 steps: the tanh RNN already struggles while every cell runs in real time"),
    Field("noise", "float", 0.1, group="task", lo=0.0, hi=1.0, when=("task", ("sine",)),
          help="Standard deviation of the Gaussian noise added to the sine series (signal variance 1).",
          reason="a little noise makes the best achievable loss visible (noise^2) without hiding the signal"),
    Field("n_waves", "int", 2, group="task", lo=1, hi=5, when=("task", ("sine",)),
          help="Number of superposed sine waves (fixed periods, random phases per sequence).",
          reason="two waves need memory of more than one step yet learn within a minute"),
    Field("parity_bits", "int", 2, group="task", lo=1, hi=16, when=("task", ("parity",)),
          help="The label is the XOR of the first k bits (k=1: recall a bit; k=2: delayed XOR).",
          reason="delayed XOR of two bits is the smallest non-linear memory problem"),
    Field("corpus", "choice", "notes", group="task", choices=CORPORA, when=("task", ("charlm",)),
          help="Shipped text for the character model: English notes, or embedded Reber grammar strings.",
          reason="short English text: students can read the model's samples"),
    # --- training ------------------------------------------------------------------------------
    Field("batch_size", "int", 32, group="training", lo=1, hi=256,
          help="Sequences per training step N.",
          reason="32 sequences give a stable gradient at a live frame rate on 2 cores"),
    Field("optimizer", "choice", "adam", group="training", choices=OPTIMIZERS,
          help="Update rule: SGD, SGD with momentum 0.9, Adam, or RMSprop.",
          reason="Adam trains every cell with one learning rate"),
    Field("lr", "float", 1e-3, group="training", lo=1e-6, hi=10.0, log=True,
          help="Learning rate (step size) of the optimizer.",
          reason="Adam's standard step size"),
    Field("clip", "choice", "norm", group="training", choices=CLIPS,
          help="Gradient clipping: none, rescale the gradient to norm <= threshold, or clamp each entry.",
          reason="norm clipping (Pascanu 2013) keeps a demo alive; turn it off to watch explosions"),
    Field("clip_threshold", "float", 1.0, group="training", lo=1e-3, hi=1e3, log=True,
          when=("clip", ("norm", "value")),
          help="Threshold theta: if ||g|| > theta then g <- theta g / ||g|| (norm); else clamp to +-theta.",
          reason="Pascanu et al. used 1; about 0.5-10x the typical gradient norm"),
    # --- initialisation ------------------------------------------------------------------------
    Field("init", "choice", "default", group="init", choices=INITS,
          help="Recurrent weights W_hh: PyTorch's default, Xavier, orthogonal, identity (IRNN), or "
               "Gaussian scaled to spectral radius rho.",
          reason="PyTorch's own init is what students get out of the box"),
    Field("rho", "float", 1.0, group="init", lo=0.0, hi=10.0, when=("init", ("scaled",)),
          help="Spectral radius rho = max|eig(W_hh)|: below 1 gradients vanish; above, they may explode.",
          reason="1.0 is the edge between vanishing and exploding"),
    Field("forget_bias", "choice", "default", group="init", choices=FORGET_BIASES, when=("cell", ("lstm",)),
          help="LSTM forget-gate bias: PyTorch's default, 0, 1, or chrono (b_f ~ log U(1, T-1), b_i = -b_f).",
          reason="PyTorch's default; bias 1 or chrono show why LSTMs remember"),
    Field("seed", "int", 0, group="init", lo=0, hi=2**31 - 1,
          help="Random seed for the initial weights and the batches: same seed, same run.",
          reason="a fixed seed makes every demo repeat exactly"),
    # --- run -----------------------------------------------------------------------------------
    Field("record_every", "int", 1, group="run", lo=1, hi=10_000,
          help="Record hidden states, gates and gradients of the probe batch every k steps.",
          reason="recording is cheap; every step gives the smoothest animation"),
    Field("max_steps", "int", 2000, group="run", lo=1, hi=100_000,
          help="Training stops (state 'finished') after this many steps.",
          reason="enough for LSTM/GRU to beat the adding baseline at T=50, a few minutes live"),
    Field("probe_size", "int", 4, group="run", lo=1, hi=16,
          help="Fixed probe sequences whose internals are recorded (same sequences at every step).",
          reason="four sequences fit side by side on a slide"),
    Field("checkpoint_every", "int", 100, group="run", lo=1, hi=10_000,
          help="Keep a copy of the weights every k steps so the run can be rewound.",
          reason="100 steps: fine-grained rewind at little memory"),
    Field("pause_grad_norm", "float", 0.0, group="run", lo=0.0, hi=1e12,
          help="Watchdog: pause training when the gradient norm exceeds this (0 = off).",
          reason="off by default so an explosion can be watched; set e.g. 1e4 to stop right at it"),
)
# fmt: on

_D = {name: f.default for name, f in FIELDS.items()}


# --------------------------------------------------------------------------------------------------
# Cross-field rules
# --------------------------------------------------------------------------------------------------


def sequence_length(task: str, seq_len: int) -> int:
    """Total input length L of one sequence: ``seq_len`` except copy (``seq_len + 20``)."""
    return seq_len + COPY_EXTRA if task == "copy" else seq_len


@dataclass(frozen=True)
class Rule:
    """A cross-field limit. ``check(values) -> message | None``; ``fields`` are the fields that
    lenient parsing resets to their defaults, one after another, until the rule holds."""

    name: str
    fields: tuple[str, ...]
    check: Callable[[Mapping[str, Any]], str | None]


def _size_limit(v: Mapping[str, Any], lead: str, limit: int, why: str, fix: str) -> str | None:
    """``lead x length x hidden_size x num_layers x directions`` must stay at most ``limit``."""
    L = sequence_length(v["task"], v["seq_len"])
    D = 2 if v["bidirectional"] else 1
    n = v[lead] * L * v["hidden_size"] * v["num_layers"] * D
    if n > limit:
        return (
            f"{lead} x length x hidden_size x num_layers x directions must be at most {limit:,} {why}, "
            f"got {v[lead]} x {L} x {v['hidden_size']} x {v['num_layers']} x {D} = {n:,}; {fix}"
        )
    return None


def step_cost_terms(v: Mapping[str, Any]) -> dict[str, int]:
    """The work of one recorded training step (record_every=1), term by term. With Lyr layers, D
    directions, G gate blocks, hidden size H, length L, batch N and probe P (the input of every layer
    taken as D*H, an upper bound for layer 0's few input features):

        multiply_add = Lyr D L G H (H + D H) (3N + P)   # W_ih x and W_hh h: forward + backward of the batch
                                                         # (3x a forward), forward of the probe
        elementwise  = Lyr D L G H (N + P)              # gate nonlinearities, state updates, the recording
        timesteps    = Lyr D L G                        # the recording trace steps through time in Python
        spectra      = Lyr D G H^3                      # singular values and eigenvalues of every W_hh block
        fixed        = 1                                # optimizer step, bookkeeping, history append
    """
    L = sequence_length(v["task"], v["seq_len"])
    D = 2 if v["bidirectional"] else 1
    G, H, N, P, Lyr = GATE_COUNT[v["cell"]], v["hidden_size"], v["batch_size"], v["probe_size"], v["num_layers"]
    return {"multiply_add": Lyr * D * L * G * H * (H + D * H) * (3 * N + P),
            "elementwise": Lyr * D * L * G * H * (N + P),
            "timesteps": Lyr * D * L * G,
            "spectra": Lyr * D * G * H**3,
            "fixed": 1}


def step_seconds(v: Mapping[str, Any]) -> float:
    """Estimated seconds of one recorded training step on the reference machine:
    ``sum(STEP_COST_COEFFICIENTS[k] * step_cost_terms(v)[k])``."""
    terms = step_cost_terms(v)
    return sum(STEP_COST_COEFFICIENTS[k] * terms[k] for k in STEP_COST_TERMS)


def _step_work(v: Mapping[str, Any]) -> str | None:
    seconds = step_seconds(v)
    if seconds <= MAX_STEP_SECONDS:
        return None
    L = sequence_length(v["task"], v["seq_len"])
    return (f"one training step must be estimated at most {MAX_STEP_SECONDS:g} s so the app stays "
            f"interactive for everyone, got {seconds:.2f} s for cell={v['cell']}, hidden_size={v['hidden_size']}, "
            f"num_layers={v['num_layers']}, directions={2 if v['bidirectional'] else 1}, length={L}, "
            f"batch_size={v['batch_size']}, probe_size={v['probe_size']}; lower one of them")


def _probe_values(v: Mapping[str, Any]) -> str | None:
    return _size_limit(v, "probe_size", MAX_PROBE_VALUES, "so each recorded step fits in memory",
                       "lower probe_size")


def _no_peeking(v: Mapping[str, Any]) -> str | None:
    if v["bidirectional"] and v["task"] in FORECAST_TASKS:
        return (
            f"bidirectional must be false for forecasting tasks ({', '.join(FORECAST_TASKS)}): "
            f"the right-to-left pass would read the next value it must predict, got task={v['task']!r}"
        )
    return None


def _parity_fits(v: Mapping[str, Any]) -> str | None:
    if v["task"] == "parity" and v["parity_bits"] > v["seq_len"]:
        return f"parity_bits must be at most seq_len={v['seq_len']}, got {v['parity_bits']}"
    return None


RULES: tuple[Rule, ...] = (
    Rule("step_work", ("batch_size", "seq_len", "hidden_size", "num_layers", "bidirectional", "probe_size"),
         _step_work),
    Rule("probe_values", ("probe_size", "seq_len", "hidden_size", "num_layers", "bidirectional"),
         _probe_values),
    Rule("no_peeking", ("bidirectional",), _no_peeking),
    Rule("parity_fits", ("parity_bits",), _parity_fits),
)


# --------------------------------------------------------------------------------------------------
# The config
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment, flat so every field round-trips to a URL query parameter.

    Defaults and their reasons live in :data:`FIELDS` (one table, shown in the UI);
    constructing an instance validates every field and every rule in :data:`RULES`
    and raises :class:`~rnnviz.errors.RnnvizError` naming the field, the rule and the value.
    """

    # model
    cell: str = _D["cell"]
    hidden_size: int = _D["hidden_size"]
    num_layers: int = _D["num_layers"]
    bidirectional: bool = _D["bidirectional"]
    # task
    task: str = _D["task"]
    seq_len: int = _D["seq_len"]
    noise: float = _D["noise"]
    n_waves: int = _D["n_waves"]
    parity_bits: int = _D["parity_bits"]
    corpus: str = _D["corpus"]
    # training
    batch_size: int = _D["batch_size"]
    optimizer: str = _D["optimizer"]
    lr: float = _D["lr"]
    clip: str = _D["clip"]
    clip_threshold: float = _D["clip_threshold"]
    # initialisation
    init: str = _D["init"]
    rho: float = _D["rho"]
    forget_bias: str = _D["forget_bias"]
    seed: int = _D["seed"]
    # run
    record_every: int = _D["record_every"]
    max_steps: int = _D["max_steps"]
    probe_size: int = _D["probe_size"]
    checkpoint_every: int = _D["checkpoint_every"]
    pause_grad_norm: float = _D["pause_grad_norm"]

    def __post_init__(self) -> None:
        for name, f in FIELDS.items():
            object.__setattr__(self, name, f.check(getattr(self, name)))
        values = self.to_dict()
        for rule in RULES:
            msg = rule.check(values)
            if msg is not None:
                err = RnnvizError(msg)
                err.field, err.rule, err.value = rule.fields[0], rule.name, values[rule.fields[0]]
                raise err

    # --- derived ---------------------------------------------------------------------------------
    @property
    def length(self) -> int:
        """Total input length L of one sequence (copy: ``seq_len + 20``)."""
        return sequence_length(self.task, self.seq_len)

    @property
    def directions(self) -> int:
        """D = 2 if bidirectional else 1."""
        return 2 if self.bidirectional else 1

    def relevant(self, name: str) -> bool:
        """Whether field ``name`` has an effect under this config (e.g. ``rho`` only for init=scaled)."""
        when = FIELDS[name].when
        return when is None or getattr(self, when[0]) in when[1]

    # --- copies ----------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> ExperimentConfig:
        """A validated copy with ``changes`` applied; unknown names raise RnnvizError."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise RnnvizError(f"replace() takes config fields only ({', '.join(FIELDS)}), got {unknown}")
        return dataclasses.replace(self, **changes)

    # --- dict / JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """All fields in table order, plain Python values."""
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExperimentConfig:
        """Strict: unknown keys and invalid values raise; missing keys take their defaults."""
        if not isinstance(d, Mapping):
            raise RnnvizError(f"config must be a JSON object of fields, got {type(d).__name__}")
        unknown = sorted(set(d) - set(FIELDS))
        if unknown:
            raise RnnvizError(f"config keys must be fields of ExperimentConfig, got unknown {unknown}")
        return cls(**d)

    def to_json(self) -> str:
        """Every field (defaults included) as a JSON object in table order."""
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> ExperimentConfig:
        """Strict inverse of :meth:`to_json`: ``from_json(c.to_json()) == c``."""
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
            raise RnnvizError(f"config JSON must be valid JSON, got a parse error: {exc}") from None
        return cls.from_dict(d)

    # --- URL query parameters --------------------------------------------------------------------
    def to_params(self) -> dict[str, str]:
        """Only the non-default fields, in table order, as compact strings (stable for links)."""
        return {
            name: f.format(getattr(self, name))
            for name, f in FIELDS.items()
            if getattr(self, name) != f.default
        }

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], strict: bool = False
    ) -> tuple[ExperimentConfig, list[str]]:
        """Parse URL query parameters into a config and the list of problems met.

        Lenient (default): a bad value falls back to its default and is reported as
        ``"rho: must be a number in 0.0..10.0, got 'abc'; using the default 1.0"``; unknown
        keys are reported and ignored; a broken cross-field rule resets the rule's fields to
        their defaults one by one (reported). It never raises. ``strict=True`` raises
        :class:`RnnvizError` at the first problem instead.

        ``preset=<name>`` starts from that preset's config; other parameters override it.
        Values may be lists (as from ``st.query_params.to_dict()`` or ``parse_qs``): the last wins.
        """
        problems: list[str] = []

        def fail(msg: str, err: RnnvizError | None = None) -> None:
            if strict:
                raise err if err is not None else RnnvizError(msg)
            problems.append(msg)

        def text(v: Any) -> str:
            if isinstance(v, list | tuple):
                return str(v[-1]) if v else ""
            return str(v)

        base = cls()
        if "preset" in params:
            key = text(params["preset"]).strip().lower().replace("_", "-")
            if key in PRESETS:
                base = PRESETS[key].config
            else:
                fail(f"preset: must be one of {', '.join(PRESETS)}, got {text(params['preset'])!r}; ignored")
        values = base.to_dict()
        for key, raw in params.items():
            if key == "preset":
                continue
            f = FIELDS.get(key)
            if f is None:
                fail(f"{key}: not a config field; ignored")
                continue
            try:
                values[key] = f.parse(text(raw))
            except RnnvizError as err:
                default = f.format(f.default)
                fail(f"{key}: must be {f.rule}, got {text(raw)!r}; using the default {default}", err)
                values[key] = f.default
        for rule in RULES:
            msg = rule.check(values)
            if msg is None:
                continue
            if strict:
                raise RnnvizError(msg)
            reset = []
            for name in rule.fields:
                if values[name] != FIELDS[name].default:
                    values[name] = FIELDS[name].default
                    reset.append(name)
                    if rule.check(values) is None:
                        break
            problems.append(f"{msg}; using the default for {', '.join(reset)}")
        try:
            return cls(**values), problems
        except RnnvizError as err:  # a later reset broke an earlier rule: start over from defaults
            if strict:
                raise
            problems.append(f"{err}; using the default config")
            return cls(), problems


# --------------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named, seeded config with the one effect it shows, in a sentence a teacher can read out."""

    name: str
    title: str
    effect: str
    config: ExperimentConfig


def _presets(*ps: Preset) -> dict[str, Preset]:
    return {p.name: p for p in ps}


# Shared classroom settings: adding problem at T=100 (the long lag of Pascanu 2013), H=64, batch 32.
_LONG = dict(task="adding", seq_len=100, hidden_size=64, batch_size=32)
# Adam at 1e-2 with norm clipping at 1, 3000 steps: measured (seed 0 and 1) LSTM and GRU leave the 1/6
# plateau within ~1750 steps (GRU ~500) and reach < 0.01; at 1e-3 both still sat on it after 3000 steps.
# The tanh RNN gets the same optimizer so that "change only the cell" is a fair comparison.
_FAIR = dict(optimizer="adam", lr=1e-2, clip="norm", clip_threshold=1.0, max_steps=3000, **_LONG)

#: Presets for the classroom. Each ``effect`` is a fact from DESIGN.md section 6, checked at step 0
#: with the default seed in tests/test_models.py; the training effects are the trainer's tests.
PRESETS: dict[str, Preset] = _presets(
    Preset(
        "vanishing-tanh",
        "Vanishing gradients (tanh RNN)",
        "With W_hh scaled to spectral radius 0.9 the gradient reaching step 1 is a million or more "
        "times smaller than at step 100, so the tanh RNN cannot learn the adding problem and "
        "its loss stays at the 1/6 baseline.",
        ExperimentConfig(cell="rnn_tanh", init="scaled", rho=0.9, **_FAIR),
    ),
    Preset(
        "exploding",
        "Exploding gradients (no clipping)",
        "With W_hh scaled to spectral radius 3 the first gradient norm is about 10^12; one unclipped "
        "SGD step moves the weights by about 10^10, every tanh unit saturates and the network is dead "
        "for the rest of the run.",
        ExperimentConfig(cell="rnn_tanh", init="scaled", rho=3.0, optimizer="sgd", lr=0.01,
                         clip="none", **_LONG),
    ),
    Preset(
        "clipping-tames",
        "Gradient clipping tames the explosion",
        "The same exploding network with norm clipping at 1: the gradients are still about 10^12 "
        "but every update moves the weights by at most lr x 1 = 0.01, so they stay finite and sane.",
        ExperimentConfig(cell="rnn_tanh", init="scaled", rho=3.0, optimizer="sgd", lr=0.01,
                         clip="norm", clip_threshold=1.0, **_LONG),
    ),
    Preset(
        "lstm-remembers",
        "The LSTM remembers",
        "On the same adding problem with T=100, the LSTM's cell state carries the two marked "
        "numbers across the whole sequence and its loss falls well below the 1/6 baseline.",
        ExperimentConfig(cell="lstm", **_FAIR),
    ),
    Preset(
        "gru-remembers",
        "The GRU remembers",
        "The GRU's update gate lets the hidden state pass through unchanged, so it too beats "
        "the 1/6 baseline on the adding problem at T=100.",
        ExperimentConfig(cell="gru", **_FAIR),
    ),
    Preset(
        "irnn",
        "IRNN: relu with identity recurrence",
        "A plain relu RNN whose W_hh starts as the identity copies its state forward unchanged, "
        "so gradients neither vanish nor explode at the start and it learns the adding problem.",
        # Adam 1e-3 (Le et al. used small steps): measured loss 0.023 at 750 steps, 0.0035 at 3000 (seed 0)
        ExperimentConfig(cell="rnn_relu", init="identity", max_steps=3000, **_LONG),
    ),
    Preset(
        "forget-bias",
        "LSTM forget-gate bias (chrono init)",
        "Chrono init sets the forget gate near 0.96 instead of 0.5, so the cell-state gradient "
        "decays far more slowly over 100 steps than with PyTorch's default bias.",
        ExperimentConfig(cell="lstm", forget_bias="chrono", **_FAIR),
    ),
)
