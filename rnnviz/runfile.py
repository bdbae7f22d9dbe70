"""What a run file may hold, checked before any array is read (:func:`check_layout`), and the checks
:meth:`rnnviz.recording.RunHistory.from_arrays` makes on the arrays it reads (:func:`read_meta`,
:func:`checked_status`, :func:`checked_scalars`, :func:`checked_records`, :func:`checked_full`,
:func:`checked_probe`). Every rule breaks with an ``RnnvizError`` that names the array and the value.

Shapes as in docs/ARCHITECTURE.md: ``Lyr`` layers, ``D`` directions, ``L = config.length``, ``H`` hidden
size, ``P = probe_size``, ``G`` the cell's gate blocks of ``W_hh`` (1 | 4 | 3), ``I``/``O`` the task's
input/output sizes, ``n`` steps, ``S`` records, ``R`` full records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz import cells
from rnnviz.errors import RnnvizError
from rnnviz.recording import HEAVY_ARRAYS, LIGHT, SCALARS, STATES

__all__ = ["check_layout", "read_meta", "RunMeta", "checked_status", "checked_scalars", "checked_records",
           "checked_full", "checked_probe", "MAX_REASON_CHARS"]

#: A status reason is one short sentence written by the trainer (e.g. "loss became nan at step 12").
MAX_REASON_CHARS = 200
_STATUS_KEYS = ("state", "reason", "diverged_step")
_PROBE = ("x", "y", "mask")
#: dtype kind of each light field: float, except the complex eigenvalues.
_LIGHT_KINDS = {"grad_norms": "f", "cell_grad_norms": "f", "input_grad_norms": "f",
                "singular_values": "f", "eigenvalues": "c"}

_F2, _F4 = np.dtype(np.float16), np.dtype(np.float32)
_C8, _I8 = np.dtype(np.complex64), np.dtype(np.int64)


def _check(cond: bool, rule: str) -> None:
    if not cond:
        raise RnnvizError(rule)


def _need(arrays: dict, key: str):
    """``arrays[key]`` (an array, or a declared (shape, dtype)); RnnvizError naming it when missing."""
    if key not in arrays:
        raise RnnvizError(f"run data must contain array {key!r}; it is missing")
    return arrays[key]


# ------------------------------------------------------------------ the arrays as read (from_arrays)
@dataclass(frozen=True)
class RunMeta:
    """The metadata entries of a run file, typed (not yet checked against the arrays)."""

    status: dict
    keep_latest: int | None
    heavy_budget_bytes: int
    param_blocks: list[str]
    gate_names: list[str]
    light: list[str]
    heavy: list[str]
    probe: list[str]


def read_meta(meta) -> RunMeta:
    """The typed metadata: a JSON object with every entry, known light/heavy names, sane budgets."""
    _check(isinstance(meta, dict), f"run metadata must be a JSON object, got {type(meta).__name__}")
    try:
        m = RunMeta(status=dict(meta["status"]), keep_latest=meta["keep_latest"],
                    heavy_budget_bytes=int(meta["heavy_budget_bytes"]),
                    param_blocks=[str(b) for b in meta["param_blocks"]],
                    gate_names=[str(g) for g in meta["gate_names"]], light=[str(x) for x in meta["light"]],
                    heavy=[str(x) for x in meta["heavy"]], probe=[str(x) for x in meta["probe"]])
    except (KeyError, TypeError, ValueError) as e:
        raise RnnvizError(f"run metadata must have status, keep_latest, param_blocks, gate_names, "
                          f"light, heavy and probe entries: {e!r}") from None
    keep = m.keep_latest
    _check(keep is None or (isinstance(keep, int) and keep >= 1),
           f"keep_latest must be a positive integer or null, got {keep!r}")
    _check(set(m.light) <= set(LIGHT), f"light fields must be among {LIGHT}, got {m.light}")
    allowed_heavy = set(HEAVY_ARRAYS) | {f"gate_{g}" for g in m.gate_names}
    _check(set(m.heavy) <= allowed_heavy, f"heavy fields must be among {sorted(allowed_heavy)}, got {m.heavy}")
    budget = m.heavy_budget_bytes
    _check(0 <= budget <= 2**32, f"heavy_budget_bytes must be in 0..2**32, got {budget}")
    return m


def checked_status(status: dict) -> dict:
    """A loaded run's status: a known state, a short plain reason, a step or None (RnnvizError)."""
    extra = sorted(set(status) - set(_STATUS_KEYS))
    if extra:
        raise RnnvizError(f"status must have only the keys {list(_STATUS_KEYS)}, got also {extra[:3]}")
    state, reason, d = status.get("state"), status.get("reason", ""), status.get("diverged_step")
    if state not in STATES:
        raise RnnvizError(f"status state must be one of {', '.join(STATES)}, got {str(state)[:40]!r}")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS or not reason.isprintable():
        shown = f"{len(reason):,} characters" if isinstance(reason, str) else type(reason).__name__
        raise RnnvizError(f"status reason must be one line of at most {MAX_REASON_CHARS} printable "
                          f"characters, got {shown}")
    if d is not None and (isinstance(d, bool) or not isinstance(d, int)):
        raise RnnvizError(f"status diverged_step must be an integer step or null, got {str(d)[:40]!r}")
    return {"state": state, "reason": reason, "diverged_step": d}


