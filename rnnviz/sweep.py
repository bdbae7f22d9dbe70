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
whose per-step recurrent matmul is one ``baddbmm`` over the stacked W_hh of all of them. The forward
repeats ``rnnviz.trace``'s operations in its order and with the same inner loop per config (each
config's block of a batched buffer is kept apart by one padding element, so the elementwise kernels
see the same rows as in a per-config run): on this machine the hidden states are then bit-identical
to ``trace``'s, which matters because for rho > 1 the tanh RNN is chaotic and a rounding difference
grows to O(1) within a hundred steps. The backward (linear in the adjoint) repeats trace's per-step
formulas. All four cells are batched for ``num_layers = 1``, one direction; deeper or bidirectional
models fall back to one ``rnnviz.trace`` per config (same numbers, no speed-up).
Run with one torch thread (``limit_threads(1)``), as the app does.
"""

from __future__ import annotations

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
    "PHASE_COLUMNS", "rows_to_csv", "MAX_AXIS_VALUES", "MAX_RUNS",
]

#: At most this many values per axis, and configs (points x seeds) per sweep.
MAX_AXIS_VALUES = 1000
MAX_RUNS = 100_000
#: Result columns after the grid fields.
PHASE_COLUMNS = ("sigma_max", "spectral_radius", "grad_ratio", "grad_ratio_min", "grad_ratio_max")
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


def _padded(*shape, dtype):
    """torch.empty(shape) in which the blocks along the second dim (one per config) are one element
    apart, so an elementwise kernel never merges two configs' blocks into one run: it then walks each
    config's block with the same inner loop (and the same vector/scalar tail split) as a per-config
    run does, which keeps the float32 results bit-identical."""
    import torch

    lead, rest = shape[:2], shape[2:]
    n = math.prod(rest)
    return torch.empty(*lead, n + 1, dtype=dtype)[..., :n].unflatten(-1, rest)


def _direct_terms(items, out_bf, dh) -> None:
    """dL/d(output) of every config through its own head and task loss, written into ``dh`` (L, B, N, H).

    As in trace's loss_fn (``task.loss(head(output), batch)``, output (N, L, H) contiguous):
        pred = head(output)                     per config, the same nn.Linear call (bit-identical;
                                                a batched baddbmm is not: with O = 1 torch takes a
                                                matrix-vector path)
        dL/dpred per config by autograd on its own loss (small: (N, L, O))
        dL/doutput = dL/dpred W_o               per config, the mm of Linear's backward (a bmm is not
                                                bit-identical for every shape)
    ``out_bf`` is (B, N, L, H)."""
    import torch

    B, N, L, H = out_bf.shape
    n = N * L * H
    # each config's output contiguous and 64-byte aligned, as trace's own buffer (MKL's matrix-vector
    # kernel rounds differently on a misaligned start: measured at H=13, N=7)
    out_c = torch.empty(B, -(-n // 16) * 16, dtype=out_bf.dtype)[:, :n].unflatten(1, (N, L, H))
    out_c.copy_(out_bf)
    leaves = [m.head(out_c[k]).requires_grad_() for k, (_, m, _) in enumerate(items)]  # (N, L, O) each
    with torch.enable_grad():
        total = sum(task.loss(p, batch) for (task, _, batch), p in zip(items, leaves, strict=True))
        grads = torch.autograd.grad(total, leaves, allow_unused=True)
    d_out = torch.zeros(B, N, L, H, dtype=out_bf.dtype)
    for k, (g, (_, m, _)) in enumerate(zip(grads, items, strict=True)):
        if g is not None:
            torch.mm(g.reshape(N * L, -1), m.head.weight, out=d_out[k].view(N * L, H))
    dh.copy_(d_out.permute(2, 0, 1, 3))


def _batched_ratios(cell: str, items) -> list[float]:
    """grad_ratio of each (task, model, batch) in ``items``: all share (cell, H, N, L, I, O)."""
    import torch

    with torch.no_grad():
        run = {"rnn_tanh": _vanilla, "rnn_relu": _vanilla, "lstm": _lstm, "gru": _gru}[cell]
        out_bf, backward = run(cell, [m.rnn for _, m, _ in items], torch.stack([bt.x for _, _, bt in items]))
        B, N, L, H = out_bf.shape
        dh = torch.empty(L, B, N, H, dtype=out_bf.dtype)  # the direct terms, then (in place) dL/dh_t
        _direct_terms(items, out_bf, dh)
        first, last = backward(dh)
    n0, nL = _frob_ends(first, last)
    return [_ratio(a, z) for a, z in zip(n0, nL, strict=True)]


def _stack(rnns, name):
    import torch

    return torch.stack([getattr(r, name) for r in rnns])


def _vanilla(cell, rnns, x):
    """Plain RNN, as torch._VF.rnn_tanh / rnn_relu (trace's forward) and trace's _VanillaRun backward:
        a_t = (b_hh + W_hh h_{t-1}) + (W_ih x_t + b_ih),  h_t = phi(a_t)
        dA_t = dL/dh_t ⊙ phi'(a_t),  dL/dh_{t-1} += W_hh^T dA_t
    x (B, N, L, I) -> (output (B, N, L, H), backward(d_out) -> (dL/dh_1, dL/dh_T) each (B, N, H))."""
    import torch

    B, N, L, I = x.shape
    w_ih, w_hh = _stack(rnns, "weight_ih_l0"), _stack(rnns, "weight_hh_l0")  # (B, H, I), (B, H, H)
    H = w_hh.shape[1]
    has_bias = rnns[0].bias
    b_ih = _stack(rnns, "bias_ih_l0")[:, None] if has_bias else None  # (B, 1, H)
    b_hh = _stack(rnns, "bias_hh_l0")[:, None] if has_bias else None
    xs = x.transpose(1, 2).reshape(B, L * N, I)  # time-major per config, as _VF's input projection
    xp = torch.bmm(xs, w_ih.transpose(1, 2)) if b_ih is None else torch.baddbmm(b_ih, xs, w_ih.transpose(1, 2))
    xp = xp.view(B, L, N, H)
    def phi(a, out):
        return torch.tanh(a, out=out) if cell == "rnn_tanh" else torch.clamp_min(a, 0, out=out)

    hs = _padded(L, B, N, H, dtype=x.dtype)  # h_t by step
    a = _padded(1, B, N, H, dtype=x.dtype)[0]
    h = x.new_zeros(B, N, H)
    w_t = w_hh.transpose(1, 2)
    for t in range(L):
        r = torch.bmm(h, w_t) if b_hh is None else torch.baddbmm(b_hh, h, w_t)  # contiguous: faster gemm
        torch.add(r, xp[:, t], out=a)  # an exact op: the padded layout changes no bit
        h = hs[t]
        phi(a, out=h)

    def backward(dh):  # dh (L, B, N, H): the direct terms, in place the totals
        da = torch.empty(B, N, H, dtype=x.dtype)
        zero = x.new_zeros(())
        for t in range(L - 1, 0, -1):
            if cell == "rnn_tanh":  # dA_t = dh_t ⊙ (1 - h_t²), per step: no (L, B, N, H) temporaries
                torch.mul(hs[t], hs[t], out=da)
                da.neg_().add_(1)  # 1 - h² with one rounding, the same bits as trace's 1 - h * h
                da.mul_(dh[t])
            else:
                torch.where(hs[t] <= 0, zero, dh[t], out=da)
            dh[t - 1].baddbmm_(da, w_hh)
        return dh[0], dh[L - 1]

    return hs.permute(1, 2, 0, 3), backward


def _lstm(cell, rnns, x):
    """LSTM, as trace's _LSTMRun (rows permuted i f o g, time-major, in-place gates):
        a_t += W_hh h_{t-1}; sigma on i f o; tanh on g; c_t = i g + f c_{t-1}; h_t = o tanh(c_t)
    backward per step (trace's formulas):
        [dA^o, dc]_t = [0, f dc]_{t+1} + dh_t [K^o, K^c]_t;  [f dc, dA^i, dA^f, dA^g]_t = dc_t [f, P^i, P^f, P^g]_t
        dL/dh_{t-1} += W_hh^T [dA^i, dA^f, dA^g, dA^o]_t."""
    import torch

    B, N, L, I = x.shape
    dtype = x.dtype
    w_ih, w_hh = _stack(rnns, "weight_ih_l0"), _stack(rnns, "weight_hh_l0")  # (B, 4H, I), (B, 4H, H)
    H = w_hh.shape[2]
    rows = torch.cat([torch.arange(k * H, (k + 1) * H) for k in (0, 1, 3, 2)])  # i f o g
    xs = x.transpose(1, 2).reshape(B, L * N, I)  # time-major per config
    if rnns[0].bias:
        bias = (_stack(rnns, "bias_ih_l0") + _stack(rnns, "bias_hh_l0"))[:, rows][:, None]  # (B, 1, 4H)
        a_bm = torch.baddbmm(bias, xs, w_ih[:, rows].transpose(1, 2))
    else:
        a_bm = torch.bmm(xs, w_ih[:, rows].transpose(1, 2))
    a = _padded(L, B, N, 4 * H, dtype=dtype)
    a.copy_(a_bm.view(B, L, N, 4 * H).transpose(0, 1))
    hx, cx = _padded(L + 1, B, N, H, dtype=dtype), _padded(L + 1, B, N, H, dtype=dtype)
    tc = _padded(L, B, N, H, dtype=dtype)
    hx[0].zero_()
    cx[0].zero_()
    w = w_hh[:, rows].transpose(1, 2)  # (B, H, 4H)
    for t in range(L):
        at, ct = a[t], cx[t + 1]
        at.baddbmm_(hx[t], w)
        at[..., : 3 * H].sigmoid_()
        gt = at[..., 3 * H :].tanh_()
        torch.mul(at[..., :H], gt, out=ct)
        ct.addcmul_(at[..., H : 2 * H], cx[t])
        torch.tanh(ct, out=tc[t])
        torch.mul(at[..., 2 * H : 3 * H], tc[t], out=hx[t + 1])

    def backward(dh):  # dh (L, B, N, H): the direct terms, in place the totals
        i, f, o, g = (a[..., k * H : (k + 1) * H] for k in range(4))
        one = torch.ones((), dtype=dtype)
        sd = torch.addcmul(a[..., : 3 * H], a[..., : 3 * H], a[..., : 3 * H], value=-1)  # sigma' of i f o
        tmp = torch.addcmul(one, tc, tc, value=-1)  # 1 - tanh^2 c
        k = torch.empty(L, B, N, 2, H, dtype=dtype)  # [K^o, K^c]
        torch.mul(tc, sd[..., 2 * H :], out=k[..., 0, :])
        torch.mul(o, tmp, out=k[..., 1, :])
        p = torch.empty(L, B, N, 4, H, dtype=dtype)  # [f, P^i, P^f, P^g]
        p[..., 0, :] = f
        torch.mul(g, sd[..., :H], out=p[..., 1, :])
        torch.mul(cx[:L], sd[..., H : 2 * H], out=p[..., 2, :])
        torch.addcmul(one, g, g, value=-1, out=tmp)
        torch.mul(i, tmp, out=p[..., 3, :])
        z = torch.zeros(L + 1, B, N, 7, H, dtype=dtype)  # slots [0, f dc, dA^i, dA^f, dA^g, dA^o, dc]
        for t in range(L - 1, -1, -1):
            torch.addcmul(z[t + 1, ..., 0:2, :], dh[t][..., None, :], k[t], out=z[t, ..., 5:7, :])
            torch.mul(z[t, ..., 6:7, :], p[t], out=z[t, ..., 1:5, :])
            if t > 0:
                dh[t - 1].baddbmm_(z[t, ..., 2:6, :].reshape(B, N, 4 * H), w_hh)
        return dh[0], dh[L - 1]

    return hx[1:].permute(1, 2, 0, 3), backward


def _gru(cell, rnns, x):
    """GRU, as trace's _GRURun (batch-first buffers, h_t = n_t + z_t (h_{t-1} - n_t)); backward:
        dA^n = dh (1 - z)(1 - n^2);  dA^z = dh (h_{t-1} - n) z (1 - z);  dA^r = dA^n ĥ r (1 - r)
        dL/dh_{t-1} += z_t dh_t + W_hh^T [dA^r, dA^z, r dA^n]_t."""
    import torch

    B, N, L, I = x.shape
    dtype = x.dtype
    w_ih, w_hh = _stack(rnns, "weight_ih_l0"), _stack(rnns, "weight_hh_l0")  # (B, 3H, I), (B, 3H, H)
    H = w_hh.shape[2]
    x2 = x.reshape(B, N * L, I)  # batch-first rows, as trace's _input_gates
    has_bias = rnns[0].bias
    if has_bias:
        b_ih, b_hh = _stack(rnns, "bias_ih_l0"), _stack(rnns, "bias_hh_l0")  # (B, 3H)
        a = torch.baddbmm(b_ih[:, None], x2, w_ih.transpose(1, 2))
    else:
        a = torch.bmm(x2, w_ih.transpose(1, 2))
    a = a.view(B, N, L, 3 * H)
    gin = a[..., 2 * H :].clone()
    if has_bias:
        a[..., : 2 * H] += b_hh[:, None, None, : 2 * H]
        a[..., 2 * H :] = b_hh[:, None, None, 2 * H :]
    else:
        a[..., 2 * H :] = 0
    gates = torch.empty(3, B, N, L, H, dtype=dtype)
    h = torch.empty(B, N, L, H, dtype=dtype)
    dlt = torch.empty(B, N, L, H, dtype=dtype)
    a4 = a.view(B, N, L, 3, H)
    w = w_hh.transpose(1, 2)  # (B, H, 3H)
    h0 = x.new_zeros(B, N, H)
    for t in range(L):
        hp = h0 if t == 0 else h[:, :, t - 1]
        a[:, :, t].baddbmm_(hp, w)
        torch.sigmoid(a4[:, :, t, :2].permute(2, 0, 1, 3), out=gates[:2, :, :, t])
        nt = gates[2, :, :, t]
        torch.addcmul(gin[:, :, t], gates[0, :, :, t], a4[:, :, t, 2], out=nt).tanh_()
        torch.sub(hp, nt, out=dlt[:, :, t])
        torch.addcmul(nt, gates[1, :, :, t], dlt[:, :, t], out=h[:, :, t])

    def backward(dh):  # dh (L, B, N, H): the direct terms, in place the totals
        r, z, n = gates
        qn = (1 - z) * (1 - n * n)  # (B, N, L, H)
        q = torch.empty(B, N, L, 3, H, dtype=dtype)
        torch.mul(qn * a[..., 2 * H :], r * (1 - r), out=q[..., 0, :])
        torch.mul(dlt, z * (1 - z), out=q[..., 1, :])
        torch.mul(qn, r, out=q[..., 2, :])
        da = torch.empty(B, N, 3, H, dtype=dtype)
        for t in range(L - 1, 0, -1):
            torch.mul(dh[t][:, :, None], q[:, :, t], out=da)
            dh[t - 1].addcmul_(z[:, :, t], dh[t])
            dh[t - 1].baddbmm_(da.view(B, N, 3 * H), w_hh)
        return dh[0], dh[L - 1]

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
