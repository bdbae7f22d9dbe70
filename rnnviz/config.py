"""ExperimentConfig: the single source of truth for one experiment.

One declarative table, :data:`FIELDS`, lists every knob once (name, kind, default,
allowed range or choices, help text, and the reason for the default). That table drives

* validation (:meth:`ExperimentConfig.__post_init__`): every error names the field,
  the rule and the value, e.g. ``"hidden_size must be an integer in 1..256, got 300"``;
* URL query parameters (:meth:`ExperimentConfig.to_params` / :meth:`ExperimentConfig.from_params`):
  only non-default fields, parsed leniently (a bad value falls back to its default and
  is reported, never raised), so a hand-edited link still opens the app;
* JSON (:meth:`ExperimentConfig.to_json` / :meth:`ExperimentConfig.from_json`, strict);
* the UI widgets (the sidebar iterates :data:`FIELDS`: ``label``, ``choice_labels``, ``widget``,
  ``main``, ``kind``, ``choices``, ``lo``/``hi``, ``help``, and :meth:`ExperimentConfig.relevant`
  to grey out knobs that have no effect, e.g. ``rho`` unless ``init == "scaled"``).

``ExperimentConfig``'s body is written out field by field for readers and type checkers;
tests/test_config.py checks it against :data:`FIELDS` (names, order, defaults, types).

The seed is state: the same config gives the same initial weights and the same batches.

Cross-field limits (:data:`RULES`) keep the app alive: the estimated time of one training step
(:func:`step_seconds`: H^2, layers, directions, gates, batch and probe) and the size of one recorded
probe array are bounded, and a bidirectional model may not read the future it must forecast.

This module imports only the standard library and rnnviz.cells / rnnviz.errors (which do too):
reading, validating and sharing a config never loads torch (tests/test_config.py checks it). The
app itself loads torch before it draws the sidebar (app.py calls ``limit_threads`` first).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.fields import Field

CELLS = tuple(cells.CELLS)  # the one table of cell types: rnnviz/cells.py
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


def _table(*fields: Field) -> dict[str, Field]:
    return {f.name: f for f in fields}


# fmt: off
#: The declarative table. Order is the display order and the URL parameter order.
FIELDS: dict[str, Field] = _table(
    # --- model ---------------------------------------------------------------------------------
    Field("cell", "choice", "rnn_tanh", group="model", label="Cell", main=1,
          choice_labels={c.name: c.label for c in cells.CELLS.values()}, choices=CELLS,
          help="Recurrent cell: vanilla RNN with tanh or relu, LSTM, or GRU.",
          reason="the vanilla tanh RNN is where the lesson starts; switch cells to compare"),
    Field("hidden_size", "int", 64, group="model", label="Hidden units H", main=4, widget="slider", lo=1, hi=256,
          stops=(1, 2, 4, 8, 16, 32, 64, 128, 256),
          help="Number of hidden units H per layer and direction.",
          reason="64 units learn the classic tasks and keep heatmaps readable on a projector"),
    Field("num_layers", "int", 1, group="model", label="Layers", widget="slider", lo=1, hi=3,
          help="Stacked recurrent layers; layer k+1 reads the hidden states of layer k.",
          reason="one layer shows every effect and keeps the plots simple"),
    Field("bidirectional", "bool", False, group="model", label="Bidirectional",
          help="Run a second RNN right-to-left and concatenate both hidden states.",
          reason="off: forecasting tasks forbid it and the gradient-flow story is left-to-right"),
    # --- task ----------------------------------------------------------------------------------
    Field("task", "choice", "adding", group="task", label="Task", main=2,
          choice_labels={"adding": "Adding problem", "copy": "Copy memory", "temporal_order": "Temporal order",
                         "parity": "Parity / delayed XOR", "sine": "Sine forecasting",
                         "charlm": "Character language model", "csv": "My CSV series"}, choices=TASKS,
          help="The problem the model learns (see the task's description).",
          reason="the adding problem isolates long-range memory with a known baseline of 1/6"),
    Field("seq_len", "int", 50, group="task", label="Sequence length / lag T", main=3, widget="slider", lo=2, hi=1000,
          stops=(10, 20, 50, 100, 200, 500, 1000),
          help="Sequence length T, i.e. the lag the model must bridge (copy adds 20 steps).",
          reason="50 steps: the tanh RNN already struggles while every cell runs in real time"),
    Field("noise", "float", 0.1, group="task", label="Noise", widget="slider", step=0.01, lo=0.0, hi=1.0,
          when=("task", ("sine",)),
          help="Standard deviation of the Gaussian noise added to the sine series (signal variance 1).",
          reason="a little noise makes the best achievable loss visible (noise^2) without hiding the signal"),
    Field("n_waves", "int", 2, group="task", label="Sine waves", widget="slider", lo=1, hi=5, when=("task", ("sine",)),
          help="Number of superposed sine waves (fixed periods, random phases per sequence).",
          reason="two waves need memory of more than one step yet learn within a minute"),
    Field("parity_bits", "int", 2, group="task", label="Parity bits", widget="slider", lo=1, hi=16,
          when=("task", ("parity",)),
          help="The label is the XOR of the first k bits (k=1: recall a bit; k=2: delayed XOR).",
          reason="delayed XOR of two bits is the smallest non-linear memory problem"),
    Field("corpus", "choice", "notes", group="task", label="Text",
          choice_labels={"notes": "English notes", "reber": "Reber grammar"}, choices=CORPORA,
          when=("task", ("charlm",)),
          help="Shipped text for the character model: English notes, or embedded Reber grammar strings.",
          reason="short English text: students can read the model's samples"),
    # --- training ------------------------------------------------------------------------------
    Field("batch_size", "int", 32, group="training", label="Batch size", lo=1, hi=256,
          help="Sequences per training step N.",
          reason="32 sequences give a stable gradient at a live frame rate on 2 cores"),
    Field("optimizer", "choice", "adam", group="training", label="Optimizer", main=10,
          choice_labels={"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam", "rmsprop": "RMSprop"},
          choices=OPTIMIZERS,
          help="Update rule: SGD, SGD with momentum 0.9, Adam, or RMSprop.",
          reason="Adam trains every cell with one learning rate"),
    Field("lr", "float", 1e-3, group="training", label="Learning rate", main=11, lo=1e-6, hi=10.0, log=True,
          help="Learning rate (step size) of the optimizer.",
          reason="Adam's standard step size"),
    Field("clip", "choice", "norm", group="training", label="Gradient clipping", main=8,
          choice_labels={"norm": "by norm", "value": "by value"}, choices=CLIPS,
          help="Gradient clipping: none, rescale the gradient to norm <= threshold, or clamp each entry.",
          reason="norm clipping (Pascanu 2013) keeps a demo alive; turn it off to watch explosions"),
    Field("clip_threshold", "float", 1.0, group="training", label="Clip threshold θ", main=9, lo=1e-3, hi=1e3, log=True,
          when=("clip", ("norm", "value")),
          help="Threshold theta: if ||g|| > theta then g <- theta g / ||g|| (norm); else clamp to +-theta.",
          reason="Pascanu et al. used 1; about 0.5-10x the typical gradient norm"),
    # --- initialisation ------------------------------------------------------------------------
    Field("init", "choice", "default", group="init", label="Initialisation of W_hh", main=5,
          choice_labels={"default": "PyTorch default", "xavier": "Xavier", "identity": "identity (IRNN)",
                         "scaled": "scaled to spectral radius ρ"}, choices=INITS,
          help="Recurrent weights W_hh: PyTorch's default, Xavier, orthogonal, identity (IRNN), or "
               "Gaussian scaled to spectral radius rho.",
          reason="PyTorch's own init is what students get out of the box"),
    Field("rho", "float", 1.0, group="init", label="Spectral radius ρ", main=6, widget="slider", step=0.05,
          lo=0.0, hi=10.0, when=("init", ("scaled",)),
          help="Spectral radius rho = max|eig(W_hh)|: the long-run rate per step (sigma_max bounds each step).",
          reason="1.0 is the long-run edge between vanishing and exploding"),
    Field("forget_bias", "choice", "default", group="init", label="Forget-gate bias", main=7,
          choice_labels={"default": "PyTorch default", "zero": "0", "one": "1"}, choices=FORGET_BIASES,
          when=("cell", ("lstm",)),
          help="LSTM forget-gate bias: PyTorch's default, 0, 1, or chrono (b_f ~ log U(1, T-1), b_i = -b_f).",
          reason="PyTorch's default; bias 1 or chrono show why LSTMs remember"),
    Field("seed", "int", 0, group="init", label="Seed", main=12, lo=0, hi=2**31 - 1,
          help="Random seed for the initial weights and the batches: same seed, same run.",
          reason="a fixed seed makes every demo repeat exactly"),
    # --- run -----------------------------------------------------------------------------------
    Field("record_every", "int", 1, group="run", label="Record every k steps", lo=1, hi=10_000,
          help="Record hidden states, gates and gradients of the probe batch every k steps.",
          reason="recording is cheap; every step gives the smoothest animation"),
    Field("max_steps", "int", 2000, group="run", label="Stop after steps", lo=1, hi=100_000,
          help="Training stops (state 'finished') after this many steps.",
          reason="enough for LSTM/GRU to beat the adding baseline at T=50, a few minutes live"),
    Field("probe_size", "int", 4, group="run", label="Probe sequences", widget="slider", lo=1, hi=16,
          help="Fixed probe sequences whose internals are recorded (same sequences at every step).",
          reason="four sequences fit side by side on a slide"),
    Field("checkpoint_every", "int", 100, group="run", label="Checkpoint every", lo=1, hi=10_000,
          help="Keep a copy of the weights every k steps so the run can be rewound.",
          reason="100 steps: fine-grained rewind at little memory"),
    Field("pause_grad_norm", "float", 0.0, group="run", label="Pause if ||g|| >", lo=0.0, hi=1e12,
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
    G, H, N = len(cells.get(v["cell"]).blocks), v["hidden_size"], v["batch_size"]
    P, Lyr = v["probe_size"], v["num_layers"]
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
                raise RnnvizError(msg, field=rule.fields[0], rule=rule.name, value=values[rule.fields[0]])

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

        values = _preset_base(params, fail).to_dict()
        for key, raw in params.items():
            if key != "preset":
                _parse_param(values, key, raw, fail)
        for rule in RULES:
            msg = rule.check(values)
            if msg is not None:
                if strict:
                    raise RnnvizError(msg)
                problems.append(f"{msg}; using the default for {', '.join(_reset_until(rule, values))}")
        try:
            return cls(**values), problems
        except RnnvizError as err:  # a later reset broke an earlier rule: start over from defaults
            if strict:
                raise
            problems.append(f"{err}; using the default config")
            return cls(), problems


def _param_text(v: Any) -> str:
    """A URL value as text; a list (``parse_qs``, repeated keys) gives its last item."""
    if isinstance(v, list | tuple):
        return str(v[-1]) if v else ""
    return str(v)


def _preset_base(params: Mapping[str, Any], fail: Callable[[str], None]) -> ExperimentConfig:
    """The config a link starts from: its ``preset=``'s, else the defaults (a bad name is reported)."""
    from rnnviz.presets import PRESETS

    if "preset" not in params:
        return ExperimentConfig()
    key = preset_key(_param_text(params["preset"]))
    if key is None:
        fail(f"preset: must be one of {', '.join(PRESETS)}, got {_param_text(params['preset'])!r}; ignored")
        return ExperimentConfig()
    return PRESETS[key].config