def checked_scalars(arrays: dict, config, diverged_step) -> dict[str, np.ndarray]:
    """``scalar/<name>``: 1-D of SCALARS' dtype, equal lengths, steps increasing within
    ``0..max_steps - 1``, and the status's ``diverged_step`` one of them (or None)."""
    n = None
    scalars = {}
    for name, dtype in SCALARS.items():
        a = _need(arrays, f"scalar/{name}")
        _check(a.ndim == 1, f"scalar/{name} must be 1-D, got shape {a.shape}")
        _check(a.dtype == np.dtype(dtype), f"scalar/{name} must be {np.dtype(dtype)}, got {a.dtype}")
        _check(n is None or len(a) == n, f"scalar/{name} must have {n} entries, got {len(a)}")
        n = len(a)
        scalars[name] = a
    steps = scalars["step"]
    _check(bool(np.all(np.diff(steps) > 0)), "scalar/step must increase strictly")
    if n:
        last = config.max_steps - 1 if config is not None else 2**31 - 1
        first, final = int(steps[0]), int(steps[-1])
        _check(0 <= first and final <= last,
               f"scalar/step must lie in 0..{last:,} (max_steps - 1), got {first:,}..{final:,}")
    d = diverged_step
    _check(d is None or d in set(steps.tolist()),
           f"status diverged_step must be one of the run's steps or null, got {d!r}")
    return scalars


def checked_records(arrays: dict, steps: np.ndarray, m: RunMeta):
    """``rec/step`` (S,) int64, increasing, each a step; ``rec/<light>`` with S rows of the right kind
    (``grad_norms`` required once there is a record); ``param/<block>`` float with S rows.
    Returns ``(rec_steps, light arrays, param arrays)``."""
    rec = _need(arrays, "rec/step")
    _check(rec.ndim == 1 and rec.dtype == np.int64, f"rec/step must be 1-D int64, got {rec.dtype}{rec.shape}")
    _check(bool(np.all(np.isin(rec, steps))), "every rec/step must be one of scalar/step")
    _check(bool(np.all(np.diff(rec) > 0)), "rec/step must increase strictly")
    r = len(rec)
    light = {}
    for name in m.light:
        a = _need(arrays, f"rec/{name}")
        kind = _LIGHT_KINDS[name]
        _check(len(a) == r and a.ndim >= 2, f"rec/{name} must have {r} rows, got shape {a.shape}")
        _check(a.dtype.kind == kind, f"rec/{name} must be of kind {kind!r}, got {a.dtype}")
        light[name] = a
    if r:
        _check("grad_norms" in m.light, "a run with records must contain rec/grad_norms")
    params = {}
    for name in m.param_blocks:
        a = _need(arrays, f"param/{name}")
        _check(len(a) == r and a.dtype.kind == "f", f"param/{name} must be float with {r} rows, "
                                                    f"got {a.dtype}{a.shape}")
        params[name] = a
    return rec, light, params


