"""Phase-diagram sweeps: the gradient ratio at initialisation over a grid of config fields, batched.

    python -m rnnviz sweep --preset vanishing-tanh --grid rho=0.5:2.0:20 --grid seq_len=10:200:20 \\
        --seeds 3 --out phase.csv

Grid (:func:`parse_axis`): ``FIELD=LO:HI:N`` gives ``N`` values spaced linearly from ``LO`` to ``HI``
(``numpy.linspace``), ``FIELD=LO:HI:N:log`` spaced logarithmically (``numpy.geomspace``, ``LO > 0``).
``FIELD`` is any int or float field of :data:`rnnviz.config.FIELDS`; integer fields are rounded
(half to even) and repeated values dropped, so an axis may hold fewer than ``N`` values. The grid is
the Cartesian product of the axes (first axis outermost). Seeds: ``k`` seeds are ``seed, seed + 1,
..., seed + k - 1`` from the base config. Every point x seed is validated by ``ExperimentConfig``
itself before anything runs; one invalid point refuses the whole sweep (:func:`plan`).

Per config, exactly as the app's step 0 (``rnnviz.trainer.Trainer``): ``build_model(config, I, O)``,
the first training batch ``task.sample(batch_size, Generator().manual_seed(seed))`` and the loss
``task.loss(head(output), batch)``. Then (:class:`InitStats`):

    grad_ratio      = ||dL/dh_1|| / ||dL/dh_T||   (layer 0, forward direction; Frobenius norm over
                                                   N and H of the total BPTT adjoint, as Trace.grad_norms,
                                                   divided by rnnviz.analysis.gradient_ratio)
    sigma_max       = max_k sigma_max(W_hh block k)        (layer 0, forward direction)
    spectral_radius = max_k max|eig(W_hh block k)|

The blocks ``k`` are the H x H gate blocks the trainer records spectra for (``GATE_BLOCKS``): the one
matrix W_hh of a plain RNN; for the LSTM W_hi, W_hf, W_hg, W_ho and for the GRU W_hr, W_hz, W_hn, of
which the column is the largest (with init=scaled every block has spectral radius rho). For the plain
RNN, sigma_max(W_hh) * gamma (gamma = max |phi'|, 1 for tanh and relu) bounds the growth of every
backward step; the spectral radius is the long-run rate.

Batched (:func:`init_stats`): configs with the same shape (cell, H, N, L, I, O) run as one computation
whose per-step recurrent matmul is one ``baddbmm`` over the stacked W_hh of all of them (chunked to
``CHUNK_BYTES``). It repeats ``rnnviz.trace``'s operations in trace's order, and keeps every config's
buffers in trace's own per-config layout from a 64-byte-aligned start, apart from its neighbours
(:func:`_blocks`): MKL's gemm and torch's elementwise kernels then round exactly as in a per-config
trace, and the numbers are bit-identical to trace's (checked in tests/test_sweep.py for every cell and
on random shapes; the contract tested is 1e-6 relative). This matters: for rho > 1 the tanh RNN is
chaotic and a vanishing ratio is a sum that nearly cancels, so a last-bit difference in one op grew
to 1.6e-5 relative before the layouts matched. Shapes below torch's small-matrix threshold take one
addmm per config (``_SMALL_BMM``). All four cells are batched for ``num_layers = 1``, one direction;
deeper or bidirectional models fall back to one ``rnnviz.trace`` per config (same numbers, no
speed-up). Run with one torch thread (``limit_threads(1)``), as the app does.

Training sweeps (:func:`run_sweep` with ``train``): every point x seed is trained with
:func:`train_one` (the Trainer, as ``python -m rnnviz train``) on a spawn process pool (one torch
thread per process) or on Ray; rows are written as points finish and a rerun resumes
(:class:`SweepFile`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rnnviz.config import FIELDS, ExperimentConfig
from rnnviz.errors import RnnvizError

__all__ = [
    "GridAxis", "parse_axis", "SweepPoint", "plan", "InitStats", "init_stats", "phase_rows",
    "PHASE_COLUMNS", "TRAIN_COLUMNS", "rows_to_csv", "MAX_AXIS_VALUES", "MAX_RUNS",
    "TrainResult", "train_one", "run_sweep", "SweepFile",
]

#: At most this many values per axis, and configs (points x seeds) per sweep.
MAX_AXIS_VALUES = 1000
MAX_RUNS = 100_000
#: Result columns after the grid fields; a training sweep (--train) adds TRAIN_COLUMNS after them.
PHASE_COLUMNS = ("sigma_max", "spectral_radius", "grad_ratio", "grad_ratio_min", "grad_ratio_max")
TRAIN_COLUMNS = ("final_loss", "success_rate", "steps_to_success")
#: Float bytes one batched chunk may hold (its buffers), so long sequences x many configs fit in memory.
CHUNK_BYTES = 256 * 2**20


# --------------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridAxis:
    """One swept field and its values (ints for integer fields, floats otherwise), in order."""

    field: str
    values: tuple


_SPEC = "--grid takes FIELD=LO:HI:N or FIELD=LO:HI:N:log"


def parse_axis(spec: str) -> GridAxis:
    """``"rho=0.5:2.0:20"`` -> GridAxis("rho", 20 floats); ``"seq_len=10:1000:5:log"`` -> 5 ints.

    Raises RnnvizError naming the rule and the value for: a malformed spec, a field that is not an
    int or float config field, a non-numeric bound, N not an integer in 1..MAX_AXIS_VALUES, LO > HI,
    N = 1 with LO != HI, log spacing with LO <= 0, or a value outside the field's own range.
    """
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
    bounds = []
    for label, text in (("LO", parts[0]), ("HI", parts[1])):
        try:
            v = float(text)
        except ValueError:
            raise RnnvizError(f"--grid {name}: {label} must be a number, got {text!r}") from None
        if not math.isfinite(v):
            raise RnnvizError(f"--grid {name}: {label} must be a finite number, got {text!r}")
        bounds.append(v)
    lo, hi = bounds
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


# --------------------------------------------------------------------------------------------------
# Step-0 quantities, batched
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitStats:
    """One config at initialisation (definitions in the module docstring)."""

    sigma_max: float
    spectral_radius: float
    grad_ratio: float


# Fields that never reach build_model (the model cache ignores them); chrono's length is added back.
_NOT_MODEL = frozenset({"task", "seq_len", "noise", "n_waves", "parity_bits", "corpus", "batch_size",
                        "optimizer", "lr", "clip", "clip_threshold", "record_every", "max_steps",
                        "probe_size", "checkpoint_every", "pause_grad_norm"})
# Fields a Task never reads (the task cache ignores them).
_NOT_TASK = frozenset({"cell", "hidden_size", "num_layers", "bidirectional", "init", "rho", "forget_bias",
                       "seed", "batch_size", "optimizer", "lr", "clip", "clip_threshold", "record_every",
                       "max_steps", "probe_size", "checkpoint_every", "pause_grad_norm"})


def _key(config: ExperimentConfig, ignore: frozenset) -> tuple:
    return tuple((n, v) for n, v in config.to_dict().items() if n not in ignore)


class _Builder:
    """Tasks and models as the app builds them, each built once per distinct key (a sweep over seq_len
    reuses one model per seed: W_hh does not depend on the length except through LSTM chrono init)."""

    def __init__(self, data=None):
        self.data = data
        self.tasks: dict = {}
        self.models: dict = {}
        self.spectra: dict = {}

    def task(self, config):
        from rnnviz.tasks import make_task

        k = _key(config, _NOT_TASK)
        if k not in self.tasks:
            self.tasks[k] = make_task(config, self.data)
        return self.tasks[k]

    def model_key(self, config, task) -> tuple:
        chrono = config.cell == "lstm" and config.forget_bias == "chrono"
        return _key(config, _NOT_MODEL) + ((task.input_size, task.output_size, config.length if chrono else None),)

    def model(self, config, task, k):
        from rnnviz.models import build_model

        if k not in self.models:
            m = build_model(config, task.input_size, task.output_size)
            for p in m.parameters():
                p.requires_grad_(False)
            self.models[k] = m
        return self.models[k]

    def batch(self, config, task):
        import torch

        return task.sample(int(config.batch_size), torch.Generator().manual_seed(int(config.seed)))


def _spectrum_stats(models: list, cell: str) -> list[tuple[float, float]]:
    """(max sigma_max, max spectral radius) over the gate blocks of layer 0's forward W_hh, per model;
    float64 svdvals/eigvals as the trainer's recorded spectra. Non-finite weights give nan."""
    import torch

    from rnnviz.trainer import GATE_BLOCKS

    if not models:
        return []
    G, H = len(GATE_BLOCKS[cell]), models[0].rnn.hidden_size
    W = torch.stack([m.rnn.weight_hh_l0.detach() for m in models]).double().reshape(-1, H, H)  # (M*G, H, H)
    ok = torch.isfinite(W).flatten(1).all(1)
    sv = torch.full((W.shape[0],), math.nan, dtype=torch.float64)
    rad = sv.clone()
    if bool(ok.any()):
        sv[ok] = torch.linalg.svdvals(W[ok]).amax(-1)
        rad[ok] = torch.linalg.eigvals(W[ok]).abs().amax(-1)
    sv, rad = sv.view(-1, G).amax(1), rad.view(-1, G).amax(1)  # nan propagates
    return [(float(a), float(b)) for a, b in zip(sv, rad, strict=True)]


