"""The Phase diagram page's sweep: a two-field grid around the live config, computed in bounded slices.

A :class:`PhaseGrid` is the live config (``base``), a row axis ``y`` and a column axis ``x`` (each a
:class:`~rnnviz.sweep.grid.GridAxis` over one config field), ``seeds`` and ``steps``:

- ``steps = 0``: every point x seed at initialisation, exactly ``python -m rnnviz sweep``'s columns
  (:func:`~rnnviz.sweep.step0.init_stats`: the app's step 0, batched, bit-identical to ``trace``);
- ``steps = K``: every point x seed trained K steps by the Trainer (as the Playground trains it), then
  the same three numbers from the trainer's own record of step K (the weights after K updates, step K's
  batch)::

      grad_ratio      = ||dL/dh_1|| / ||dL/dh_T||        (layer 0, forward; analysis.gradient_ratio)
      sigma_max       = max over gate blocks of sigma_max(W_hh)          (recorded singular values)
      spectral_radius = max over gate blocks of max |eig(W_hh)|          (recorded eigenvalues)

  A run that diverges before step K has no value at K (nan, counted in ``PhaseTable.diverged``).

Per point: the median over seeds, and the min and max (``table.phase_rows``, the sweep CSV's columns).

:class:`PhaseJob` does the work in slices of at most about ``SLICE_SECONDS`` of estimated compute
(``config.step_seconds``, the step-cost rule: an upper bound for a step-0 ratio, one training step
for a training slice), so a server can run each slice inside one training slot and let other
sessions in between; ``run_next()`` is thread-safe, so sessions asking for the same grid share one job.

The theory lines (:func:`theory_lines`) are found in the measured columns, per column of the grid: the
row position where the median sigma_max * gamma = 1 (gamma = ``cells.Cell.gamma``) and where the
median spectral radius * gamma = 1, by linear interpolation between neighbouring rows. sigma_max * gamma < 1
bounds every backward step of a plain RNN, ``||dh_t/dh_{t-1}|| <= gamma sigma_max(W_hh)`` (Pascanu et al.
2013), so the gradient vanishes at every step on that side; the spectral radius is only the long-run rate
of ``W_hh^n`` (no bound). A gated cell's step Jacobian has gate factors too: no line is drawn for it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rnnviz import cells
from rnnviz.config import FIELDS, ExperimentConfig, step_seconds
from rnnviz.errors import RnnvizError
from rnnviz.sweep.grid import GridAxis, SweepPoint, parse_axis, plan
from rnnviz.sweep.step0 import InitStats, init_stats
from rnnviz.sweep.table import PHASE_COLUMNS, phase_rows, rows_to_csv

__all__ = ["AXIS_FIELDS", "AXIS_DEFAULTS", "INIT_IGNORES", "AxisChoice", "PhaseGrid", "PhaseJob", "PhaseTable",
           "TheoryLine",
           "axis", "choice_for", "default_axes", "estimated_seconds", "phase_grid", "theory_lines", "trained_stats",
           "MAX_POINTS", "MAX_SEEDS", "MAX_TRAIN_STEPS", "MAX_GRID_SECONDS", "SLICE_SECONDS"]

#: Fields a phase diagram may sweep (int/float fields that change the network, its data or its training).
AXIS_FIELDS = ("rho", "seq_len", "hidden_size", "num_layers", "batch_size", "lr", "clip_threshold", "noise",
               "n_waves", "parity_bits", "seed")


@dataclass(frozen=True)
class AxisChoice:
    """What the page's axis knobs hold: a field, from, to, points, log spacing."""

    field: str
    lo: float
    hi: float
    n: int
    log: bool = False


#: Fields a step-0 measurement never reads (model, first batch and loss do not depend on them).
INIT_IGNORES = ("optimizer", "lr", "clip", "clip_threshold", "record_every", "max_steps", "probe_size",
                "checkpoint_every", "pause_grad_norm")

#: Each field's default range when chosen as an axis (points are set by the page).
AXIS_DEFAULTS: dict[str, tuple[float, float, bool]] = {
    "rho": (0.5, 2.0, False), "seq_len": (10, 200, False), "hidden_size": (8, 128, True),
    "num_layers": (1, 3, False), "batch_size": (4, 128, True), "lr": (1e-4, 1e-1, True),
    "clip_threshold": (0.1, 10.0, True), "noise": (0.0, 1.0, False), "n_waves": (1, 5, False),
    "parity_bits": (1, 8, False), "seed": (0, 9, False),
}