def checked_full(arrays: dict, r: int, m: RunMeta, grad_norms_shape: tuple | None):
    """``full/ordinal`` (R,) int64 increasing within ``[0, r)``; ``full/<heavy>`` float with R rows, all
    ``(Lyr, D, P, L, H)`` like ``hidden`` (matching ``grad_norms (Lyr, D, L)``) but the prediction.
    Returns ``(ordinals, stacked arrays)``."""
    ords = _need(arrays, "full/ordinal")
    _check(ords.ndim == 1 and ords.dtype == np.int64, f"full/ordinal must be 1-D int64, got {ords.dtype}")
    _check(bool(np.all(np.diff(ords) > 0)) and (len(ords) == 0 or (ords[0] >= 0 and ords[-1] < r)),
           f"full/ordinal must increase strictly within [0, {r}), got {ords[:8].tolist()}...")
    _check(not m.heavy or len(ords) > 0, "heavy fields listed but no full record kept")
    stacked = {}
    for name in m.heavy:
        a = _need(arrays, f"full/{name}")
        _check(len(a) == len(ords) and a.dtype.kind == "f",
               f"full/{name} must be float with {len(ords)} rows, got {a.dtype}{a.shape}")
        stacked[name] = a
    if grad_norms_shape is not None and "hidden" in stacked:
        lyr_d_l = grad_norms_shape
        hs = stacked["hidden"].shape[1:]
        _check(len(hs) == 5 and hs[:2] == lyr_d_l[:2] and hs[3] == lyr_d_l[2],
               f"full/hidden must be (R, Lyr, D, P, L, H) matching grad_norms {lyr_d_l}, got {hs}")
        for name, a in stacked.items():
            if name != "prediction":
                _check(a.shape[1:] == hs, f"full/{name} must have shape {hs} like hidden, got {a.shape[1:]}")
    return ords, stacked


def checked_probe(arrays: dict, m: RunMeta) -> dict[str, np.ndarray]:
    """``probe/<name>`` for every listed probe array, numeric."""
    probe = {}
    for name in m.probe:
        a = _need(arrays, f"probe/{name}")
        _check(a.dtype.kind in "fib", f"probe/{name} must be numeric, got {a.dtype}")
        probe[name] = a
    return probe


# ------------------------------------------------------------------ the layout, from the .npy headers
def _shape_of(declared: dict, name: str, ndim: int) -> tuple[int, ...]:
    shape = _need(declared, name)[0]
    if len(shape) != ndim:
        raise RnnvizError(f"{name} must have {ndim} dimension(s), got shape {shape}")
    return shape


def _check_config_free(declared: dict, n: int) -> None:
    """A file without a config holds no steps, hence nothing but empty scalars and indices."""
    if n:
        raise RnnvizError(f"a run file with steps must contain its config (config_json), got none "
                          f"with {n:,} steps")
    config_free = {f"scalar/{k}" for k in SCALARS} | {"rec/step", "full/ordinal"}
    extra = sorted(set(declared) - config_free)
    if extra:
        raise RnnvizError(f"a run file without a config holds no records, got {extra[:3]}")


def _counts(declared: dict, config) -> tuple[int, int, int]:
    """(n steps, S records, R full records), with ``R <= S <= n <= max_steps``."""
    n = _shape_of(declared, "scalar/step", 1)[0]
    if n > config.max_steps:
        raise RnnvizError(f"a run of this config has at most max_steps = {config.max_steps:,} steps, "
                          f"got {n:,}")
    S = _shape_of(declared, "rec/step", 1)[0]
    R = _shape_of(declared, "full/ordinal", 1)[0]
    if S > n or R > S:
        raise RnnvizError(f"a run has records only at its steps and full records only at its records, "
                          f"got {n:,} steps, {S:,} records, {R:,} full records")
    return n, S, R


