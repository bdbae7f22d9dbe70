"""The training engine: ``Trainer.step(n)`` trains and records; reset, rewind, clipping, watchdog.

One training step ``s`` (``s = 0, 1, ...``; step 0 sees the initial weights):

    batch_s = task.sample(N, generator)                      # x (N, L, I), seeded stream
    pred    = head(rnn(x))                                   # (N, L, O)
    L_s     = task.loss(pred, batch_s);   g = dL_s/dtheta    # one forward + one backward
    ||g||   = sqrt(sum_p ||g_p||^2)                          # recorded before clipping
    clip:  norm  -> if ||g|| > theta: g <- theta g / ||g||   (torch.nn.utils.clip_grad_norm_)
           value -> g <- clamp(g, -theta, theta)             (torch.nn.utils.clip_grad_value_)
    theta  <- optimizer step

Every step trains the same way: the fused torch forward + backward above, so a run's weights are
bit-identical whichever steps are recorded (the hand-written trace agrees with it only to ~1e-7).
Which steps are recorded (``Trainer.step(n, record=...)``):

    record="every"    step s is recorded when s % record_every == 0 (stepping by hand: every step)
    record="cadence"  while playing: when the display can use a new frame, i.e. step 0, the last
                      step, s % record_every == 0 when record_every > 1, and otherwise the first step
                      after RECORD_INTERVAL_SECONDS of training without a record

A record step adds one ``rnnviz.trace.trace`` (forward + backward, every internal recorded) over the
training batch and the fixed probe batch stacked, ``x = [x_batch; x_probe]`` (N + P rows), with the loss
on the first N rows only: the training rows give the gradient curves (the probe rows' adjoints are 0),
the probe rows the hidden states, gates and prediction (``P`` sequences drawn once from a separate seeded
generator, so frames are comparable across steps); then the W_hh spectra, once per record. The trace
runs before the training backward and its ``.grad`` is discarded, so recording never changes training.

Watchdog: a non-finite loss or gradient norm stops the run (state ``diverged``) *before* the optimizer
step, so the weights stay the last finite ones; the diverged step is recorded in full (the inf is the
lesson). ``pause_grad_norm > 0`` pauses the run when ||g|| first rises above it.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np

from rnnviz import analysis, cells
from rnnviz.errors import RnnvizError
from rnnviz.recording import MUTATION, STATES, RunHistory, StepRecord

__all__ = ["Trainer", "Checkpoint", "limit_threads", "STATES", "PROBE_SEED_OFFSET", "MAX_CHECKPOINTS",
           "RECORD_MODES", "RECORD_INTERVAL_SECONDS"]

# The probe generator is seeded with seed + this offset: a stream of its own, never one of the batches.
PROBE_SEED_OFFSET = 1_000_003
# At most this many in-memory checkpoints (older ones are thinned, step 0 always stays): a slider over
# a few thousand steps needs no more, and 64 Adam checkpoints of the default LSTM are ~15 MB.
MAX_CHECKPOINTS = 64
# Byte budget for checkpoints; the count limit shrinks for big models so memory stays bounded.
CHECKPOINT_BUDGET_BYTES = 64 * 2**20
#: How step(n, record=...) picks the steps it records (module docstring): by hand or while playing.
RECORD_MODES = ("every", "cadence")
#: While playing, at most this much training time passes without a record: the display redraws at
#: most twice a second (rnnviz.session.TICK_SECONDS = 0.5), so every redraw has a new frame.
RECORD_INTERVAL_SECONDS = 0.25
_clock = time.perf_counter  # what "training time" is measured with (tests replace it)


def limit_threads(n: int = 1) -> int:
    """Bound torch's intra-op threads (one per session by default: the app serves many sessions on
    few cores, and a small RNN gains little from more). Returns the previous setting."""
    import torch

    if not isinstance(n, int) or n < 1:
        raise RnnvizError(f"thread count must be an integer >= 1, got {n!r}")
    previous = torch.get_num_threads()
    if previous != n:
        torch.set_num_threads(n)
    return previous


@dataclass(frozen=True)
class Checkpoint:
    """Everything needed to continue a run from the start of ``step`` (after ``step`` updates).

    A clean value: restoring it into a trainer built from the same (or, for branching, a new)
    config continues the run exactly.
    """

    step: int
    model: dict  # state_dict, cloned tensors
    optimizer: dict  # optimizer.state_dict(), deep-copied
    batch_rng: object  # torch.ByteTensor: generator state of the batch stream
    prev_grad_norm: float  # for the rising-edge pause rule
    optimizer_kind: str = ""  # config.optimizer the state belongs to ("": the restoring trainer's own)

    @property
    def nbytes(self) -> int:
        import torch

        total = 0
        for v in self.model.values():
            total += v.numel() * v.element_size()
        for state in self.optimizer.get("state", {}).values():
            for v in state.values():
                if isinstance(v, torch.Tensor):
                    total += v.numel() * v.element_size()
        return total


class Trainer:
    """Train a config step by step and record what happens.

    ``Trainer(config, data=None)`` builds the task (``rnnviz.tasks.make_task``), the model
    (``rnnviz.models.build_model``), the optimizer (sgd | momentum (SGD, momentum 0.9) | adam | rmsprop),
    the seeded batch stream and the probe batch. ``data`` is passed to the task (CSV series, text).

    Attributes: ``config``, ``task``, ``model``, ``optimizer``, ``history: RunHistory``,
    ``state`` (ready | running | paused | diverged | finished), ``reason`` (why it paused/diverged,
    in words), ``step_count`` (steps trained = index of the next step).
    """

    def __init__(self, config, data=None):
        import torch

        from rnnviz.models import build_model
        from rnnviz.tasks import make_task

        self.config = config
        self.task = make_task(config, data)
        self.model = build_model(config, self.task.input_size, self.task.output_size)
        self.cell = cells.cell_of_module(self.model.rnn)
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = _make_optimizer(config, self._params)
        self._batch_gen = torch.Generator().manual_seed(int(config.seed))
        probe_gen = torch.Generator().manual_seed(int(config.seed) + PROBE_SEED_OFFSET)
        self.probe = self.task.sample(int(config.probe_size), probe_gen)
        self.history = RunHistory(config=config)
        self._set_probe()
        self._checkpoints: list[Checkpoint] = []
        self.state = "ready"
        self.reason = ""
        self.step_count = 0
        self._prev_grad_norm = 0.0
        self.record_interval_s = RECORD_INTERVAL_SECONDS  # record="cadence": training time between records
        self._unrecorded_s = math.inf  # training time since the last record (inf: record the next step)
        self._checkpoints.append(self._snapshot())  # step 0: reset() and rewind(0) restore it

    # ------------------------------------------------------------------ public API
    def step(self, n: int = 1, record: str = "every") -> list[StepRecord]:
        """Train up to ``n`` steps; stops early when the run diverges, pauses or finishes.

        ``record``: "every" (by hand: each step with s % record_every == 0) or "cadence" (while
        playing: a record whenever the display can use a new frame, see the module docstring).
        Returns the StepRecord of every step trained (full-record fields set on record steps,
        scalars on all). Calling it while paused resumes; while diverged or finished it trains nothing.
        """
        if not isinstance(n, int) or n < 0:
            raise RnnvizError(f"step count must be an integer >= 0, got {n!r}")
        if record not in RECORD_MODES:
            raise RnnvizError(f"record must be one of {', '.join(RECORD_MODES)}, got {record!r}")
        if n == 0 or self.state in ("diverged", "finished"):
            return []
        out: list[StepRecord] = []
        self._set_state("running", "")
        for _ in range(n):
            if self.step_count >= self._max_steps:
                break
            out.append(self._train_one(self._records(record)))
            if self.state != "running":
                break
        if self.state == "running":
            if self.step_count >= self._max_steps:
                self._set_state("finished", f"reached max_steps = {self._max_steps}")
            else:
                self._set_state("paused", "")  # between steps: the next step() goes on
        return out

    def pause(self, reason: str = "paused") -> None:
        """Stop the run with a reason (``stop_reason``); ``step()`` resumes it. A stopped run keeps
        its first reason."""
        if self.state == "ready" or (self.state == "paused" and not self.reason):
            self._set_state("paused", reason)

    @property
    def stop_reason(self) -> str:
        """Why the run stopped by itself or was stopped, in words: "" while it may go on (ready, or
        paused between steps), else the reason it is paused, diverged or finished."""
        return self.reason if self.state in ("paused", "diverged", "finished") else ""

    def reset(self) -> None:
        """Back to the exact initial weights, optimizer state and data stream; history emptied.

        A branch (:meth:`start_at`) goes back to where it branched: its first checkpoint."""
        first = self._checkpoints[0]
        with MUTATION:  # the counter and the history go back together
            self._restore(first)
            self._checkpoints = self._checkpoints[:1]
            self.history.truncate(first.step)
        if first.step == 0:
            self._set_state("ready", "")
        else:
            self._set_state("paused", f"back at the branch point, step {first.step}")

    def start_at(self, checkpoint: Checkpoint, history: RunHistory) -> None:
        """Continue another run from ``checkpoint`` under this trainer's own config: a branch.

        ``history`` holds the other run's steps before ``checkpoint.step`` (it becomes this trainer's
        history, with this config). The weights, the batch stream and the pause rule's memory come from
        the checkpoint; the optimizer state too when ``config.optimizer`` is the checkpoint's, with this
        config's lr (a new optimizer starts with no state: Adam's moments of another optimizer mean
        nothing to it). Clipping, batch size and the rest are read from the config at every step, so a
        branch whose config is the original's continues bit-identically (tests/test_branches.py).
        The branch's first checkpoint is ``checkpoint``: :meth:`reset` comes back to it.
        """
        if len(history) and int(history.steps[-1]) >= checkpoint.step:
            raise RnnvizError(f"a branch's history must end before its checkpoint step {checkpoint.step}, "
                              f"got a step {int(history.steps[-1])}")
        history.config = self.config
        self.history = history
        self._checkpoints = [checkpoint]
        self._restore(checkpoint)
        if checkpoint.step == 0:
            self._set_state("ready", "")
        else:
            self._set_state("paused", f"branched at step {checkpoint.step}")

    def rewind(self, step: int) -> int:
        """Restore the latest checkpoint at or before ``step``; drop the history from it on.

        Returns the step the run now continues from (the next ``step()`` trains that step again,
        identically when nothing else changed). State becomes ``paused`` (``ready`` at step 0).
        """
        if not isinstance(step, int | np.integer) or step < 0:
            raise RnnvizError(f"rewind step must be an integer >= 0, got {step!r}")
        ck = self.checkpoint_at(int(step))
        self._restore(ck)
        self._checkpoints = [c for c in self._checkpoints if c.step <= ck.step]
        self.history.truncate(ck.step)
        if ck.step == 0:
            self._set_state("ready", "")
        else:
            self._set_state("paused", f"rewound to step {ck.step}")
        return ck.step

    def checkpoint_at(self, step: int) -> Checkpoint:
        """The latest in-memory checkpoint at or before ``step`` (step 0 always exists; a branch's
        first checkpoint is its branch point)."""
        earlier = [c for c in self._checkpoints if c.step <= step]
        if not earlier:
            raise RnnvizError(f"step must be at or after this run's first checkpoint, step "
                              f"{self._checkpoints[0].step} (where it branched), got {step}")
        return max(earlier, key=lambda c: c.step)

    def checkpoint_steps(self) -> list[int]:
        return [c.step for c in self._checkpoints]

    @property
    def diverged_reason(self) -> str:
        return self.reason if self.state == "diverged" else ""

    # ------------------------------------------------------------------ one step
    @property
    def _max_steps(self) -> int:
        return int(self.config.max_steps)  # 1..100,000 (config.FIELDS): every run ends

    def _records(self, mode: str) -> bool:
        """Whether the next step (``self.step_count``) is recorded in ``mode`` (module docstring)."""
        s, every = self.step_count, max(1, int(self.config.record_every))
        on_grid = s % every == 0
        if mode == "every" or (every > 1 and on_grid):
            return on_grid
        return s == 0 or s == self._max_steps - 1 or self._unrecorded_s >= self.record_interval_s

    def _train_one(self, record: bool) -> StepRecord:
        import torch

        started = _clock()
        cfg = self.config
        s = self.step_count
        every = int(cfg.checkpoint_every or 0)
        if s > 0 and every > 0 and s % every == 0:
            self._add_checkpoint(self._snapshot())
        batch = self.task.sample(int(cfg.batch_size), self._batch_gen)
        traced = self._record_pass(batch) if record else None  # with the weights the gradient is taken at
        self.optimizer.zero_grad(set_to_none=True)  # the trace's .grad is not the training gradient
        out, _ = self.model.rnn(batch.x)  # (N, L, D*H): the fused torch forward + backward, every step
        pred = self.model.head(out)  # (N, L, O)
        loss_t = self.task.loss(pred, batch)
        loss_t.backward()
        loss = loss_t.item()
        grad_norm = _total_norm(self._params)
        finite = math.isfinite(loss) and math.isfinite(grad_norm)
        with torch.no_grad():
            metric = float(self.task.metric(pred.detach(), batch)) if finite else math.nan
        lr = float(self.optimizer.param_groups[0]["lr"])
        if not finite:  # record the diverged step in full: the weights are unchanged
            traced = traced or self._record_pass(batch)
            what = "loss" if not math.isfinite(loss) else "gradient norm"
            value = loss if not math.isfinite(loss) else grad_norm
            rec = self._full_record(s, loss, metric, grad_norm, grad_norm, False, lr, False, traced)
            self._commit(rec, started)
            self._set_state("diverged", f"{what} became {value} at step {s}")
            self.history.status["diverged_step"] = s
            return rec
        clipped, after = self._clip(grad_norm)
        self.optimizer.step()
        if traced is not None:
            rec = self._full_record(s, loss, metric, grad_norm, after, clipped, lr, True, traced)
        else:
            rec = StepRecord(s, loss, metric, grad_norm, after, clipped, lr, True)
        self._commit(rec, started)
        threshold = float(cfg.pause_grad_norm)  # 0 = off
        if threshold > 0 and grad_norm > threshold >= self._prev_grad_norm:
            self._set_state("paused", f"gradient norm {grad_norm:.3g} rose above the pause threshold "
                                      f"{threshold:g} at step {s}")
        self._prev_grad_norm = grad_norm
        return rec

    def _commit(self, rec: StepRecord, started: float) -> None:
        with MUTATION:  # a snapshot for drawing (PlaySession.reading) sees the step and the counter, or neither
            self.history.append(rec)
            self.step_count = rec.step + 1
        self._unrecorded_s = 0.0 if rec.recorded else self._unrecorded_s + _clock() - started

    def _record_pass(self, batch) -> dict:
        """One trace over [x_batch; x_probe] (N + P rows, loss on the N training rows) and the W_hh spectra.

        Returns the record's arrays: gradient curves from the training rows, states, gates and the
        prediction from the probe rows. Leaves ``.grad`` set (the caller clears it before training).
        """
        import torch

        from rnnviz.trace import trace

        n = batch.x.shape[0]

        def loss_fn(output, h_n):
            return self.task.loss(self.model.head(output[:n]), batch)  # (N, L, O) predictions

        tr = trace(self.model.rnn, torch.cat([batch.x, self.probe.x]), loss_fn)
        gh = tr.grad_hidden[:, :, :n]  # (Lyr, D, N, L, H): the probe rows' adjoints are 0
        gc = None if tr.grad_cell is None else tr.grad_cell[:, :, :n]
        gi = tr.grad_input[:n].astype(np.float64)  # (N, L, I)
        sv, eig = analysis.whh_spectra(self.model.rnn)
        unbounded = cells.get(self.cell).nonlinearity == "relu"  # a relu state has no range to fit float16
        hidden_dtype = np.float32 if unbounded else np.float16
        with torch.no_grad():
            pred = self.model.head(torch.from_numpy(tr.output[n:])).numpy()  # (P, L, O)
        return dict(
            grad_norms=_frobenius(gh),
            cell_grad_norms=None if gc is None else _frobenius(gc),
            input_grad_norms=np.sqrt(np.einsum("nli,nli->l", gi, gi)).astype(np.float32),
            param_grad_norms={k: np.asarray(v, np.float32) for k, v in tr.param_grad_norms.items()},
            singular_values=sv, eigenvalues=eig,
            hidden=tr.hidden[:, :, n:].astype(hidden_dtype),
            cell=None if tr.cell is None else tr.cell[:, :, n:].astype(np.float16),
            gates={k: v[:, :, n:].astype(np.float16) for k, v in tr.gates.items()},
            prediction=pred.astype(np.float32),  # unbounded regression outputs, and small
        )

    @staticmethod
    def _full_record(s, loss, metric, grad_norm, after, clipped, lr, finite, traced: dict) -> StepRecord:
        return StepRecord(
            step=s, loss=float(loss), metric=float(metric), grad_norm=float(grad_norm),
            grad_norm_clipped=float(after), clipped=bool(clipped), lr=lr, finite=bool(finite), **traced,
        )

    def _clip(self, grad_norm: float) -> tuple[bool, float]:
        import torch

        cfg = self.config
        theta = float(cfg.clip_threshold)
        if cfg.clip == "norm":
            if grad_norm > theta:
                torch.nn.utils.clip_grad_norm_(self._params, theta)
                return True, _total_norm(self._params)
            return False, grad_norm
        if cfg.clip == "value":
            clipped = any(bool((p.grad.abs() > theta).any()) for p in self._params if p.grad is not None)
            if clipped:
                torch.nn.utils.clip_grad_value_(self._params, theta)
                return True, _total_norm(self._params)
            return False, grad_norm
        return False, grad_norm

    # ------------------------------------------------------------------ state and checkpoints
    def _set_state(self, state: str, reason: str) -> None:
        with MUTATION:  # a drawing's snapshot sees the state and its reason together
            self.state, self.reason = state, reason
            self.history.status.update(state=state, reason=reason)
            if state != "diverged":
                self.history.status["diverged_step"] = None

    def _set_probe(self) -> None:
        p = self.probe
        arrays = {"x": p.x}
        if getattr(p, "y", None) is not None:
            arrays["y"] = p.y
        if getattr(p, "mask", None) is not None:
            arrays["mask"] = p.mask
        self.history.set_probe(**{k: v.detach().cpu().numpy() for k, v in arrays.items()})

    def _snapshot(self) -> Checkpoint:
        return Checkpoint(
            step=self.step_count,
            model={k: v.detach().clone() for k, v in self.model.state_dict().items()},
            optimizer=copy.deepcopy(self.optimizer.state_dict()),
            batch_rng=self._batch_gen.get_state(),
            prev_grad_norm=self._prev_grad_norm,
            optimizer_kind=str(self.config.optimizer),
        )

    def _restore(self, ck: Checkpoint) -> None:
        self.model.load_state_dict(ck.model)
        if ck.optimizer_kind in ("", self.config.optimizer):
            self.optimizer.load_state_dict(copy.deepcopy(ck.optimizer))
            for group in self.optimizer.param_groups:  # a branch may lower the lr; the state stays
                group["lr"] = float(self.config.lr)
        else:  # a branch switched optimizer: the new one starts with no state
            self.optimizer = _make_optimizer(self.config, self._params)
        self._batch_gen.set_state(ck.batch_rng)
        self._prev_grad_norm = ck.prev_grad_norm
        self.step_count = ck.step
        self._unrecorded_s = math.inf  # the first step after a reset or rewind is shown
        self.optimizer.zero_grad(set_to_none=True)

    def _add_checkpoint(self, ck: Checkpoint) -> None:
        """Append, then thin: keep step 0 and the newest; drop every other older one when over the
        limit (count limit from MAX_CHECKPOINTS and CHECKPOINT_BUDGET_BYTES), so spacing grows with age."""
        self._checkpoints.append(ck)
        limit = int(np.clip(CHECKPOINT_BUDGET_BYTES // max(1, ck.nbytes), 4, MAX_CHECKPOINTS))
        if len(self._checkpoints) > limit:
            head, middle, last = self._checkpoints[0], self._checkpoints[1:-1], self._checkpoints[-1]
            self._checkpoints = [head, *middle[1::2], last]


def _make_optimizer(config, params):
    import torch

    name, lr = config.optimizer, float(config.lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)  # 0.9: the classical heavy-ball value
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)  # betas (0.9, 0.999), eps 1e-8: torch's defaults
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)  # alpha 0.99: torch's default
    raise RnnvizError(f"optimizer must be one of sgd, momentum, adam, rmsprop, got {name!r}")


def _total_norm(params) -> float:
    """||g||_2 over all parameter gradients (float; inf/nan when a gradient is non-finite)."""
    import torch

    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))


def _frobenius(a: np.ndarray) -> np.ndarray:
    """Norm over N and H of (Lyr, D, N, L, H) -> (Lyr, D, L) float32; squares in float64 (no overflow)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sqrt(np.square(a, dtype=np.float64).sum(axis=(2, 4))).astype(np.float32)

