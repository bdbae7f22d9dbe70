"""The grid of a sweep: ``FIELD=LO:HI:N[:log]`` axes (:func:`parse_axis`) and every point x seed as a
validated config (:func:`plan`). Rules in rnnviz/sweep/__init__.py's docstring."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnnviz.config import FIELDS, ExperimentConfig
from rnnviz.errors import RnnvizError

__all__ = ["GridAxis", "parse_axis", "SweepPoint", "plan", "MAX_AXIS_VALUES", "MAX_RUNS"]

#: At most this many values per axis, and configs (points x seeds) per sweep.
MAX_AXIS_VALUES = 1000
MAX_RUNS = 100_000


@dataclass(frozen=True)
class GridAxis:
    """One swept field and its values (ints for integer fields, floats otherwise), in order."""

    field: str
    values: tuple


_SPEC = "--grid takes FIELD=LO:HI:N or FIELD=LO:HI:N:log"


def _field_and_parts(spec) -> tuple[str, object, list[str], bool]:
    """(field name, its Field, [LO, HI, N(, log)], log spacing) of a well-formed spec on a numeric field."""
    if not isinstance(spec, str):
        raise RnnvizError(f"{_SPEC}, got {spec!r}")
    name, sep, rest = spec.partition("=")
    name = name.strip()
    parts = [p.strip() for p in rest.split(":")]
    if not sep or not name or len(parts) not in (3, 4):
        raise RnnvizError(f"{_SPEC}, got {spec!r}")
    f = FIELDS.get(name)
    numeric = [n for n, fld in FIELDS.items() if fld.kind in ("int", "float")]
    if f is None or f.kind not in ("int", "float"):
        what = "not a config field" if f is None else f"a {f.kind} field"
        raise RnnvizError(f"--grid FIELD must be an int or float config field ({', '.join(numeric)}), "
                          f"got {name!r} ({what})")
    log = len(parts) == 4
    if log and parts[3].lower() != "log":
        raise RnnvizError(f"{_SPEC} (the 4th part can only be 'log'), got {parts[3]!r} in {spec!r}")
    return name, f, parts, log


def _bound(name: str, label: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise RnnvizError(f"--grid {name}: {label} must be a number, got {text!r}") from None
    if not math.isfinite(v):
        raise RnnvizError(f"--grid {name}: {label} must be a finite number, got {text!r}")
    return v


def _range(name: str, parts: list[str], log: bool) -> tuple[float, float, int]:
    """(LO, HI, N) checked: finite bounds, 1 <= N <= MAX_AXIS_VALUES, LO <= HI, one value for N = 1,
    LO > 0 for log spacing."""
    lo, hi = _bound(name, "LO", parts[0]), _bound(name, "HI", parts[1])
    try:
        n = int(parts[2])
    except ValueError:
        raise RnnvizError(f"--grid {name}: N must be an integer in 1..{MAX_AXIS_VALUES}, "
                          f"got {parts[2]!r}") from None
    if not 1 <= n <= MAX_AXIS_VALUES:
        raise RnnvizError(f"--grid {name}: N must be an integer in 1..{MAX_AXIS_VALUES}, got {n}")
    if lo > hi:
        raise RnnvizError(f"--grid {name}: LO must be at most HI, got LO={lo:g} > HI={hi:g}")
    if n == 1 and lo != hi:
        raise RnnvizError(f"--grid {name}: N = 1 needs LO = HI (one value), got LO={lo:g}, HI={hi:g}")
    if log and lo <= 0:
        raise RnnvizError(f"--grid {name}: log spacing needs LO > 0, got LO={lo:g}")
    return lo, hi, n


def parse_axis(spec: str) -> GridAxis:
    """``"rho=0.5:2.0:20"`` -> GridAxis("rho", 20 floats); ``"seq_len=10:1000:5:log"`` -> 5 ints.

    Raises RnnvizError naming the rule and the value for: a malformed spec, a field that is not an
    int or float config field, a non-numeric bound, N not an integer in 1..MAX_AXIS_VALUES, LO > HI,
    N = 1 with LO != HI, log spacing with LO <= 0, or a value outside the field's own range.
    """
    name, f, parts, log = _field_and_parts(spec)
    lo, hi, n = _range(name, parts, log)
    raw = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
    raw[0], raw[-1] = lo, hi  # exact ends (geomspace can be off by an ulp)
    if f.kind == "int":
        values = tuple(dict.fromkeys(int(round(v)) for v in raw))  # round half to even, drop repeats
    else:
        values = tuple(dict.fromkeys(float(v) for v in raw))
    for v in values:
        try:
            f.check(v)
        except RnnvizError:
            raise RnnvizError(f"--grid {name}: every value must be {f.rule}, got {f.format(v)} "
                              f"(from {spec!r})") from None
    return GridAxis(name, values)




@dataclass(frozen=True)
class SweepPoint:
    """One grid point: ``values`` (one per axis, axis order) and its validated config per seed."""

    values: tuple
    configs: tuple[ExperimentConfig, ...]


def plan(base: ExperimentConfig, axes: Sequence[GridAxis], seeds: int = 1) -> list[SweepPoint]:
    """Every grid point (Cartesian product, first axis outermost) with a config per seed.

    Each config is ``base.replace(**point, seed=base.seed + k)``, validated by ExperimentConfig's
    own field and cross-field rules; the first invalid one refuses the whole sweep (RnnvizError
    naming the point and the rule) before anything runs, so a finished sweep has every row.
    """
    if not axes:
        raise RnnvizError("a sweep needs at least one --grid axis, got none")
    names = [a.field for a in axes]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RnnvizError(f"--grid fields must be distinct, got {', '.join(dup)} more than once")
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise RnnvizError(f"seeds must be an integer >= 1, got {seeds!r}")
    if "seed" in names and seeds > 1:
        raise RnnvizError(f"seeds must be 1 when seed is a grid axis (the axis chooses the seeds), got {seeds}")
    total = math.prod(len(a.values) for a in axes) * seeds
    if total > MAX_RUNS:
        raise RnnvizError(f"a sweep must have at most {MAX_RUNS:,} configs (points x seeds), got {total:,}")
    seed_field = FIELDS["seed"]
    last_seed = base.seed + seeds - 1
    if seeds > 1 and last_seed > seed_field.hi:
        raise RnnvizError(f"seeds: the last seed {last_seed} must be {seed_field.rule}")
    points = []
    for values in itertools.product(*(a.values for a in axes)):
        changes = dict(zip(names, values, strict=True))
        configs = []
        for k in range(seeds):
            extra = {} if "seed" in names else {"seed": base.seed + k}
            try:
                configs.append(base.replace(**changes, **extra))
            except RnnvizError as e:
                where = ", ".join(f"{n}={FIELDS[n].format(v)}" for n, v in changes.items())
                raise RnnvizError(f"grid point {where} breaks a config rule, so the sweep is refused: {e}") from None
        points.append(SweepPoint(tuple(values), tuple(configs)))
    return points