def _listed_probe(meta: dict, n: int) -> list[str]:
    probe = [str(x) for x in meta.get("probe", [])] if isinstance(meta.get("probe"), list) else None
    if probe is None or not set(probe) <= set(_PROBE) or (n and "x" not in probe):
        raise RnnvizError(f"run metadata must list the probe arrays among {list(_PROBE)}, x included, "
                          f"got {str(meta.get('probe'))[:80]}")
    return probe


def _probe_want(declared: dict, config, probe: list[str]) -> tuple[dict, int]:
    """The probe arrays' (shape, dtypes) and O (0 without ``probe/x``)."""
    P, L = config.probe_size, config.length
    want, O = {}, 0
    if "x" in probe:
        I = _shape_of(declared, "probe/x", 3)[2]
        O = _task_output_size(config, I)
        want["probe/x"] = ((P, L, I), (_F4,))
    if "y" in probe:
        want["probe/y"] = ((P, L, O), (_F4,)) if _task_kind(config) == "regression" else ((P, L), (_I8,))
    if "mask" in probe:
        want["probe/mask"] = ((P, L), (np.dtype(np.bool_),))
    return want, O


def _record_shapes(config, S: int, R: int, O: int) -> tuple[dict, list[str], tuple, dict]:
    """(light shapes, parameter blocks, gates, heavy shapes) a run of ``config`` records."""
    cell = cells.get(config.cell)
    Lyr, D, L, H, P = config.num_layers, config.directions, config.length, config.hidden_size, config.probe_size
    G = len(cell.blocks)
    if not S:
        return {}, [], (), {}
    light = {"grad_norms": (S, Lyr, D, L), "input_grad_norms": (S, L),
             "singular_values": (S, Lyr, D, G, H), "eigenvalues": (S, Lyr, D, G, H)}
    heavy = {"hidden": (R, Lyr, D, P, L, H), **{f"gate_{g}": (R, Lyr, D, P, L, H) for g in cell.gates}}
    if cell.name == "lstm":
        light["cell_grad_norms"] = (S, Lyr, D, L)
        heavy["cell"] = (R, Lyr, D, P, L, H)
    heavy = {**heavy, "prediction": (R, P, L, O)} if R else {}
    return light, list(cell.param_blocks), cell.gates, heavy


def _check_listed(meta: dict, cell: str, light: dict, blocks: list[str], gates: tuple, heavy: dict) -> None:
    """The metadata names exactly the blocks, gates and light/heavy fields the config implies."""
    listed = {"param_blocks": (meta.get("param_blocks"), blocks, False),
              "gate_names": (meta.get("gate_names"), list(gates), False),
              "light": (meta.get("light"), sorted(light), True), "heavy": (meta.get("heavy"), sorted(heavy), True)}
    for key, (got, expected, any_order) in listed.items():
        same = isinstance(got, list) and all(isinstance(x, str) for x in got) and \
            (sorted(got) if any_order else got) == expected
        if not same:
            raise RnnvizError(f"run metadata {key} must be {expected} for this {cell} run, got {str(got)[:80]}")


def _check_declared(declared: dict, want: dict) -> None:
    """Exactly the wanted arrays, each of its shape and one of its dtypes."""
    extra = sorted(set(declared) - set(want))
    if extra:
        raise RnnvizError(f"a run file holds only the arrays its config implies, got also {extra[:3]}")
    for name, (shape, dtypes) in want.items():
        got_shape, got_dtype = _need(declared, name)
        if got_shape != shape or got_dtype not in dtypes:
            expect = " or ".join(str(d) for d in dtypes)
            raise RnnvizError(f"{name} must be {expect} of shape {shape} for this run's config, "
                              f"got {got_dtype} of shape {got_shape}")


