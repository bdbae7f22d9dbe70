"""Step-0 quantities of many configs (:class:`InitStats`), batched over configs of one shape.

Definitions in rnnviz/sweep/__init__.py's docstring; the batched passes are in rnnviz/sweep/kernels.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rnnviz import cells
from rnnviz.config import ExperimentConfig
from rnnviz.sweep.kernels import RUNS, aligned_blocks

__all__ = ["InitStats", "init_stats", "CHUNK_BYTES"]

#: Float bytes one batched chunk may hold (its buffers), so long sequences x many configs fit in memory.
CHUNK_BYTES = 256 * 2**20


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
    """(max sigma_max, max spectral radius) over the gate blocks of layer 0's forward W_hh, per model,
    by ``analysis.spectra`` (float64, as the trainer's recorded spectra). Non-finite weights give nan."""
    from rnnviz.analysis import spectra

    if not models:
        return []
    G, H = len(cells.get(cell).blocks), models[0].rnn.hidden_size
    W = np.stack([m.rnn.weight_hh_l0.detach().numpy() for m in models]).reshape(-1, G, H, H)  # (M, G, H, H)
    sv, ev = spectra(W)
    sigma = sv[..., 0].max(-1)  # singular values descend; nan propagates
    radius = np.abs(ev[..., 0]).max(-1)  # eigenvalues by modulus, descending
    return [(float(a), float(b)) for a, b in zip(sigma, radius, strict=True)]


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



def _build(configs: Sequence[ExperimentConfig], b) -> list[tuple]:
    """(config, task, model, model key) per config, each task and model built once per key."""
    built = []
    for c in configs:
        task = b.task(c)
        key = b.model_key(c, task)
        built.append((c, task, b.model(c, task, key), key))
    return built


def _spectra_by_key(built) -> dict:
    """model key -> (sigma_max, spectral_radius): once per distinct model, batched per (cell, H)."""
    distinct: dict = {}
    for c, _task, m, key in built:
        distinct.setdefault(key, (m, (c.cell, c.hidden_size)))
    spec: dict = {}
    for kind in {kind for _, kind in distinct.values()}:
        keys = [k for k, (_, kd) in distinct.items() if kd == kind]
        for k, s in zip(keys, _spectrum_stats([distinct[k][0] for k in keys], kind[0]), strict=True):
            spec[k] = s
    return spec


def _shape_groups(built) -> tuple[dict, list[int]]:
    """Indices of the configs the batched passes take, by shape (cell, H, N, L, I, O); the others
    (several layers or bidirectional) fall back to one trace each."""
    groups: dict = {}
    fallback = []
    for i, (c, task, _m, _k) in enumerate(built):
        if c.num_layers != 1 or c.bidirectional:
            fallback.append(i)
            continue
        shape = (c.cell, c.hidden_size, c.batch_size, c.length, task.input_size, task.output_size)
        groups.setdefault(shape, []).append(i)
    return groups, fallback


def _batched(built, b, groups: dict, ratios: list, tick: Callable[[int], None]) -> None:
    """Fill ``ratios`` for every grouped config, in chunks of at most CHUNK_BYTES of buffers."""
    for shape, idx in groups.items():
        cell, H, N, L = shape[:4]
        per_config = 4 * L * N * H * (16 if cell == "lstm" else 10)  # bytes of the chunk's buffers
        size = max(1, min(len(idx), CHUNK_BYTES // per_config))
        for start in range(0, len(idx), size):
            chunk = idx[start:start + size]
            items = [(built[i][1], built[i][2], b.batch(built[i][0], built[i][1])) for i in chunk]
            for i, r in zip(chunk, _batched_ratios(cell, items), strict=True):
                ratios[i] = r
            tick(len(chunk))


def _traced(built, b, fallback: list[int], ratios: list, tick: Callable[[int], None]) -> None:
    """Fill ``ratios`` for the fallback configs with one rnnviz.trace each."""
    from rnnviz.trace import trace

    for i in fallback:
        c, task, m, _k = built[i]
        batch = b.batch(c, task)
        tr = trace(m.rnn, batch.x, lambda o, h, m=m, task=task, batch=batch: task.loss(m.head(o), batch))
        ratios[i] = _ratio(float(tr.grad_norms[0, 0, 0]), float(tr.grad_norms[0, 0, -1]))
        tick(1)


def init_stats(configs: Sequence[ExperimentConfig], data=None,
               progress: Callable[[int], None] | None = None) -> list[InitStats]:
    """InitStats of every config (same order), batched over configs that share a shape.

    ``progress(n)`` is called with the number of configs finished so far.
    """
    b = _Builder(data)
    built = _build(configs, b)
    spec = _spectra_by_key(built)
    groups, fallback = _shape_groups(built)
    ratios: list[float] = [math.nan] * len(configs)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done)

    _batched(built, b, groups, ratios, tick)
    _traced(built, b, fallback, ratios, tick)
    return [InitStats(*spec[key], ratios[i]) for i, (_c, _t, _m, key) in enumerate(built)]


def _direct_terms(items, out_bf) -> list:
    """dL/d(output) of every config through its own head and task loss, as trace's loss_fn computes
    it (``task.loss(head(output), batch)`` on the (N, L, H) output, autograd for dL/dpred, then the mm
    of Linear's backward): a list of (N, L, H), one per config. ``out_bf`` is (B, N, L, H)."""
    import torch

    B, N, L, H = out_bf.shape
    out_c = aligned_blocks(B, N, L, H, dtype=out_bf.dtype)  # contiguous, aligned: the head's addmm path
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
        out_bf, backward = RUNS[cell](cell, [m.rnn for _, m, _ in items], [bt.x for _, _, bt in items])
        first, last = backward(_direct_terms(items, out_bf))
    n0, nL = _frob_ends(first, last)
    return [_ratio(a, z) for a, z in zip(n0, nL, strict=True)]