def _parse_param(values: dict[str, Any], key: str, raw: Any, fail: Callable[..., None]) -> None:
    """Parse one URL parameter into ``values``; a bad value is reported and the default used."""
    f = FIELDS.get(key)
    if f is None:
        fail(f"{key}: not a config field; ignored")
        return
    try:
        values[key] = f.parse(_param_text(raw))
    except RnnvizError as err:
        default = f.format(f.default)
        fail(f"{key}: must be {f.rule}, got {_param_text(raw)!r}; using the default {default}", err)
        values[key] = f.default


def _reset_until(rule: Rule, values: dict[str, Any]) -> list[str]:
    """Reset ``rule``'s fields to their defaults one by one until it holds; the names reset."""
    reset = []
    for name in rule.fields:
        if values[name] != FIELDS[name].default:
            values[name] = FIELDS[name].default
            reset.append(name)
            if rule.check(values) is None:
                break
    return reset


# --------------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------------


def preset_key(text: Any) -> str | None:
    """The PRESETS key a link's ``preset=`` names, in any spelling (case, spaces, ``_`` for ``-``),
    or None. The one place a preset name is normalised."""
    from rnnviz.presets import PRESETS

    key = str(text).strip().lower().replace("_", "-")
    return key if key in PRESETS else None


def __getattr__(name: str):
    """``config.PRESETS`` and friends live in rnnviz/presets.py (which builds ExperimentConfigs, so it
    imports this module): read lazily so either module can be imported first."""
    if name in ("PRESETS", "PRESET_RANGES", "Preset", "quote_number"):
        from rnnviz import presets

        return getattr(presets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
