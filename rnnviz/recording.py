"""What one training step records (:class:`StepRecord`) and the bounded run history (:class:`RunHistory`).

Shapes (named once, as in docs/ARCHITECTURE.md): ``Lyr`` layers, ``D`` directions, ``L`` sequence
length, ``H`` hidden size, ``P`` probe sequences, ``I`` input features, ``O`` model outputs,
``G`` gate blocks of ``W_hh`` (1 for the vanilla RNN, 4 for the LSTM ``i f g o``, 3 for the GRU ``r z n``),
``S`` recorded steps.

Three tiers, so that a long run stays small (a 5,000-step LSTM run at H=64, L=100, P=4 with
``record_every=1`` stays well under 200 MB; see ``benchmarks/bench_engine.py``):

1. **Scalars, every step** (float64/bool, columns grown geometrically):
   ``step, loss, metric, grad_norm`` (||g||_2 over all parameters before clipping),
   ``grad_norm_clipped`` (after), ``clipped``, ``lr``, ``finite``.
2. **Light tensors, every recorded step, never thinned**: the gradient-norm curves
   ``grad_norms (Lyr, D, L)`` = ||dL/dh_t|| over the training batch, ``cell_grad_norms`` (LSTM),
   ``input_grad_norms (L,)`` = ||dL/dx_t||, ``param_grad_norms`` per gate block ``(Lyr, D)``, and the
   spectra of every ``W_hh`` gate block: ``singular_values (Lyr, D, G, H)`` (descending) and
   ``eigenvalues (Lyr, D, G, H)`` (complex, by modulus, descending). Gradient norms span 1e-20..1e20
   at T=100, so they stay float32 (range 1e-38..3e38, inf kept as inf), never float16.
3. **Heavy tensors on the fixed probe batch, thinned with age**: ``hidden``, ``cell`` (LSTM) and the
   gates ``(Lyr, D, P, L, H)``, stored float16: 3 significant digits are plenty for heatmaps and
   saturation counts, and each is bounded (tanh/sigmoid outputs lie in [-1, 1]; an LSTM cell obeys
   |c_t| <= |c_{t-1}| + 1, so |c_t| <= L <= 1000). Two exceptions stay float32: the hidden state of
   a ReLU RNN (unbounded) and the model's ``prediction (P, L, O)`` (unbounded, and small).
   Thinning: the latest ``K`` records are kept in full; an older record whose age (in records) lies
   in ``[2^(k-1) K, 2^k K)`` is kept only if its ordinal is a multiple of ``2^k``; the record of
   step 0 is always kept. Each band holds about K/2 records, so the total grows like
   ``K (1 + log2(S/K) / 2)``, and a record dropped once is never needed again (multiples of 2^k are
   a subset of multiples of 2^(k-1)).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from rnnviz import cells
from rnnviz.errors import RnnvizError

__all__ = ["StepRecord", "RunHistory", "SCALARS", "HEAVY_BUDGET_BYTES", "MAX_KEEP_LATEST", "STATES",
           "check_layout", "param_block_names"]

# name -> dtype of the per-step scalar columns. float64 for the losses/norms: they are cheap (8 B per
# step) and a diverging norm may pass float32's range before it becomes inf.
SCALARS: dict[str, type] = {
    "step": np.int64,
    "loss": np.float64,
    "metric": np.float64,
    "grad_norm": np.float64,
    "grad_norm_clipped": np.float64,
    "clipped": np.bool_,
    "lr": np.float64,
    "finite": np.bool_,
}

# Budget for the heavy probe tensors: K (records kept in full) is chosen so that about four times
# K records fit in it (the log-spaced tail roughly triples K for a few thousand records).
HEAVY_BUDGET_BYTES = 128 * 2**20
# Upper bound on K: 64 recent frames are more than a scrubbing slider needs at full resolution.
MAX_KEEP_LATEST = 64
# Lower bound on K, so that huge configs (H=256, L=1000) still show the last few frames.
MIN_KEEP_LATEST = 2

#: The states a run can be in (Trainer.state); a loaded file's status must name one of them.
STATES = ("ready", "running", "paused", "diverged", "finished")
#: A status reason is one short sentence written by the trainer (e.g. "loss became nan at step 12").
MAX_REASON_CHARS = 200
_STATUS_KEYS = ("state", "reason", "diverged_step")
_PROBE = ("x", "y", "mask")

_LIGHT = ("grad_norms", "cell_grad_norms", "input_grad_norms", "singular_values", "eigenvalues")
_HEAVY_ARRAYS = ("hidden", "cell", "prediction")


@dataclass
class StepRecord:
    """One training step: scalars always; the full record only on recorded steps (else ``None``).

    ``grad_norm`` is ||g||_2 over all parameters before clipping and ``grad_norm_clipped`` after it
    (equal when nothing was clipped). Full-record fields are described in the module docstring.
    """

    step: int
    loss: float
    metric: float
    grad_norm: float
    grad_norm_clipped: float
    clipped: bool
    lr: float
    finite: bool
    grad_norms: np.ndarray | None = None  # (Lyr, D, L) float32
    cell_grad_norms: np.ndarray | None = None  # (Lyr, D, L) float32, LSTM only
    input_grad_norms: np.ndarray | None = None  # (L,) float32
    param_grad_norms: dict[str, np.ndarray] | None = None  # block -> (Lyr, D) float32
    singular_values: np.ndarray | None = None  # (Lyr, D, G, H) float32
    eigenvalues: np.ndarray | None = None  # (Lyr, D, G, H) complex64
    hidden: np.ndarray | None = None  # (Lyr, D, P, L, H) float16 (float32 for rnn_relu)
    cell: np.ndarray | None = None  # (Lyr, D, P, L, H) float16, LSTM only
    gates: dict[str, np.ndarray] | None = None  # name -> (Lyr, D, P, L, H) float16
    prediction: np.ndarray | None = None  # (P, L, O) float32 (unbounded outputs; small)

    @property
    def recorded(self) -> bool:
        """True when this step carries the gradient-norm curves (a record step)."""
        return self.grad_norms is not None

    @property
    def full(self) -> bool:
        """True when the heavy probe tensors (hidden states, gates) are present."""
        return self.hidden is not None


class _Column:
    """A growable ``(n, *shape)`` array: amortised O(1) append, capacity doubles when full."""

    def __init__(self, shape: tuple[int, ...], dtype, capacity: int = 64):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self._buf = np.empty((capacity, *self.shape), self.dtype)
        self._n = 0

    def append(self, value) -> None:
        if self._n == len(self._buf):
            grown = np.empty((2 * len(self._buf), *self.shape), self.dtype)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n] = value
        self._n += 1

    @property
    def values(self) -> np.ndarray:
        return self._buf[: self._n]

    def truncate(self, n: int) -> None:
        self._n = min(self._n, n)

    @classmethod
    def from_array(cls, arr: np.ndarray) -> _Column:
        col = cls(arr.shape[1:], arr.dtype, capacity=max(64, len(arr)))
        col._buf[: len(arr)] = arr
        col._n = len(arr)
        return col

    @property
    def nbytes(self) -> int:
        return self._buf.nbytes

    def __len__(self) -> int:
        return self._n


def _keep_heavy(ordinal: int, latest: int, keep_latest: int) -> bool:
    """The thinning rule (module docstring): keep the latest K, then every 2^k-th by age band."""
    age = latest - ordinal
    if ordinal == 0 or age < keep_latest:
        return True
    k = (age // keep_latest).bit_length()  # age in [2^(k-1) K, 2^k K)
    return ordinal % (1 << k) == 0


@dataclass
class _Layout:
    """Names and shapes fixed by the first record (the same for every later record of a run)."""

    light: dict[str, tuple[tuple[int, ...], str]] = field(default_factory=dict)  # name -> (shape, dtype)
    param_blocks: list[str] = field(default_factory=list)
    gate_names: list[str] = field(default_factory=list)
    heavy: dict[str, tuple[tuple[int, ...], str]] = field(default_factory=dict)


class RunHistory:
    """The bounded history of one run: per-step scalars, per-record curves, thinned probe tensors.

    ``config`` is the run's ExperimentConfig (or None), ``status`` a JSON-able dict the trainer keeps
    up to date (``state``, ``reason``, ``diverged_step``), ``probe`` the fixed probe batch
    (``x (P, L, I)``, and ``y``/``mask`` when the task has them), stored once per run.
    """

    def __init__(self, *, config=None, heavy_budget_bytes: int = HEAVY_BUDGET_BYTES,
                 keep_latest: int | None = None):
        self.config = config
        self.status: dict = {"state": "ready", "reason": "", "diverged_step": None}
        self.probe: dict[str, np.ndarray] = {}
        self.heavy_budget_bytes = int(heavy_budget_bytes)
        self.keep_latest = keep_latest  # None: derived from the budget at the first full record
        self._scalars = {name: _Column((), dtype, capacity=256) for name, dtype in SCALARS.items()}
        self._layout: _Layout | None = None
        self._rec_steps = _Column((), np.int64)
        self._light: dict[str, _Column] = {}
        self._param: dict[str, _Column] = {}
        self._heavy: dict[int, dict[str, np.ndarray]] = {}  # record ordinal -> arrays
        self._heavy_ordinals: list[int] = []  # sorted keys of _heavy

    # ------------------------------------------------------------------ writing
    def set_probe(self, **arrays: np.ndarray) -> None:
        """Store the fixed probe batch once per run (e.g. ``x=(P, L, I)``, ``y=...``, ``mask=(P, L)``)."""
        self.probe = {k: np.ascontiguousarray(v) for k, v in arrays.items() if v is not None}

    def append(self, rec: StepRecord) -> None:
        """Add one step. Steps must increase; the step's full record (if any) is kept as the rules say."""
        n = len(self._scalars["step"])
        if n and rec.step <= int(self._scalars["step"].values[-1]):
            raise RnnvizError(f"steps must increase: last step {int(self._scalars['step'].values[-1])}, "
                              f"got {rec.step}")
        for name, col in self._scalars.items():
            col.append(getattr(rec, name))
        if not rec.recorded:
            return
        if self._layout is None:
            self._layout = self._layout_of(rec)
        self._check_layout(rec)
        ordinal = len(self._rec_steps)
        self._rec_steps.append(rec.step)
        for name in self._layout.light:
            self._light[name].append(getattr(rec, name))
        for name in self._layout.param_blocks:
            self._param[name].append(rec.param_grad_norms[name])
        if rec.full:
            arrays = {name: getattr(rec, name) for name in _HEAVY_ARRAYS if getattr(rec, name) is not None}
            arrays.update({f"gate_{g}": a for g, a in rec.gates.items()})
            if self.keep_latest is None:
                per_record = sum(a.nbytes for a in arrays.values())
                self.keep_latest = int(np.clip(self.heavy_budget_bytes // max(1, 4 * per_record),
                                               MIN_KEEP_LATEST, MAX_KEEP_LATEST))
            self._heavy[ordinal] = arrays
            self._heavy_ordinals.append(ordinal)
        self._thin(ordinal)

    def _thin(self, latest: int) -> None:
        k = self.keep_latest or MAX_KEEP_LATEST
        drop = [o for o in self._heavy_ordinals if not _keep_heavy(o, latest, k)]
        for o in drop:
            del self._heavy[o]
        if drop:
            self._heavy_ordinals = [o for o in self._heavy_ordinals if o in self._heavy]

    def _layout_of(self, rec: StepRecord) -> _Layout:
        lay = _Layout()
        for name in _LIGHT:
            value = getattr(rec, name)
            if value is not None:
                lay.light[name] = (tuple(value.shape), value.dtype.str)
                self._light[name] = _Column(value.shape, value.dtype)
        lay.param_blocks = list(rec.param_grad_norms or {})
        for name in lay.param_blocks:
            a = np.asarray(rec.param_grad_norms[name])
            self._param[name] = _Column(a.shape, np.float32)
        lay.gate_names = list(rec.gates or {})
        return lay

    def _check_layout(self, rec: StepRecord) -> None:
        for name, (shape, _) in self._layout.light.items():
            value = getattr(rec, name)
            if value is None or tuple(value.shape) != shape:
                raise RnnvizError(f"record field {name} must have shape {shape} like the first record, "
                                  f"got {None if value is None else tuple(value.shape)}")
        if list(rec.param_grad_norms or {}) != self._layout.param_blocks:
            raise RnnvizError(f"parameter blocks must be {self._layout.param_blocks}, "
                              f"got {list(rec.param_grad_norms or {})}")

    def truncate(self, step: int) -> None:
        """Drop every step >= ``step`` (rewind): scalars, records and their heavy tensors."""
        n = int(np.searchsorted(self._scalars["step"].values, step, side="left"))
        for col in self._scalars.values():
            col.truncate(n)
        r = int(np.searchsorted(self._rec_steps.values, step, side="left"))
        self._rec_steps.truncate(r)
        for col in (*self._light.values(), *self._param.values()):
            col.truncate(r)
        for o in [o for o in self._heavy_ordinals if o >= r]:
            del self._heavy[o]
        self._heavy_ordinals = [o for o in self._heavy_ordinals if o < r]
        if r == 0:
            self._layout = None
            self._light, self._param = {}, {}
        # keep_latest stays as derived: the run's shapes have not changed.

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._scalars["step"])

    @property
    def steps(self) -> np.ndarray:
        """(n,) int64: every trained step."""
        return self._scalars["step"].values

    @property
    def scalars(self) -> dict[str, np.ndarray]:
        """name -> (n,) array for every step (views: copy before mutating)."""
        return {name: col.values for name, col in self._scalars.items()}

    def recorded_steps(self) -> np.ndarray:
        """(S,) int64: the steps that carry gradient-norm curves and spectra."""
        return self._rec_steps.values

    def full_steps(self) -> np.ndarray:
        """Steps whose heavy probe tensors (hidden states, gates) are still kept."""
        rec = self._rec_steps.values
        return rec[np.asarray(self._heavy_ordinals, dtype=np.int64)]

    @property
    def gate_names(self) -> list[str]:
        return list(self._layout.gate_names) if self._layout else []

    @property
    def param_blocks(self) -> list[str]:
        return list(self._layout.param_blocks) if self._layout else []

    def record_at(self, step: int, full: bool = False) -> StepRecord | None:
        """The nearest recorded step at or before ``step`` (with ``full=True``: the nearest one whose
        hidden states and gates are still kept). ``None`` when there is none."""
        rec = self._rec_steps.values
        i = bisect.bisect_right(rec, step) - 1  # rec is sorted: steps increase
        if i < 0:
            return None
        if full:
            j = bisect.bisect_right(self._heavy_ordinals, i) - 1
            if j < 0:
                return None
            i = self._heavy_ordinals[j]
        s = int(rec[i])
        k = int(np.searchsorted(self.steps, s))
        kw = {name: col.values[k].item() for name, col in self._scalars.items()}
        kw.update({name: col.values[i] for name, col in self._light.items()})
        kw["param_grad_norms"] = {name: col.values[i] for name, col in self._param.items()}
        heavy = self._heavy.get(i)
        if heavy is not None:
            kw.update({name: heavy.get(name) for name in _HEAVY_ARRAYS})
            kw["gates"] = {g: heavy[f"gate_{g}"] for g in self._layout.gate_names}
        return StepRecord(**kw)

    def light(self, name: str) -> np.ndarray:
        """(S, ...) stacked light field, e.g. ``light("singular_values") -> (S, Lyr, D, G, H)``."""
        if name in self._light:
            return self._light[name].values
        if name in self._param:
            return self._param[name].values
        raise RnnvizError(f"no recorded field {name!r}; have {sorted([*self._light, *self._param])}")

    def grad_norm_matrix(self, layer: int = 0, direction: int = 0, kind: str = "hidden") -> np.ndarray:
        """(S, L) float32 gradient norms for the heatmap: rows are ``recorded_steps()``, columns t.

        kind: ``hidden`` = ||dL/dh_t||, ``cell`` = ||dL/dc_t|| (LSTM), ``input`` = ||dL/dx_t||.
        """
        names = {"hidden": "grad_norms", "cell": "cell_grad_norms", "input": "input_grad_norms"}
        if kind not in names:
            raise RnnvizError(f"kind must be one of {sorted(names)}, got {kind!r}")
        if names[kind] not in self._light:
            return np.zeros((len(self._rec_steps), 0), np.float32)
        values = self._light[names[kind]].values
        return values if kind == "input" else values[:, layer, direction, :]

    @property
    def nbytes(self) -> int:
        """Bytes held by the history's arrays (allocated capacity, so an honest upper figure)."""
        total = sum(c.nbytes for c in self._scalars.values()) + self._rec_steps.nbytes
        total += sum(c.nbytes for c in (*self._light.values(), *self._param.values()))
        total += sum(a.nbytes for arrays in self._heavy.values() for a in arrays.values())
        total += sum(a.nbytes for a in self.probe.values())
        return total

    # ------------------------------------------------------------------ (de)serialisation
    def to_arrays(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(meta, arrays): a JSON-able meta dict and plain numeric arrays (no objects, no pickle).

        Heavy tensors are stacked over the kept records: ``full/<name> (R_full, ...)`` with
        ``full/ordinal (R_full,)`` indexing ``rec/step``.
        """
        meta = {
            "status": self.status,
            "keep_latest": self.keep_latest,
            "heavy_budget_bytes": self.heavy_budget_bytes,
            "param_blocks": self.param_blocks,
            "gate_names": self.gate_names,
            "light": sorted(self._light),
            "heavy": sorted(self._heavy[self._heavy_ordinals[0]]) if self._heavy_ordinals else [],
            "probe": sorted(self.probe),
        }
        arrays: dict[str, np.ndarray] = {f"scalar/{k}": c.values.copy() for k, c in self._scalars.items()}
        arrays["rec/step"] = self._rec_steps.values.copy()
        arrays.update({f"rec/{k}": c.values.copy() for k, c in self._light.items()})
        arrays.update({f"param/{k}": c.values.copy() for k, c in self._param.items()})
        arrays["full/ordinal"] = np.asarray(self._heavy_ordinals, dtype=np.int64)
        for name in meta["heavy"]:
            arrays[f"full/{name}"] = np.stack([self._heavy[o][name] for o in self._heavy_ordinals])
        arrays.update({f"probe/{k}": v for k, v in self.probe.items()})
        return meta, arrays

    @classmethod
    def from_arrays(cls, meta: dict, arrays: dict[str, np.ndarray], config=None) -> RunHistory:
        """Inverse of :meth:`to_arrays`; checks every key, dtype and shape (RnnvizError otherwise)."""

        def need(key: str) -> np.ndarray:
            if key not in arrays:
                raise RnnvizError(f"run data must contain array {key!r}; it is missing")
            return arrays[key]

        def check(cond: bool, rule: str) -> None:
            if not cond:
                raise RnnvizError(rule)

        check(isinstance(meta, dict), f"run metadata must be a JSON object, got {type(meta).__name__}")
        try:
            status = dict(meta["status"])
            keep = meta["keep_latest"]
            budget = int(meta["heavy_budget_bytes"])
            blocks = [str(b) for b in meta["param_blocks"]]
            gates = [str(g) for g in meta["gate_names"]]
            light = [str(x) for x in meta["light"]]
            heavy = [str(x) for x in meta["heavy"]]
            probe = [str(x) for x in meta["probe"]]
        except (KeyError, TypeError, ValueError) as e:
            raise RnnvizError(f"run metadata must have status, keep_latest, param_blocks, gate_names, "
                              f"light, heavy and probe entries: {e!r}") from None
        check(keep is None or (isinstance(keep, int) and keep >= 1),
              f"keep_latest must be a positive integer or null, got {keep!r}")
        check(set(light) <= set(_LIGHT), f"light fields must be among {_LIGHT}, got {light}")
        allowed_heavy = set(_HEAVY_ARRAYS) | {f"gate_{g}" for g in gates}
        check(set(heavy) <= allowed_heavy, f"heavy fields must be among {sorted(allowed_heavy)}, got {heavy}")

        check(0 <= budget <= 2**32, f"heavy_budget_bytes must be in 0..2**32, got {budget}")
        h = cls(config=config, heavy_budget_bytes=budget, keep_latest=keep)
        h.status = _checked_status(status)
        n = None
        for name, dtype in SCALARS.items():
            a = need(f"scalar/{name}")
            check(a.ndim == 1, f"scalar/{name} must be 1-D, got shape {a.shape}")
            check(a.dtype == np.dtype(dtype), f"scalar/{name} must be {np.dtype(dtype)}, got {a.dtype}")
            check(n is None or len(a) == n, f"scalar/{name} must have {n} entries, got {len(a)}")
            n = len(a)
            h._scalars[name] = _Column.from_array(a)
        check(bool(np.all(np.diff(h.steps) > 0)), "scalar/step must increase strictly")
        if n:
            last = config.max_steps - 1 if config is not None else 2**31 - 1
            first, final = int(h.steps[0]), int(h.steps[-1])
            check(0 <= first and final <= last,
                  f"scalar/step must lie in 0..{last:,} (max_steps - 1), got {first:,}..{final:,}")
        d = h.status["diverged_step"]
        check(d is None or d in set(h.steps.tolist()),
              f"status diverged_step must be one of the run's steps or null, got {d!r}")
        rec = need("rec/step")
        check(rec.ndim == 1 and rec.dtype == np.int64,
              f"rec/step must be 1-D int64, got {rec.dtype}{rec.shape}")
        check(bool(np.all(np.isin(rec, h.steps))), "every rec/step must be one of scalar/step")
        check(bool(np.all(np.diff(rec) > 0)), "rec/step must increase strictly")
        r = len(rec)
        h._rec_steps = _Column.from_array(rec)
        lay = _Layout(param_blocks=blocks, gate_names=gates)
        kinds = {"grad_norms": "f", "cell_grad_norms": "f", "input_grad_norms": "f",
                 "singular_values": "f", "eigenvalues": "c"}
        for name in light:
            a = need(f"rec/{name}")
            check(len(a) == r and a.ndim >= 2, f"rec/{name} must have {r} rows, got shape {a.shape}")
            check(a.dtype.kind == kinds[name], f"rec/{name} must be of kind {kinds[name]!r}, got {a.dtype}")
            lay.light[name] = (a.shape[1:], a.dtype.str)
            h._light[name] = _Column.from_array(a)
        if r:
            check("grad_norms" in light, "a run with records must contain rec/grad_norms")
        for name in blocks:
            a = need(f"param/{name}")
            check(len(a) == r and a.dtype.kind == "f", f"param/{name} must be float with {r} rows, "
                                                      f"got {a.dtype}{a.shape}")
            h._param[name] = _Column.from_array(a)
        ords = need("full/ordinal")
        check(ords.ndim == 1 and ords.dtype == np.int64, f"full/ordinal must be 1-D int64, got {ords.dtype}")
        check(bool(np.all(np.diff(ords) > 0)) and (len(ords) == 0 or (ords[0] >= 0 and ords[-1] < r)),
              f"full/ordinal must increase strictly within [0, {r}), got {ords[:8].tolist()}...")
        check(not heavy or len(ords) > 0, "heavy fields listed but no full record kept")
        stacked = {}
        for name in heavy:
            a = need(f"full/{name}")
            check(len(a) == len(ords) and a.dtype.kind == "f",
                  f"full/{name} must be float with {len(ords)} rows, got {a.dtype}{a.shape}")
            stacked[name] = a
        if "grad_norms" in lay.light and "hidden" in stacked:
            lyr_d_l = lay.light["grad_norms"][0]
            hs = stacked["hidden"].shape[1:]
            check(len(hs) == 5 and hs[:2] == lyr_d_l[:2] and hs[3] == lyr_d_l[2],
                  f"full/hidden must be (R, Lyr, D, P, L, H) matching grad_norms {lyr_d_l}, got {hs}")
            for name, a in stacked.items():
                if name != "prediction":
                    check(a.shape[1:] == hs,
                          f"full/{name} must have shape {hs} like hidden, got {a.shape[1:]}")
        h._layout = lay if r else None
        if not r:
            h._light, h._param = {}, {}
        for j, o in enumerate(ords.tolist()):
            h._heavy[o] = {name: stacked[name][j] for name in heavy}
        h._heavy_ordinals = ords.tolist()
        for name in probe:
            a = need(f"probe/{name}")
            check(a.dtype.kind in "fib", f"probe/{name} must be numeric, got {a.dtype}")
            h.probe[name] = a
        return h

    def __repr__(self) -> str:
        return (f"RunHistory(steps={len(self)}, records={len(self._rec_steps)}, "
                f"full={len(self._heavy_ordinals)}, nbytes={self.nbytes / 2**20:.1f} MB)")



# ------------------------------------------------------------------ what a run file may hold
def param_block_names(cell: str) -> list[str]:
    """The parameter-gradient blocks trace.py records for ``cell``, in order: ``W_ii .. b_ho`` (LSTM),
    ``W_ir .. b_hn`` (GRU), ``W_ih W_hh b_ih b_hh`` (RNN)."""
    return [prefix + g for prefix in ("W_i", "W_h", "b_i", "b_h") for g in cells.get(cell).blocks]


def _checked_status(status: dict) -> dict:
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


def check_layout(meta: dict, declared: dict[str, tuple[tuple[int, ...], np.dtype]], config) -> None:
    """Check a run file's arrays against what its config and metadata imply, before any is read.

    ``declared`` maps every array name of the file (``scalar/loss``, ``rec/step`` ...) to the
    ``(shape, dtype)`` its ``.npy`` header declares. With ``Lyr, D, L, H, P`` from the config
    (``L = config.length``, ``P = probe_size``), ``G`` the cell's gate blocks (1 | 4 | 3),
    ``I, O`` the task's input/output sizes, ``n`` steps, ``S`` records and ``R`` full records:

    - ``scalar/<name> (n,)`` of SCALARS' dtype, ``n <= config.max_steps``;
    - ``rec/step (S,)`` int64 with ``S <= n``; ``rec/grad_norms`` and (LSTM) ``rec/cell_grad_norms``
      ``(S, Lyr, D, L)`` float32, ``rec/input_grad_norms (S, L)`` float32,
      ``rec/singular_values (S, Lyr, D, G, H)`` float32, ``rec/eigenvalues`` the same complex64;
      ``param/<block> (S, Lyr, D)`` float32 for exactly the cell's blocks (:func:`param_block_names`);
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

    def shape_of(name: str, ndim: int) -> tuple[int, ...]:
        if name not in declared:
            raise RnnvizError(f"run data must contain array {name!r}; it is missing")
        shape = declared[name][0]
        if len(shape) != ndim:
            raise RnnvizError(f"{name} must have {ndim} dimension(s), got shape {shape}")
        return shape

    n = shape_of("scalar/step", 1)[0]
    if config is None:
        if n:
            raise RnnvizError(f"a run file with steps must contain its config (config_json), got none "
                              f"with {n:,} steps")
        config_free = {f"scalar/{k}" for k in SCALARS} | {"rec/step", "full/ordinal"}
        extra = sorted(set(declared) - config_free)
        if extra:
            raise RnnvizError(f"a run file without a config holds no records, got {extra[:3]}")
        return
    cell, Lyr, D = config.cell, config.num_layers, config.directions
    L, H, P = config.length, config.hidden_size, config.probe_size
    if n > config.max_steps:
        raise RnnvizError(f"a run of this config has at most max_steps = {config.max_steps:,} steps, "
                          f"got {n:,}")
    S = shape_of("rec/step", 1)[0]
    R = shape_of("full/ordinal", 1)[0]
    if S > n or R > S:
        raise RnnvizError(f"a run has records only at its steps and full records only at its records, "
                          f"got {n:,} steps, {S:,} records, {R:,} full records")
    gates = cells.get(cell).gates
    G = len(cells.get(cell).blocks)
    f2, f4, c8, i8 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.complex64), np.dtype(np.int64)
    want: dict[str, tuple[tuple[int, ...], tuple[np.dtype, ...]]] = {
        f"scalar/{k}": ((n,), (np.dtype(t),)) for k, t in SCALARS.items()}
    want["rec/step"] = ((S,), (i8,))
    want["full/ordinal"] = ((R,), (i8,))
    light = {"grad_norms": (S, Lyr, D, L), "input_grad_norms": (S, L),
             "singular_values": (S, Lyr, D, G, H), "eigenvalues": (S, Lyr, D, G, H)}
    heavy = {"hidden": (R, Lyr, D, P, L, H), **{f"gate_{g}": (R, Lyr, D, P, L, H) for g in gates}}
    if cell == "lstm":
        light["cell_grad_norms"] = (S, Lyr, D, L)
        heavy["cell"] = (R, Lyr, D, P, L, H)
    blocks = param_block_names(cell)
    if not S:
        light, blocks, gates = {}, [], ()
    probe = [str(x) for x in meta.get("probe", [])] if isinstance(meta.get("probe"), list) else None
    if probe is None or not set(probe) <= set(_PROBE) or (n and "x" not in probe):
        raise RnnvizError(f"run metadata must list the probe arrays among {list(_PROBE)}, x included, "
                          f"got {str(meta.get('probe'))[:80]}")
    I = O = 0
    if "x" in probe:
        I = shape_of("probe/x", 3)[2]
        O = _task_output_size(config, I)
        want["probe/x"] = ((P, L, I), (f4,))
    kind = _task_kind(config)
    if "y" in probe:
        want["probe/y"] = ((P, L, O), (f4,)) if kind == "regression" else ((P, L), (i8,))
    if "mask" in probe:
        want["probe/mask"] = ((P, L), (np.dtype(np.bool_),))
    if R:
        heavy["prediction"] = (R, P, L, O)
    else:
        heavy = {}
    want.update({f"rec/{k}": (shape, (c8 if k == "eigenvalues" else f4,)) for k, shape in light.items()})
    want.update({f"param/{b}": ((S, Lyr, D), (f4,)) for b in blocks})
    want.update({f"full/{k}": (shape, (f2, f4)) for k, shape in heavy.items()})
    listed = {"param_blocks": (meta.get("param_blocks"), blocks, False),
              "gate_names": (meta.get("gate_names"), list(gates), False),
              "light": (meta.get("light"), sorted(light), True), "heavy": (meta.get("heavy"), sorted(heavy), True)}
    for key, (got, expected, any_order) in listed.items():
        same = isinstance(got, list) and all(isinstance(x, str) for x in got) and \
            (sorted(got) if any_order else got) == expected
        if not same:
            raise RnnvizError(f"run metadata {key} must be {expected} for this {cell} run, got {str(got)[:80]}")
    extra = sorted(set(declared) - set(want))
    if extra:
        raise RnnvizError(f"a run file holds only the arrays its config implies, got also {extra[:3]}")
    for name, (shape, dtypes) in want.items():
        if name not in declared:
            raise RnnvizError(f"run data must contain array {name!r}; it is missing")
        got_shape, got_dtype = declared[name]
        if got_shape != shape or got_dtype not in dtypes:
            expect = " or ".join(str(d) for d in dtypes)
            raise RnnvizError(f"{name} must be {expect} of shape {shape} for this run's config, "
                              f"got {got_dtype} of shape {got_shape}")


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
