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
import threading
from dataclasses import dataclass, field

import numpy as np

from rnnviz.errors import RnnvizError

__all__ = ["StepRecord", "RunHistory", "SCALARS", "LIGHT", "HEAVY_ARRAYS", "HEAVY_BUDGET_BYTES", "MAX_KEEP_LATEST",
           "STATES"]

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
#: A history with ``max_bytes`` (a live session's) checks its size every this many records ...
COMPACT_EVERY = 256
#: ... and, when over, thins records older than the latest this many (which stay dense for the charts).
KEEP_RECENT_RECORDS = 1024

#: The states a run can be in (``Trainer.state``, ``RunHistory.status["state"]``): ready: nothing trained
#: since construction, reset() or rewind(0); running: only while step() trains; paused: between steps
#: (reason "", the next step() goes on) or stopped by pause(), the watchdog or rewind() (reason in words);
#: diverged and finished: step() trains nothing more (reason in words).
STATES = ("ready", "running", "paused", "diverged", "finished")

#: The light (every record) and heavy (probe, thinned) fields of a StepRecord, as stored.
LIGHT = ("grad_norms", "cell_grad_norms", "input_grad_norms", "singular_values", "eigenvalues")
HEAVY_ARRAYS = ("hidden", "cell", "prediction")

#: Held for every change of any history (append, truncate, compaction, the probe) and while a snapshot is
#: taken: each is microseconds to milliseconds, so one lock for the process costs nothing, and it is never
#: pickled or deep-copied with a history. The trainer holds it while it appends a step and moves its step
#: counter, so a snapshot sees both or neither (rnnviz/trainer.py).
MUTATION = threading.RLock()


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
        """Keep the first ``n`` rows in a fresh buffer: a snapshot (:meth:`frozen`) may still read the old
        one, and the appends after a rewind would overwrite the rows it shows."""
        n = min(self._n, n)
        buf = np.empty_like(self._buf)
        buf[:n] = self._buf[:n]
        self._buf, self._n = buf, n

    def frozen(self) -> _Column:
        """The rows so far, read-only and never changed by later appends: the same memory (no copy), cut to
        exactly ``n`` rows, so an append to the original writes past it or into a grown buffer."""
        col = object.__new__(_Column)
        col.shape, col.dtype, col._n = self.shape, self.dtype, self._n
        col._buf = self._buf[: self._n]
        col._buf.flags.writeable = False
        return col

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
                 keep_latest: int | None = None, max_bytes: int | None = None):
        self.config = config
        self.max_bytes = max_bytes  # None: unbounded (a saved run); else older records thinned (_compact)
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
        with MUTATION:
            self._append(rec)

    def _append(self, rec: StepRecord) -> None:
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
            arrays = {name: getattr(rec, name) for name in HEAVY_ARRAYS if getattr(rec, name) is not None}
            arrays.update({f"gate_{g}": a for g, a in rec.gates.items()})
            if self.keep_latest is None:
                per_record = sum(a.nbytes for a in arrays.values())
                self.keep_latest = int(np.clip(self.heavy_budget_bytes // max(1, 4 * per_record),
                                               MIN_KEEP_LATEST, MAX_KEEP_LATEST))
            self._heavy[ordinal] = arrays
            self._heavy_ordinals.append(ordinal)
        self._thin(ordinal)
        if self.max_bytes is not None and (ordinal + 1) % COMPACT_EVERY == 0 and self.nbytes > self.max_bytes:
            self._compact()

    def _compact(self) -> None:
        """Over ``max_bytes``: drop every other record older than the latest ``KEEP_RECENT_RECORDS`` (their
        curves and spectra; step 0 stays, and so does every record that still holds probe tensors, which the
        heavy thinning keeps at even ordinals only). Repeated, older records grow sparser geometrically, as
        the probe tensors do. Scalars (every step) are never dropped."""
        n = len(self._rec_steps)
        cut = n - max(KEEP_RECENT_RECORDS, 2 * (self.keep_latest or MAX_KEEP_LATEST))
        if cut <= 2:
            return
        keep = np.ones(n, bool)
        keep[1:cut:2] = False
        keep[self._heavy_ordinals] = True
        idx = np.flatnonzero(keep)
        new_of_old = np.full(n, -1, np.int64)
        new_of_old[idx] = np.arange(len(idx))
        self._rec_steps = _Column.from_array(self._rec_steps.values[idx])
        for cols in (self._light, self._param):
            for name, col in cols.items():
                cols[name] = _Column.from_array(col.values[idx])
        self._heavy = {int(new_of_old[o]): arrays for o, arrays in self._heavy.items()}
        self._heavy_ordinals = sorted(self._heavy)

    def _thin(self, latest: int) -> None:
        k = self.keep_latest or MAX_KEEP_LATEST
        drop = [o for o in self._heavy_ordinals if not _keep_heavy(o, latest, k)]
        for o in drop:
            del self._heavy[o]
        if drop:
            self._heavy_ordinals = [o for o in self._heavy_ordinals if o in self._heavy]

    def _layout_of(self, rec: StepRecord) -> _Layout:
        lay = _Layout()
        for name in LIGHT:
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
        with MUTATION:
            self._truncate(step)

    def _truncate(self, step: int) -> None:
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
    def snapshot(self) -> RunHistory:
        """This history as it is now, for drawing while training goes on: every step so far and nothing
        appended, rewound or thinned later. No array is copied (columns are cut to their length, the dicts
        and lists that thinning edits are copied), so it costs microseconds; taken under :data:`MUTATION`,
        so it never holds half a step. Read it only: its arrays are read-only. ``key`` stays the original's,
        so caches keyed by it (the figure cache) see one run, not one per snapshot."""
        with MUTATION:
            snap = object.__new__(RunHistory)
            snap.__dict__.update(self.__dict__)
            snap._origin = self.key
            snap.status, snap.probe = dict(self.status), dict(self.probe)
            snap._scalars = {name: col.frozen() for name, col in self._scalars.items()}
            snap._rec_steps = self._rec_steps.frozen()
            snap._light = {name: col.frozen() for name, col in self._light.items()}
            snap._param = {name: col.frozen() for name, col in self._param.items()}
            snap._heavy, snap._heavy_ordinals = dict(self._heavy), list(self._heavy_ordinals)
            snap.max_bytes = None  # nothing is appended to a snapshot
            return snap

    @property
    def key(self) -> int:
        """Which run's history this is: ``id`` of the live history, the same for its snapshots."""
        return self.__dict__.get("_origin") or id(self)

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
            kw.update({name: heavy.get(name) for name in HEAVY_ARRAYS})
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
        """Inverse of :meth:`to_arrays`; checks every key, dtype and shape (RnnvizError otherwise; the
        rules are in rnnviz/runfile.py)."""
        from rnnviz import runfile  # runfile reads this module's tables: imported here, not at the top

        m = runfile.read_meta(meta)
        h = cls(config=config, heavy_budget_bytes=m.heavy_budget_bytes, keep_latest=m.keep_latest)
        h.status = runfile.checked_status(m.status)
        scalars = runfile.checked_scalars(arrays, config, h.status["diverged_step"])
        h._scalars = {name: _Column.from_array(a) for name, a in scalars.items()}
        rec, light, params = runfile.checked_records(arrays, h.steps, m)
        r = len(rec)
        h._rec_steps = _Column.from_array(rec)
        lay = _Layout(param_blocks=m.param_blocks, gate_names=m.gate_names,
                      light={name: (a.shape[1:], a.dtype.str) for name, a in light.items()})
        h._light = {name: _Column.from_array(a) for name, a in light.items()}
        h._param = {name: _Column.from_array(a) for name, a in params.items()}
        grad_norms = lay.light.get("grad_norms")
        ords, stacked = runfile.checked_full(arrays, r, m, grad_norms[0] if grad_norms else None)
        h._layout = lay if r else None
        if not r:
            h._light, h._param = {}, {}
        for j, o in enumerate(ords.tolist()):
            h._heavy[o] = {name: stacked[name][j] for name in m.heavy}
        h._heavy_ordinals = ords.tolist()
        h.probe.update(runfile.checked_probe(arrays, m))
        return h

    def _repr_html_(self) -> str:
        """In Jupyter: the loss and the gradient flow over training (rnnviz.notebook.history_html)."""
        from rnnviz.notebook import history_html

        return history_html(self)

    def __repr__(self) -> str:
        return (f"RunHistory(steps={len(self)}, records={len(self._rec_steps)}, "
                f"full={len(self._heavy_ordinals)}, nbytes={self.nbytes / 2**20:.1f} MB)")