def check_layout(meta: dict, declared: dict[str, tuple[tuple[int, ...], np.dtype]], config) -> None:
    """Check a run file's arrays against what its config and metadata imply, before any is read.

    ``declared`` maps every array name of the file (``scalar/loss``, ``rec/step`` ...) to the
    ``(shape, dtype)`` its ``.npy`` header declares. With the shapes of the module docstring:

    - ``scalar/<name> (n,)`` of SCALARS' dtype, ``n <= config.max_steps``;
    - ``rec/step (S,)`` int64 with ``S <= n``; ``rec/grad_norms`` and (LSTM) ``rec/cell_grad_norms``
      ``(S, Lyr, D, L)`` float32, ``rec/input_grad_norms (S, L)`` float32,
      ``rec/singular_values (S, Lyr, D, G, H)`` float32, ``rec/eigenvalues`` the same complex64;
      ``param/<block> (S, Lyr, D)`` float32 for exactly the cell's blocks (``cells.Cell.param_blocks``);
    - ``full/ordinal (R,)`` int64 with ``R <= S``; ``full/hidden``, (LSTM) ``full/cell`` and
      ``full/gate_<g>`` for exactly the cell's gates ``(R, Lyr, D, P, L, H)`` float16|32,
      ``full/prediction (R, P, L, O)`` float16|32;
    - ``probe/x (P, L, I)`` float32 (required once there is a step), ``probe/y`` ``(P, L, O)``
      float32 (regression) or ``(P, L)`` int64 (classification), ``probe/mask (P, L)`` bool.

    Nothing else may be in the file, and the metadata must list exactly these names. So a file can
    never make the app allocate more than its config allows, nor bring its own gate or block names.
    """
    if not isinstance(meta, dict):
        raise RnnvizError(f"run metadata must be a JSON object, got {type(meta).__name__}")
    if config is None:
        _check_config_free(declared, _shape_of(declared, "scalar/step", 1)[0])
        return
    n, S, R = _counts(declared, config)
    want: dict[str, tuple[tuple[int, ...], tuple[np.dtype, ...]]] = {
        f"scalar/{k}": ((n,), (np.dtype(t),)) for k, t in SCALARS.items()}
    want["rec/step"] = ((S,), (_I8,))
    want["full/ordinal"] = ((R,), (_I8,))
    probe_want, O = _probe_want(declared, config, _listed_probe(meta, n))
    want.update(probe_want)
    light, blocks, gates, heavy = _record_shapes(config, S, R, O)
    want.update({f"rec/{k}": (shape, (_C8 if k == "eigenvalues" else _F4,)) for k, shape in light.items()})
    want.update({f"param/{b}": ((S, config.num_layers, config.directions), (_F4,)) for b in blocks})
    want.update({f"full/{k}": (shape, (_F2, _F4)) for k, shape in heavy.items()})
    _check_listed(meta, config.cell, light, blocks, gates, heavy)
    _check_declared(declared, want)


def _task_output_size(config, input_size: int) -> int:
    """O implied by the task: fixed for the synthetic tasks, = I for csv and charlm (own data)."""
    from rnnviz.tasks import TASK_CLASSES

    cls = TASK_CLASSES[config.task]
    if not cls.uses_data:
        if input_size != cls.input_size:
            raise RnnvizError(f"probe/x must have {cls.input_size} input features for task "
                              f"{config.task}, got {input_size}")
        return cls.output_size
    limit = getattr(cls, "max_columns", None) or getattr(cls, "max_vocab", 256)
    if not 1 <= input_size <= limit:
        raise RnnvizError(f"probe/x must have 1..{limit} input features for task {config.task}, "
                          f"got {input_size}")
    return input_size


def _task_kind(config) -> str:
    from rnnviz.tasks import TASK_CLASSES

    return TASK_CLASSES[config.task].kind