#: Caps: points per axis, seeds, training steps, estimated compute of one grid (seconds, step-cost rule).
MAX_POINTS = 24
MAX_SEEDS = 5
MAX_TRAIN_STEPS = 500
MAX_GRID_SECONDS = 240.0
#: Estimated compute of one slice (one training slot held at a time).
SLICE_SECONDS = 0.3


def axis(choice: AxisChoice) -> GridAxis:
    """The axis of a page's knobs, checked with the page's words (field, range, points, spacing)."""
    name = choice.field
    if name not in AXIS_FIELDS:
        raise RnnvizError(f"a phase-diagram axis must be one of {', '.join(AXIS_FIELDS)}, got {name!r}")
    f = FIELDS[name]
    n = choice.n
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= MAX_POINTS:
        raise RnnvizError(f"{f.label}: points must be an integer in 2..{MAX_POINTS}, got {n!r}")
    lo, hi = choice.lo, choice.hi
    for what, v in (("from", lo), ("to", hi)):
        if not isinstance(v, int | float | np.number) or not math.isfinite(v) or not f.lo <= v <= f.hi:
            raise RnnvizError(f"{f.label}: '{what}' must be {f.rule}, got {v!r}")
    if lo >= hi:
        raise RnnvizError(f"{f.label}: 'from' must be below 'to', got from={lo:g}, to={hi:g}")
    if choice.log and lo <= 0:
        raise RnnvizError(f"{f.label}: log spacing needs 'from' > 0, got from={lo:g}")
    ax = parse_axis(f"{name}={lo!r}:{hi!r}:{int(n)}" + (":log" if choice.log else ""))
    if len(ax.values) < 2:
        raise RnnvizError(f"{f.label}: the range {lo:g}..{hi:g} holds one integer value, got {ax.values}")
    return ax


@dataclass(frozen=True)
class PhaseGrid:
    """A grid around ``base``: rows ``y``, columns ``x``, ``seeds`` seeds, at init (``steps=0``) or after
    ``steps`` training steps. Hashable: it is the cache key of its table."""

    base: ExperimentConfig
    y: GridAxis
    x: GridAxis
    seeds: int = 1
    steps: int = 0

    @property
    def key(self) -> tuple:
        """What the grid's numbers depend on (its cache key): at initialisation the training-only fields
        (``INIT_IGNORES``) are left out, so grids that differ only in them share one computation."""
        base = self.base
        if self.steps == 0:
            keep = (self.y.field, self.x.field)
            try:
                base = base.replace(**{f: FIELDS[f].default for f in INIT_IGNORES if f not in keep})
            except RnnvizError:  # the defaults break a rule with this config (e.g. probe_size): keep it whole
                pass
        return (base, self.y, self.x, self.seeds, self.steps)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.y.values), len(self.x.values)

    def config_at(self, row: int, col: int) -> ExperimentConfig:
        """The live config with this cell's two values (the base's own seed)."""
        ny, nx = self.shape
        if not (0 <= row < ny and 0 <= col < nx):
            raise RnnvizError(f"grid cell must be a row in 0..{ny - 1} and a column in 0..{nx - 1}, got ({row}, {col})")
        return self.base.replace(**{self.y.field: self.y.values[row], self.x.field: self.x.values[col]})

    def live_position(self) -> tuple[float, float]:
        """(row, column) of the base config's own two values on the grid, as fractional indices
        (linear between neighbouring grid values); nan on an axis whose range does not hold it."""

        def at(ax: GridAxis) -> float:
            v, values = float(getattr(self.base, ax.field)), np.asarray(ax.values, dtype=np.float64)
            return float(np.interp(v, values, np.arange(len(values)))) if values[0] <= v <= values[-1] else math.nan

        return at(self.y), at(self.x)

    def points(self) -> list[SweepPoint]:
        """Every point (rows outermost) x seed, validated (the first broken rule refuses the grid)."""
        return plan(self.base, [self.y, self.x], self.seeds)

    def cli(self) -> str:
        """The same sweep (at initialisation) from the command line."""
        sets = " ".join(f"--set {k}={v}" for k, v in self.base.to_params().items()
                        if k not in (self.y.field, self.x.field))
        grids = " ".join(f"--grid {a.field}={_fmt(a.values[0])}:{_fmt(a.values[-1])}:{len(a.values)}"
                         for a in (self.y, self.x))
        return f"python -m rnnviz sweep {sets} {grids} --seeds {self.seeds} --out phase.csv".replace("  ", " ")