def _ratio(first: float, last: float) -> float:
    from rnnviz.analysis import gradient_ratio

    return gradient_ratio(np.array([first, last], dtype=np.float32))


def _frob_ends(dh0, dhL) -> tuple[np.ndarray, np.ndarray]:
    """Frobenius norm over N and H of each config's dL/dh_1 and dL/dh_T: float64 squares, float32
    result, as Trace.grad_norms. Inputs (B, N, H)."""
    import torch

    def f(a):
        return torch.sqrt(a.double().square().sum((1, 2))).float().numpy()

    return f(dh0), f(dhL)


def init_stats(configs: Sequence[ExperimentConfig], data=None,
               progress: Callable[[int], None] | None = None) -> list[InitStats]:
    """InitStats of every config (same order), batched over configs that share a shape.

    ``progress(n)`` is called with the number of configs finished so far.
    """

    from rnnviz.trace import trace

    b = _Builder(data)
    built = []  # (config, task, model, model key)
    for c in configs:
        task = b.task(c)
        key = b.model_key(c, task)
        built.append((c, task, b.model(c, task, key), key))
    distinct: dict = {}  # spectra once per distinct model, batched per (cell, H)
    for c, _task, m, key in built:
        distinct.setdefault(key, (m, (c.cell, c.hidden_size)))
    spec: dict = {}
    for kind in {kind for _, kind in distinct.values()}:
        keys = [k for k, (_, kd) in distinct.items() if kd == kind]
        for k, s in zip(keys, _spectrum_stats([distinct[k][0] for k in keys], kind[0]), strict=True):
            spec[k] = s

    groups: dict = {}
    fallback = []
    for i, (c, task, _m, _k) in enumerate(built):
        if c.num_layers != 1 or c.bidirectional:
            fallback.append(i)
            continue
        shape = (c.cell, c.hidden_size, c.batch_size, c.length, task.input_size, task.output_size)
        groups.setdefault(shape, []).append(i)

    ratios: list[float] = [math.nan] * len(configs)
    done = 0
    for shape, idx in groups.items():
        cell, H, N, L = shape[:4]
        per_config = 4 * L * N * H * (16 if cell == "lstm" else 10)  # bytes of the chunk's buffers
        size = max(1, min(len(idx), CHUNK_BYTES // per_config))
        for start in range(0, len(idx), size):
            chunk = idx[start:start + size]
            items = [(built[i][1], built[i][2], b.batch(built[i][0], built[i][1])) for i in chunk]

            for i, r in zip(chunk, _batched_ratios(cell, items), strict=True):
                ratios[i] = r
            done += len(chunk)
            if progress is not None:
                progress(done)
    for i in fallback:
        c, task, m, _k = built[i]
        batch = b.batch(c, task)
        tr = trace(m.rnn, batch.x, lambda o, h, m=m, task=task, batch=batch: task.loss(m.head(o), batch))
        ratios[i] = _ratio(float(tr.grad_norms[0, 0, 0]), float(tr.grad_norms[0, 0, -1]))
        done += 1
        if progress is not None:
            progress(done)
    return [InitStats(*spec[key], ratios[i]) for i, (_c, _t, _m, key) in enumerate(built)]


def _blocks(B: int, *shape, dtype, zero: bool = False):
    """(B, *shape): one block per config, each contiguous and 64-byte aligned like a fresh tensor, and
    never adjacent to the next (one padding run in between).

    Why: the batched kernels must round exactly as trace's per-config ones. MKL's gemm rounds
    differently for a differently aligned operand (measured at odd H x N), so every per-config block
    has trace's own layout from an aligned start; and an elementwise kernel never merges two configs'
    blocks into one run, so it walks each with the same inner loop (and vector/scalar tail split) as
    a per-config run does."""
    import torch

    n = math.prod(shape)
    stride = (n // 16 + 1) * 16
    buf = (torch.zeros if zero else torch.empty)(B, stride, dtype=dtype)
    return buf[:, :n].unflatten(1, shape)


def _fill(tensors):
    """The tensors (same shape) copied into aligned blocks (B, *shape)."""
    out = _blocks(len(tensors), *tensors[0].shape, dtype=tensors[0].dtype)
    for k, t in enumerate(tensors):
        out[k].copy_(t)
    return out


def _padded(L: int, B: int, *shape, dtype):
    """(L, B, *shape) with every (step, config) block aligned and apart, as a fresh per-step tensor."""
    return _blocks(L * B, *shape, dtype=dtype).unflatten(0, (L, B))


# torch's CPU bmm multiplies small matrices (rows x cols x contraction below this) with its own loop
# instead of BLAS: those shapes take one addmm per config, as trace's per-config calls do.
_SMALL_BMM = 400


def _gemm(out, a, b, bias=None) -> None:
    """out = a @ b (+ bias (B, 1, cols)), batched (per config for small shapes, see _SMALL_BMM)."""
    import torch

    if a.shape[1] * b.shape[2] * a.shape[2] < _SMALL_BMM:
        for k in range(a.shape[0]):
            if bias is None:
                torch.mm(a[k], b[k], out=out[k])
            else:
                torch.addmm(bias[k, 0], a[k], b[k], out=out[k])
    elif bias is None:
        torch.bmm(a, b, out=out)
    else:
        torch.baddbmm(bias, a, b, out=out)


def _gemm_acc(out, a, b) -> None:
    """out += a @ b, batched (per config for small shapes, see _SMALL_BMM)."""
    if a.shape[1] * b.shape[2] * a.shape[2] < _SMALL_BMM:
        for k in range(a.shape[0]):
            out[k].addmm_(a[k], b[k])
    else:
        out.baddbmm_(a, b)


def _direct_terms(items, out_bf) -> list:
    """dL/d(output) of every config through its own head and task loss, as trace's loss_fn computes
    it (``task.loss(head(output), batch)`` on the (N, L, H) output, autograd for dL/dpred, then the mm
    of Linear's backward): a list of (N, L, H), one per config. ``out_bf`` is (B, N, L, H)."""
    import torch

    B, N, L, H = out_bf.shape
    out_c = _blocks(B, N, L, H, dtype=out_bf.dtype)  # contiguous, aligned: the head's addmm path
    out_c.copy_(out_bf)
    leaves = [m.head(out_c[k]).requires_grad_() for k, (_, m, _) in enumerate(items)]  # (N, L, O) each
    with torch.enable_grad():
        total = sum(task.loss(p, batch) for (task, _, batch), p in zip(items, leaves, strict=True))
        grads = torch.autograd.grad(total, leaves, allow_unused=True)
    return [torch.zeros(N, L, H, dtype=out_bf.dtype) if g is None else
            torch.mm(g.reshape(N * L, -1), m.head.weight).view(N, L, H)
            for g, (_, m, _) in zip(grads, items, strict=True)]


def _batched_ratios(cell: str, items) -> list[float]:
    """grad_ratio of each (task, model, batch) in ``items``: all share (cell, H, N, L, I, O)."""
    import torch

    with torch.no_grad():
        run = {"rnn_tanh": _vanilla, "rnn_relu": _vanilla, "lstm": _lstm, "gru": _gru}[cell]
        out_bf, backward = run(cell, [m.rnn for _, m, _ in items], [bt.x for _, _, bt in items])
        first, last = backward(_direct_terms(items, out_bf))
    n0, nL = _frob_ends(first, last)
    return [_ratio(a, z) for a, z in zip(n0, nL, strict=True)]


def _param(rnns, name, rows=None):
    """One parameter of every config in aligned blocks (optionally its rows permuted, as trace does)."""
    return _fill([getattr(r, name) if rows is None else getattr(r, name)[rows] for r in rnns])


def _vanilla(cell, rnns, xs):
    """Plain RNN, as torch._VF.rnn_tanh / rnn_relu (trace's forward) and trace's _VanillaRun backward:
        a_t = (b_hh + W_hh h_{t-1}) + (W_ih x_t + b_ih),  h_t = phi(a_t)
        dA_t = dL/dh_t ⊙ phi'(a_t),  dL/dh_{t-1} += W_hh^T dA_t
    xs: per config (N, L, I). Returns output (B, N, L, H) and backward(d_outs) -> (dL/dh_1, dL/dh_T)."""
    import torch
    import torch.nn.functional as F

    B, (N, L, _) = len(rnns), xs[0].shape
    H, dtype = rnns[0].hidden_size, xs[0].dtype
    w_hh = _param(rnns, "weight_hh_l0")  # (B, H, H)
    b_hh = _fill([r.bias_hh_l0[None] for r in rnns]) if rnns[0].bias else None  # (B, 1, H)
    xp = torch.empty(L, B, N, H, dtype=dtype)  # W_ih x_t + b_ih, by step (only added: layout is free)
    for k, (r, x) in enumerate(zip(rnns, xs, strict=True)):
        xp[:, k] = F.linear(x.transpose(0, 1), r.weight_ih_l0, r.bias_ih_l0 if r.bias else None)  # as _VF
    hs = _padded(L, B, N, H, dtype=dtype)  # h_t, each block as _VF's fresh per-step tensor
    a = _padded(1, B, N, H, dtype=dtype)[0]
    h = _blocks(B, N, H, dtype=dtype, zero=True)
    w_t = w_hh.transpose(1, 2)
    for t in range(L):
        _gemm(a, h, w_t, b_hh)
        a.add_(xp[t])
        h = hs[t]
        if cell == "rnn_tanh":
            torch.tanh(a, out=h)
        else:
            torch.clamp_min(a, 0, out=h)

    def backward(d_outs):
        dh = _blocks(B, N, L, H, dtype=dtype)  # trace's grad_hidden layout, batch-first per config
        da = _blocks(B, N, L, H, dtype=dtype)
        for k, d in enumerate(d_outs):
            dh[k].copy_(d)
        zero = torch.zeros((), dtype=dtype)
        for t in range(L - 1, 0, -1):
            ht, dat = hs[t], da[:, :, t]
            if cell == "rnn_tanh":  # dA_t = dh_t ⊙ (1 - h_t²): exact elementwise ops, as trace's
                torch.mul(ht, ht, out=dat)
                dat.neg_().add_(1).mul_(dh[:, :, t])
            else:
                torch.where(ht <= 0, zero, dh[:, :, t], out=dat)
            _gemm_acc(dh[:, :, t - 1], dat, w_hh)
        return dh[:, :, 0], dh[:, :, L - 1]

    return hs.permute(1, 2, 0, 3), backward


def _lstm(cell, rnns, xs):
    """LSTM, as trace's _LSTMRun (rows permuted i f o g, time-major, in-place gates):
        a_t += W_hh h_{t-1}; sigma on i f o; tanh on g; c_t = i g + f c_{t-1}; h_t = o tanh(c_t)
    backward per step (trace's formulas):
        [dA^o, dc]_t = [0, f dc]_{t+1} + dh_t [K^o, K^c]_t;  [f dc, dA^i, dA^f, dA^g]_t = dc_t [f, P^i, P^f, P^g]_t
        dL/dh_{t-1} += W_hh^T [dA^i, dA^f, dA^g, dA^o]_t."""
    import torch

    B, (N, L, I) = len(rnns), xs[0].shape
    H, dtype = rnns[0].hidden_size, xs[0].dtype
    rows = torch.cat([torch.arange(k * H, (k + 1) * H) for k in (0, 1, 3, 2)])  # i f o g
    a = _blocks(B, L, N, 4 * H, dtype=dtype)  # pre-activations, then (in place) the gates i f o g
    xts = []
    for k, (r, x) in enumerate(zip(rnns, xs, strict=True)):  # as trace, per config
        xt = x.transpose(0, 1).reshape(L * N, I)
        w_ih = r.weight_ih_l0[rows]
        if r.bias:
            a[k] = torch.addmm((r.bias_ih_l0 + r.bias_hh_l0)[rows], xt, w_ih.t()).view(L, N, 4 * H)
        else:
            a[k] = torch.mm(xt, w_ih.t()).view(L, N, 4 * H)
        xts.append(xt)
    hx, cx = _blocks(B, L + 1, N, H, dtype=dtype), _blocks(B, L + 1, N, H, dtype=dtype)
    tc = _blocks(B, L, N, H, dtype=dtype)
    hx[:, 0] = 0
    cx[:, 0] = 0
    w = _param(rnns, "weight_hh_l0", rows).transpose(1, 2)  # (B, H, 4H)
    for t in range(L):
        at, ct = a[:, t], cx[:, t + 1]
        _gemm_acc(at, hx[:, t], w)
        at[..., : 3 * H].sigmoid_()
        gt = at[..., 3 * H :].tanh_()
        torch.mul(at[..., :H], gt, out=ct)
        ct.addcmul_(at[..., H : 2 * H], cx[:, t])
        torch.tanh(ct, out=tc[:, t])
        torch.mul(at[..., 2 * H : 3 * H], tc[:, t], out=hx[:, t + 1])

    def backward(d_outs):
        dh = _blocks(B, N, L, H, dtype=dtype)  # trace's grad_hidden layout
        for k, d in enumerate(d_outs):
            dh[k].copy_(d)
        i, f, o, g = (a[..., k * H : (k + 1) * H] for k in range(4))
        one = torch.ones((), dtype=dtype)
        sd = torch.addcmul(a[..., : 3 * H], a[..., : 3 * H], a[..., : 3 * H], value=-1)  # sigma' of i f o
        tmp = torch.addcmul(one, tc, tc, value=-1)  # 1 - tanh^2 c
        kk = torch.empty(B, L, N, 2, H, dtype=dtype)  # [K^o, K^c]
        torch.mul(tc, sd[..., 2 * H :], out=kk[..., 0, :])
        torch.mul(o, tmp, out=kk[..., 1, :])
        p = torch.empty(B, L, N, 4, H, dtype=dtype)  # [f, P^i, P^f, P^g]
        p[..., 0, :] = f
        torch.mul(g, sd[..., :H], out=p[..., 1, :])
        torch.mul(cx[:, :L], sd[..., H : 2 * H], out=p[..., 2, :])
        torch.addcmul(one, g, g, value=-1, out=tmp)
        torch.mul(i, tmp, out=p[..., 3, :])
        z = _blocks(B, L, N, 7 * H, dtype=dtype)  # slots [0, f dc, dA^i, dA^f, dA^g, dA^o, dc], as trace's
        z7 = z.unflatten(-1, (7, H))
        z7[..., 0, :] = 0
        after_last = torch.zeros(B, N, 2, H, dtype=dtype)
        w_hh = _param(rnns, "weight_hh_l0")  # (B, 4H, H)
        for t in range(L - 1, -1, -1):
            nxt = z7[:, t + 1, :, 0:2] if t < L - 1 else after_last
            torch.addcmul(nxt, dh[:, :, t, None], kk[:, t], out=z7[:, t, :, 5:7])
            torch.mul(z7[:, t, :, 6:7], p[:, t], out=z7[:, t, :, 1:5])
            if t > 0:
                _gemm_acc(dh[:, :, t - 1], z[:, t, :, 2 * H : 6 * H], w_hh)
        return dh[:, :, 0], dh[:, :, L - 1]

    return hx[:, 1:].transpose(1, 2), backward


def _gru(cell, rnns, xs):
    """GRU, as trace's _GRURun (batch-first buffers, h_t = n_t + z_t (h_{t-1} - n_t)); backward:
        dA^n = dh (1 - z)(1 - n^2);  dA^z = dh (h_{t-1} - n) z (1 - z);  dA^r = dA^n ĥ r (1 - r)
        dL/dh_{t-1} += z_t dh_t + W_hh^T [dA^r, dA^z, r dA^n]_t."""
    import torch

    B, (N, L, I) = len(rnns), xs[0].shape
    H, dtype = rnns[0].hidden_size, xs[0].dtype
    a = _blocks(B, N, L, 3 * H, dtype=dtype)  # [pre-activation of r, of z, ĥ_t], as trace's
    gin = torch.empty(B, N, L, H, dtype=dtype)  # W_in x_t + b_in
    for k, (r, x) in enumerate(zip(rnns, xs, strict=True)):  # trace's _input_gates, per config
        x2 = x.reshape(N * L, I)
        ak = (torch.addmm(r.bias_ih_l0, x2, r.weight_ih_l0.t()) if r.bias else x2 @ r.weight_ih_l0.t())
        ak = ak.view(N, L, 3 * H)
        gin[k] = ak[..., 2 * H :]
        if r.bias:
            ak[..., : 2 * H] += r.bias_hh_l0[: 2 * H]
            ak[..., 2 * H :] = r.bias_hh_l0[2 * H :]
        else:
            ak[..., 2 * H :] = 0
        a[k] = ak
    gates = torch.empty(3, B, N, L, H, dtype=dtype)
    h = _blocks(B, N, L, H, dtype=dtype)  # trace's hidden layout
    h0 = _blocks(B, N, H, dtype=dtype, zero=True)
    dlt = torch.empty(B, N, L, H, dtype=dtype)
    a4 = a.unflatten(-1, (3, H))
    w = _param(rnns, "weight_hh_l0").transpose(1, 2)  # (B, H, 3H)
    for t in range(L):
        hp = h0 if t == 0 else h[:, :, t - 1]
        _gemm_acc(a[:, :, t], hp, w)
        torch.sigmoid(a4[:, :, t, :2].permute(2, 0, 1, 3), out=gates[:2, :, :, t])
        nt = gates[2, :, :, t]
        torch.addcmul(gin[:, :, t], gates[0, :, :, t], a4[:, :, t, 2], out=nt).tanh_()
        torch.sub(hp, nt, out=dlt[:, :, t])
        torch.addcmul(nt, gates[1, :, :, t], dlt[:, :, t], out=h[:, :, t])

    def backward(d_outs):
        r, z, n = gates
        dh = _blocks(B, N, L, H, dtype=dtype)  # trace's grad_hidden layout
        for k, d in enumerate(d_outs):
            dh[k].copy_(d)
        qn = (1 - z) * (1 - n * n)  # (B, N, L, H)
        q = torch.empty(B, N, L, 3, H, dtype=dtype)
        torch.mul(qn * a[..., 2 * H :], r * (1 - r), out=q[..., 0, :])
        torch.mul(dlt, z * (1 - z), out=q[..., 1, :])
        torch.mul(qn, r, out=q[..., 2, :])
        da = _blocks(B, N, L, 3 * H, dtype=dtype)  # trace's da layout
        w_hh = _param(rnns, "weight_hh_l0")  # (B, 3H, H)
        for t in range(L - 1, 0, -1):
            torch.mul(dh[:, :, t, None], q[:, :, t], out=da[:, :, t].unflatten(-1, (3, H)))
            dh[:, :, t - 1].addcmul_(z[:, :, t], dh[:, :, t])
            _gemm_acc(dh[:, :, t - 1], da[:, :, t], w_hh)
        return dh[:, :, 0], dh[:, :, L - 1]

    return h, backward


# --------------------------------------------------------------------------------------------------
# Rows and CSV
# --------------------------------------------------------------------------------------------------


def _median(values: Iterable[float]) -> float:
    return float(np.median(np.asarray(list(values), dtype=np.float64)))


def phase_rows(points: Sequence[SweepPoint], stats: Sequence[InitStats], axes: Sequence[GridAxis]) -> list[dict]:
    """One row per point: the grid values, medians over seeds of sigma_max, spectral_radius and
    grad_ratio, and grad_ratio's min and max over seeds. ``stats`` are in point-then-seed order."""
    rows, k = [], 0
    for pt in points:
        s = stats[k : k + len(pt.configs)]
        k += len(pt.configs)
        ratios = [x.grad_ratio for x in s]
        row = {a.field: v for a, v in zip(axes, pt.values, strict=True)}
        row.update(
            sigma_max=_median(x.sigma_max for x in s),
            spectral_radius=_median(x.spectral_radius for x in s),
            grad_ratio=_median(ratios),
            grad_ratio_min=float(np.min(ratios)),
            grad_ratio_max=float(np.max(ratios)),
        )
        rows.append(row)
    return rows


def format_value(v) -> str:
    """CSV text of a cell: ints as ints, floats by repr (exact round trip), empty for None."""
    if v is None:
        return ""
    if isinstance(v, bool | int | np.integer):
        return str(int(v))
    return repr(float(v))


def rows_to_csv(rows: Sequence[dict], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([format_value(r.get(c)) for c in columns])
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------
# Training sweeps (--train): one Trainer run per point x seed, on a process pool or Ray
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    """One training run: the loss of its last step, the first step whose loss was at or below the
    success level (None if none), the steps trained and the trainer's final state."""

    final_loss: float
    first_success_step: int | None
    steps: int
    state: str
    baseline_loss: float


def train_one(config: ExperimentConfig, steps: int, success: float, data=None) -> TrainResult:
    """Train ``config`` for ``steps`` steps exactly as ``python -m rnnviz train`` does (rnnviz.trainer;
    the watchdog's pause is ignored, a divergence stops the run). Success level = ``success`` x the
    task's baseline loss; the loss of step s is the one measured on step s's batch before its update.
    Deterministic: the same arguments give the same result in any process."""
    from rnnviz.trainer import Trainer

    config = config.replace(max_steps=steps)
    trainer = Trainer(config, data)
    level = success * trainer.task.baseline_loss
    first = None
    while trainer.step_count < steps:
        for rec in trainer.step(min(100, steps - trainer.step_count)):
            if first is None and rec.loss <= level:
                first = rec.step
        if trainer.state in ("diverged", "finished"):
            break
    losses = trainer.history.scalars["loss"]
    final = float(losses[-1]) if len(losses) else math.nan
    return TrainResult(final, first, trainer.step_count, trainer.state, float(trainer.task.baseline_loss))


def _train_job(config: ExperimentConfig, steps: int, success: float, data) -> TrainResult:
    """A pool or Ray task: one torch thread, then train_one."""
    from rnnviz.trainer import limit_threads

    limit_threads(1)
    return train_one(config, steps, success, data)


def _succeeded(r: TrainResult, success: float) -> bool:
    """Not diverged, and the last step's loss at or below success x baseline."""
    return r.state != "diverged" and math.isfinite(r.final_loss) and r.final_loss <= success * r.baseline_loss


def train_columns(results: Sequence[TrainResult], success: float) -> dict:
    """Per point: final_loss = median over seeds of the last step's loss (nan if any seed's is nan);
    success_rate = fraction of seeds that did not diverge and whose final loss <= success x baseline;
    steps_to_success = median over seeds of the first step at or below that level, a seed that never
    got there counting as infinitely late (None, an empty cell, when at least half the seeds never did)."""
    firsts = [math.inf if r.first_success_step is None else r.first_success_step for r in results]
    med = _median(firsts)
    return dict(
        final_loss=_median(r.final_loss for r in results),
        success_rate=sum(_succeeded(r, success) for r in results) / len(results),
        steps_to_success=None if math.isinf(med) else med,
    )


def _local_results(jobs, workers: int):
    """(index, TrainResult) as runs finish: in this process for one worker, else a spawn process pool."""
    if workers <= 1:
        for i, job in enumerate(jobs):
            yield i, _train_job(*job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(_train_job, *job): i for i, job in enumerate(jobs)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: The Ray version the optional extra pins (pyproject [project.optional-dependencies] cluster).
RAY_PIN = "ray==2.60.0"


def _ray_results(jobs, address: str, workers: int):
    """(index, TrainResult) as Ray tasks finish. ``address="local"`` starts a local Ray with
    ``workers`` CPUs; otherwise ``ray.init(address=address)`` joins a running cluster (every node
    needs rnnviz installed: ``pip install -e .[cluster]``)."""
    try:
        import ray
    except ImportError:
        raise RnnvizError(f"--ray needs the optional Ray extra (pip install -e .[cluster], i.e. {RAY_PIN}), "
                          f"got no module named 'ray'") from None
    import os
    from pathlib import Path

    started = not ray.is_initialized()
    if started:
        if address == "local":
            root = str(Path(__file__).resolve().parents[1])  # workers import this checkout's rnnviz
            path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_train_job)
        refs = {remote.remote(*job): i for i, job in enumerate(jobs)}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                yield refs[ref], ray.get(ref)
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------------------------------
# The output file: rows as points finish, resume, final order
# --------------------------------------------------------------------------------------------------


class SweepFile:
    """The CSV a sweep writes, and resuming it.

    Rows are appended (and flushed) as points finish; at the end the file is rewritten with every row
    in grid order, so an interrupted and resumed sweep ends with the same file as an uninterrupted one.
    A sidecar ``<out>.sweep.json`` holds what the sweep is (base config, axes, seeds, training); a
    rerun with the same sidecar keeps the finished rows and skips their points; a different one is
    refused rather than mixed into the same file.
    """

    def __init__(self, path, columns: Sequence[str], spec: dict, key_columns: Sequence[str]):
        from pathlib import Path

        self.path = Path(path)
        self.meta = self.path.with_name(self.path.name + ".sweep.json")
        self.columns, self.spec, self.keys = list(columns), spec, list(key_columns)
        self.done: dict[tuple, dict] = {}

    def open(self) -> None:
        """Read finished rows (when the sidecar matches), then (re)write the file with them."""
        import json

        if self.path.exists() and self.meta.exists():
            try:
                old = json.loads(self.meta.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise RnnvizError(f"{self.meta} must be a sweep description (JSON), got {e}") from None
            if old != self.spec:
                raise RnnvizError(f"--out {self.path} holds a different sweep (see {self.meta.name}); "
                                  f"resuming needs the same preset, --set, --grid, --seeds and --train: "
                                  f"choose another --out or delete both files")
            try:
                with self.path.open(newline="", encoding="utf-8") as f:
                    reader = csv.reader(f)
                    header = next(reader, None)
                    if header != self.columns:
                        raise RnnvizError(f"--out {self.path} must have the columns {self.columns} to resume, "
                                          f"got {header}")
                    for cells in reader:
                        if len(cells) == len(self.columns):  # a line cut by the interrupt is dropped
                            row = dict(zip(self.columns, cells, strict=True))
                            self.done[tuple(row[k] for k in self.keys)] = row
            except OSError as e:
                raise RnnvizError(f"--out must be a readable file, got {str(self.path)!r} ({e.strerror})") from None
        try:
            self.meta.write_text(json.dumps(self.spec, indent=1), encoding="utf-8")
            self._write(list(self.done.values()))
        except OSError as e:
            raise RnnvizError(f"sweep output must be writable, got {str(self.path)!r} ({e.strerror})") from None

    def key(self, values: Sequence) -> tuple:
        return tuple(format_value(v) for v in values)

    def append(self, row: dict) -> None:
        text = rows_to_csv([row], self.columns).split("\n", 1)[1]
        with self.path.open("a", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
        self.done[tuple(format_value(row[k]) for k in self.keys)] = {c: format_value(row.get(c)) for c in
                                                                      self.columns}

    def finish(self, order: Sequence[tuple]) -> int:
        """Rewrite the file in grid order; returns the number of rows."""
        rows = [self.done[k] for k in order if k in self.done]
        self._write(rows)
        return len(rows)

    def _write(self, rows: Sequence[dict]) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in rows:
            w.writerow([r.get(c, "") for c in self.columns])
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(buf.getvalue(), encoding="utf-8")
        tmp.replace(self.path)


def sweep_spec(base: ExperimentConfig, axes: Sequence[GridAxis], seeds: int, train: int | None,
               success: float) -> dict:
    """What a sweep is, for the resume check (JSON-ready)."""
    return {"format": "rnnviz-sweep", "version": 1, "config": base.to_dict(),
            "grid": {a.field: [format_value(v) for v in a.values] for a in axes}, "seeds": seeds,
            "train": train, "success": success if train else None}


def run_sweep(base: ExperimentConfig, axes: Sequence[GridAxis], seeds: int, out, *, train: int | None = None,
              success: float = 0.5, workers: int = 1, ray: str | None = None, data=None,
              progress: Callable[[int, int], None] | None = None,
              on_row: Callable[[dict], None] | None = None) -> tuple[int, int]:
    """Plan, skip the points already in ``out`` (resume), compute the rest, write ``out`` in grid order.

    Without ``train``: the batched step-0 columns (:func:`init_stats`). With ``train`` (steps): also
    trains every remaining point x seed (:func:`train_one`) on ``workers`` processes, or on Ray when
    ``ray`` is an address or ``"local"``, and writes each point's row as soon as its seeds are done.
    ``progress(done, total)`` counts configs (runs with ``train``); ``on_row(row)`` sees every new row.
    Returns (rows written, points computed now).
    """
    if not isinstance(success, int | float) or not (0 < success and math.isfinite(success)):
        raise RnnvizError(f"--success must be a number > 0 (a fraction of the task's baseline loss), got {success!r}")
    points = plan(base, axes, seeds)
    names = [a.field for a in axes]
    columns = names + list(PHASE_COLUMNS) + (list(TRAIN_COLUMNS) if train else [])
    f = SweepFile(out, columns, sweep_spec(base, axes, seeds, train, success), names)
    f.open()
    order = [f.key(p.values) for p in points]
    left = [i for i, k in enumerate(order) if k not in f.done]
    todo = [points[i] for i in left]
    configs = [c for p in todo for c in p.configs]
    total = len(configs)  # configs, each one run when training

    def tick(done):
        if progress is not None:
            progress(done, total)

    # The step-0 columns of every point, in one batched call whatever was done before: float32 rounding in
    # the batched kernels can depend on which configs share a batch (last-bit differences, far inside the
    # 1e-6 contract), and a resumed sweep must end with the same file as an uninterrupted one.
    every = [c for p in points for c in p.configs]
    stats = init_stats(every, data, progress=None if train else (lambda n: tick(n * total // len(every))))
    every_row = phase_rows(points, stats, axes)
    rows, k = [every_row[i] for i in left], 0
    if not train:
        for row in rows:
            f.append(row)
            if on_row is not None:
                on_row(row)
        return f.finish(order), len(todo)

    jobs = [(c, train, success, data) for c in configs]
    owner = [i for i, p in enumerate(todo) for _ in p.configs]  # job -> point
    results: dict[int, list] = {i: [None] * len(p.configs) for i, p in enumerate(todo)}
    first_job = {}
    for j, i in enumerate(owner):
        first_job.setdefault(i, j)
    stream = _ray_results(jobs, ray, workers) if ray else _local_results(jobs, workers)
    with contextlib.closing(stream):  # an interrupt stops the pool / Ray at once; finished rows stay
        for j, res in stream:
            i = owner[j]
            results[i][j - first_job[i]] = res
            k += 1
            tick(k)
            if all(r is not None for r in results[i]):
                row = {**rows[i], **train_columns(results[i], success)}
                f.append(row)
                if on_row is not None:
                    on_row(row)
    return f.finish(order), len(todo)