def _fmt(v) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


def phase_grid(base: ExperimentConfig, y: AxisChoice, x: AxisChoice, seeds: int = 1, steps: int = 0) -> PhaseGrid:
    """A checked grid: two distinct axes that matter under ``base``, seeds in 1..MAX_SEEDS, steps in
    0..MAX_TRAIN_STEPS, every point a valid config, and at most MAX_GRID_SECONDS of estimated compute."""
    if y.field == x.field:
        raise RnnvizError(f"the two axes must be different fields, got {FIELDS[x.field].label} twice")
    for c in (y, x):
        if c.field in FIELDS and not base.relevant(c.field):
            other, values = FIELDS[c.field].when
            allowed = " or ".join(FIELDS[other].choice_label(v) for v in values)
            raise RnnvizError(f"{FIELDS[c.field].label} only matters when {FIELDS[other].label} is {allowed}, "
                              f"got {FIELDS[other].label} = {FIELDS[other].choice_label(getattr(base, other))}: "
                              f"change it in the sidebar or choose another axis")
    ay, ax = axis(y), axis(x)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise RnnvizError(f"seeds must be an integer in 1..{MAX_SEEDS}, got {seeds!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_TRAIN_STEPS:
        raise RnnvizError(f"training steps must be an integer in 0..{MAX_TRAIN_STEPS}, got {steps!r}")
    grid = PhaseGrid(base, ay, ax, seeds, steps)
    seconds = estimated_seconds(grid)
    if seconds > MAX_GRID_SECONDS:
        raise RnnvizError(f"a phase grid must be estimated at most {MAX_GRID_SECONDS:g} s of compute, got "
                          f"{seconds:.0f} s for {len(ay.values)} x {len(ax.values)} points x {seeds} seed(s)"
                          + (f" x {steps + 1} steps" if steps else "") + ": fewer points, seeds or steps")
    return grid


def _cost(config: ExperimentConfig) -> float:
    """Estimated seconds of one recorded training step of ``config`` (the step-cost rule)."""
    return step_seconds(config.to_dict())


def estimated_seconds(grid: PhaseGrid) -> float:
    """Upper estimate of the grid's compute: one step per config at init, steps + 1 when trained."""
    per = grid.steps + 1
    return sum(_cost(c) for p in grid.points() for c in p.configs) * per


def default_axes(base: ExperimentConfig, points: tuple[int, int] = (16, 12)) -> tuple[AxisChoice, AxisChoice]:
    """(rows, columns): rho x seq_len when rho acts (init = scaled), else hidden_size x seq_len."""
    row = "rho" if base.relevant("rho") else "hidden_size"
    return choice_for(row, points[0]), choice_for("seq_len", points[1])


def choice_for(name: str, n: int) -> AxisChoice:
    lo, hi, log = AXIS_DEFAULTS[name]
    return AxisChoice(name, lo, hi, n, log)


@dataclass(frozen=True)
class TheoryLine:
    """A line across the grid: per column its row position (fractional row index; nan where the
    quantity does not cross 1 in that column), its label, and on which side (``"below"``: smaller row
    index) the quantity times gamma is under 1."""

    name: str
    label: str
    rows: np.ndarray
    under_one: str


@dataclass(frozen=True)
class PhaseTable:
    """A computed grid: (rows, columns) arrays of the per-point medians and ranges over seeds."""

    grid: PhaseGrid
    ratio: np.ndarray
    ratio_min: np.ndarray
    ratio_max: np.ndarray
    sigma_max: np.ndarray
    spectral_radius: np.ndarray
    diverged: np.ndarray  # runs per point that diverged before step K (always 0 at init)
    rows: list = field(default_factory=list, compare=False)

    def csv(self) -> str:
        """The sweep CSV's columns (grid fields, then PHASE_COLUMNS), one row per point."""
        return rows_to_csv(self.rows, [self.grid.y.field, self.grid.x.field, *PHASE_COLUMNS])


def _crossings(q: np.ndarray, level: float) -> tuple[np.ndarray, str]:
    """Per column, the fractional row where ``q`` (rows, cols) crosses ``level`` (first crossing, linear
    interpolation between rows), and which side is under it ("below": smaller row index, "above", or "")."""
    ny, nx = q.shape
    out = np.full(nx, np.nan)
    sides = []
    for j in range(nx):
        col = q[:, j]
        for i in range(ny - 1):
            a, b = col[i], col[i + 1]
            if not (math.isfinite(a) and math.isfinite(b)) or a == b:
                continue
            if (a - level) * (b - level) <= 0:
                out[j] = i + (level - a) / (b - a)
                sides.append("below" if a < b else "above")
                break
    return out, (sides[0] if sides and all(s == sides[0] for s in sides) else "")


def theory_lines(table: PhaseTable, loss_at_end_only: bool) -> tuple[list[TheoryLine], str]:
    """The theory lines of a plain RNN's grid and one sentence saying what they bound (or why none).

    ``loss_at_end_only``: the loss reaches layer 0's recurrence only through h_T
    (``flow.gradient_enters_at_T_only``), so the ratio itself is bounded by (gamma sigma_max)^(T-1)."""
    cell = cells.get(table.grid.base.cell)
    g = cell.gamma
    if cell.gates:
        return [], (f"No theory line: in the {cell.label}, h_t depends on h_(t−1) through gates"
                    + (" and the cell state" if cell.name == "lstm" else "")
                    + ", so σ_max(W_hh)·γ bounds no step.")
    lines = []
    sig_rows, sig_side = _crossings(table.sigma_max, 1 / g)
    if np.isfinite(sig_rows).any():
        what = ("there the ratio is at most (γσ_max)^(T−1) < 1" if loss_at_end_only else
                "the loss also enters at every step here, so the ratio itself is not bounded")
        lines.append(TheoryLine("sigma", f"σ_max·γ = 1: {sig_side or 'on one side'}, every step shrinks",
                                sig_rows, sig_side))
        median = " (median over the seeds)" if table.grid.seeds > 1 else ""
        where = f"{sig_side.capitalize()} the solid line" if sig_side else "On one side of the solid line"
        words = (f"{where} σ_max(W_hh)·γ < 1{median}: that bounds every backward step (γ = {g:g} for "
                 f"{cell.nonlinearity}), so the gradient vanishes at every step; {what}.")
    else:
        lo, hi = np.nanmin(table.sigma_max), np.nanmax(table.sigma_max)
        words = (f"σ_max(W_hh)·γ is {lo:.3g} to {hi:.3g} here, never 1 (γ = {g:g}): "
                 + ("every step shrinks the gradient at every point." if hi * g < 1 else
                    "no per-step guarantee anywhere in this grid." if lo * g > 1 else ""))
    rad_rows, rad_side = _crossings(table.spectral_radius, 1 / g)
    if np.isfinite(rad_rows).any():
        lines.append(TheoryLine("radius", "ρ·γ = 1: long-run rate (no bound)", rad_rows, rad_side))
        words += " The dashed line is where the spectral radius ρ·γ = 1: the long-run rate of W_hhⁿ, not a bound."
    return lines, words


# --------------------------------------------------------------------------------------------------
# Computing a grid in bounded slices
# --------------------------------------------------------------------------------------------------
def trained_stats(config: ExperimentConfig, steps: int, data=None) -> tuple[InitStats, bool]:
    """(InitStats after ``steps`` training steps, diverged) of one config, in one go (the slice-free
    version of what PhaseJob does; tests use it as the reference)."""
    run = _TrainedRun(config, steps, data)
    while not run.done:
        run.advance(steps + 1)
    return run.result()


class _TrainedRun:
    """One config trained to step K (``steps``) in resumable chunks; record_every = K so only steps 0 and
    K are recorded (the weights are bit-identical whichever steps are recorded)."""

    def __init__(self, config: ExperimentConfig, steps: int, data=None):
        from rnnviz.trainer import Trainer

        self.steps = steps
        self.trainer = Trainer(config.replace(record_every=max(1, steps), max_steps=steps + 1,
                                              checkpoint_every=FIELDS["checkpoint_every"].hi,
                                              pause_grad_norm=0.0), data)

    @property
    def done(self) -> bool:
        t = self.trainer
        return t.step_count > self.steps or t.state in ("diverged", "finished")

    def advance(self, n: int) -> None:
        self.trainer.step(max(1, min(n, self.steps + 1 - self.trainer.step_count)))

    def result(self) -> tuple[InitStats, bool]:
        from rnnviz.analysis import gradient_ratio

        t = self.trainer
        rec = t.history.record_at(self.steps)
        if t.state == "diverged" or rec is None or rec.step != self.steps:
            return InitStats(math.nan, math.nan, math.nan), True
        sv, ev = rec.singular_values[0, 0], rec.eigenvalues[0, 0]  # (G, H), descending
        return InitStats(float(np.max(sv[:, 0])), float(np.max(np.abs(ev[:, 0]))),
                         gradient_ratio(rec.grad_norms[0, 0])), False


class PhaseJob:
    """A grid computed slice by slice; ``run_next()`` does one slice (about SLICE_SECONDS of estimated
    compute), ``done`` / ``finished`` / ``total`` report progress, ``table()`` the result when done."""

    def __init__(self, grid: PhaseGrid, data=None):
        self.grid, self.data = grid, data
        self.points = grid.points()
        self.configs = [c for p in self.points for c in p.configs]
        self.total = len(self.configs)
        self.stats: list[InitStats | None] = [None] * self.total
        self.diverged = [False] * self.total
        self.finished = 0
        self.lock = threading.Lock()
        self._slices = _init_slices(self.configs) if grid.steps == 0 else None
        self._next = 0
        self._run: _TrainedRun | None = None
        self._table: PhaseTable | None = None

    @property
    def done(self) -> bool:
        return self.finished >= self.total

    def run_next(self) -> None:
        """Compute the next slice (a no-op when done). Thread-safe: callers take turns."""
        with self.lock:
            if self.done:
                return
            if self._slices is not None:
                idx = self._slices[self._next]
                self._next += 1
                for i, s in zip(idx, init_stats([self.configs[i] for i in idx], self.data), strict=True):
                    self.stats[i] = s
                self.finished += len(idx)
                return
            i = self.finished
            if self._run is None:
                self._run = _TrainedRun(self.configs[i], self.grid.steps, self.data)
            run = self._run
            run.advance(max(1, int(SLICE_SECONDS / max(_cost(self.configs[i]), 1e-9))))
            if run.done:
                self.stats[i], self.diverged[i] = run.result()
                self._run = None
                self.finished += 1

    def table(self) -> PhaseTable:
        if not self.done:
            raise RnnvizError(f"the phase grid is not computed yet: {self.finished} of {self.total} configs done")
        with self.lock:
            if self._table is None:
                self._table = _table(self.grid, self.points, self.stats, self.diverged)
            return self._table


def _init_slices(configs: Sequence[ExperimentConfig]) -> list[list[int]]:
    """Config indices in slices of one shape each (so every slice is one batched computation) holding at
    most about SLICE_SECONDS of estimated compute (at least one config)."""
    groups: dict = {}
    for i, c in enumerate(configs):
        groups.setdefault((c.cell, c.hidden_size, c.batch_size, c.length, c.num_layers, c.bidirectional,
                           c.task), []).append(i)
    slices = []
    for idx in groups.values():
        cur, spent = [], 0.0
        for i in idx:
            cost = _cost(configs[i])
            if cur and spent + cost > SLICE_SECONDS:
                slices.append(cur)
                cur, spent = [], 0.0
            cur.append(i)
            spent += cost
        slices.append(cur)
    return slices


def _table(grid: PhaseGrid, points, stats, diverged) -> PhaseTable:
    rows = phase_rows(points, stats, [grid.y, grid.x])
    ny, nx = grid.shape

    def col(name):
        return np.array([r[name] for r in rows], dtype=np.float64).reshape(ny, nx)

    k = grid.seeds
    div = np.array([sum(diverged[p * k:(p + 1) * k]) for p in range(len(points))]).reshape(ny, nx)
    return PhaseTable(grid, col("grad_ratio"), col("grad_ratio_min"), col("grad_ratio_max"), col("sigma_max"),
                      col("spectral_radius"), div, rows)
