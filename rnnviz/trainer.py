"""The training engine: ``Trainer.step(n)`` trains and records; reset, rewind, clipping, watchdog.

One training step ``s`` (``s = 0, 1, ...``; step 0 sees the initial weights):

    batch_s = task.sample(N, generator)                      # x (N, L, I), seeded stream
    pred    = head(rnn(x))                                   # (N, L, O)
    L_s     = task.loss(pred, batch_s);   g = dL_s/dtheta    # one forward + one backward
    ||g||   = sqrt(sum_p ||g_p||^2)                          # recorded before clipping
    clip:  norm  -> if ||g|| > theta: g <- theta g / ||g||   (torch.nn.utils.clip_grad_norm_)
           value -> g <- clamp(g, -theta, theta)             (torch.nn.utils.clip_grad_value_)
    theta  <- optimizer step

On record steps (``s % record_every == 0``) the forward + backward is ``rnnviz.trace.trace`` itself,
which leaves ``.grad`` on every parameter like ``loss.backward()``, so recording costs no second
backward; the hidden states and gates come from a forward-only trace on the fixed probe batch
(``P`` sequences drawn once from a separate seeded generator, so frames are comparable across steps).

Watchdog: a non-finite loss or gradient norm stops the run (state ``diverged``) *before* the optimizer
step, so the weights stay the last finite ones; the diverged step is recorded in full (the inf is the
lesson). ``pause_grad_norm > 0`` pauses the run when ||g|| first rises above it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from rnnviz import analysis, cells
from rnnviz.errors import RnnvizError
from rnnviz.recording import STATES, RunHistory, StepRecord

__all__ = ["Trainer", "Checkpoint", "limit_threads", "STATES", "PROBE_SEED_OFFSET", "MAX_CHECKPOINTS"]

# The probe generator is seeded with seed + this offset: a stream of its own, never one of the batches.
PROBE_SEED_OFFSET = 1_000_003
# At most this many in-memory checkpoints (older ones are thinned, step 0 always stays): a slider over
# a few thousand steps needs no more, and 64 Adam checkpoints of the default LSTM are ~15 MB.
MAX_CHECKPOINTS = 64
# Byte budget for checkpoints; the count limit shrinks for big models so memory stays bounded.
CHECKPOINT_BUDGET_BYTES = 64 * 2**20


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
        self._checkpoints.append(self._snapshot())  # step 0: reset() and rewind(0) restore it

    # ------------------------------------------------------------------ public API
    def step(self, n: int = 1) -> list[StepRecord]:
        """Train up to ``n`` steps; stops early when the run diverges, pauses or finishes.

        Returns the StepRecord of every step trained (full-record fields set on record steps).
        Calling it while paused resumes; while diverged or finished it trains nothing.
        """
        if not isinstance(n, int) or n < 0:
            raise RnnvizError(f"step count must be an integer >= 0, got {n!r}")
        if n == 0 or self.state in ("diverged", "finished"):
            return []
        out: list[StepRecord] = []
        self._set_state("running", "")
        for _ in range(n):
            if self.step_count >= self._max_steps:
                break
            out.append(self._train_one())
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
        """Back to the exact initial weights, optimizer state and data stream; history emptied."""
        self._restore(self._checkpoints[0])
        self._checkpoints = self._checkpoints[:1]
        self.history.truncate(0)
        self._set_state("ready", "")

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
        """The latest in-memory checkpoint at or before ``step`` (step 0 always exists)."""
        return max((c for c in self._checkpoints if c.step <= step), key=lambda c: c.step)

    def checkpoint_steps(self) -> list[int]:
        return [c.step for c in self._checkpoints]

    @property
    def diverged_reason(self) -> str:
        return self.reason if self.state == "diverged" else ""

    # ------------------------------------------------------------------ one step
    @property
    def _max_steps(self) -> int:
        return int(self.config.max_steps)  # 1..100,000 (config.FIELDS): every run ends

    def _train_one(self) -> StepRecord:
        import torch

        cfg = self.config
        s = self.step_count
        every = int(cfg.checkpoint_every or 0)
        if s > 0 and every > 0 and s % every == 0:
            self._add_checkpoint(self._snapshot())
        batch = self.task.sample(int(cfg.batch_size), self._batch_gen)
        record = s % max(1, int(cfg.record_every)) == 0
        self.optimizer.zero_grad(set_to_none=True)
        if record:
            tr, pred = self._traced_backward(batch)
            loss = tr.loss
            probe = self._probe_record()  # with the weights this step's gradient was taken at
        else:
            out, _ = self.model.rnn(batch.x)  # (N, L, D*H)
            pred = self.model.head(out)  # (N, L, O)
            loss_t = self.task.loss(pred, batch)
            loss_t.backward()
            loss = loss_t.item()
        grad_norm = _total_norm(self._params)
        finite = math.isfinite(loss) and math.isfinite(grad_norm)
        with torch.no_grad():
            metric = float(self.task.metric(pred.detach(), batch)) if finite else math.nan
        lr = float(self.optimizer.param_groups[0]["lr"])
        if not finite:
            if not record:  # record the diverged step in full: weights are unchanged, so re-trace
                self.optimizer.zero_grad(set_to_none=True)
                tr, _ = self._traced_backward(batch)
                probe = self._probe_record()
            what = "loss" if not math.isfinite(loss) else "gradient norm"
            value = loss if not math.isfinite(loss) else grad_norm
            rec = self._full_record(s, loss, metric, grad_norm, grad_norm, False, lr, False, tr, probe)
            self._commit(rec)
            self._set_state("diverged", f"{what} became {value} at step {s}")
            self.history.status["diverged_step"] = s
            return rec
        clipped, after = self._clip(grad_norm)
        self.optimizer.step()
        if record:
            rec = self._full_record(s, loss, metric, grad_norm, after, clipped, lr, True, tr, probe)
        else:
            rec = StepRecord(s, loss, metric, grad_norm, after, clipped, lr, True)
        self._commit(rec)
        threshold = float(cfg.pause_grad_norm)  # 0 = off
        if threshold > 0 and grad_norm > threshold >= self._prev_grad_norm:
            self._set_state("paused", f"gradient norm {grad_norm:.3g} rose above the pause threshold "
                                      f"{threshold:g} at step {s}")
        self._prev_grad_norm = grad_norm
        return rec

    def _commit(self, rec: StepRecord) -> None:
        self.history.append(rec)
        self.step_count = rec.step + 1

    def _traced_backward(self, batch):
        """trace(rnn, x, loss_fn): forward + backward with every internal recorded; .grad left set."""
        from rnnviz.trace import trace

        kept = {}

        def loss_fn(output, h_n):
            pred = self.model.head(output)  # (N, L, O)
            kept["pred"] = pred
            return self.task.loss(pred, batch)

        tr = trace(self.model.rnn, batch.x, loss_fn)
        return tr, kept["pred"]

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

    def _probe_record(self) -> dict:
        """Forward-only trace on the probe batch and the W_hh spectra, at the current weights."""
        import torch

        from rnnviz.trace import trace

        with torch.no_grad():
            pr = trace(self.model.rnn, self.probe.x, None)
            pred = self.model.head(torch.from_numpy(pr.output)).numpy()  # (P, L, O)
        sv, eig = analysis.whh_spectra(self.model.rnn)
        unbounded = cells.get(self.cell).nonlinearity == "relu"  # a relu state has no range to fit float16
        hidden_dtype = np.float32 if unbounded else np.float16
        return dict(
            singular_values=sv, eigenvalues=eig,
            hidden=pr.hidden.astype(hidden_dtype),
            cell=None if pr.cell is None else pr.cell.astype(np.float16),
            gates={k: v.astype(np.float16) for k, v in pr.gates.items()},
            prediction=pred.astype(np.float32),  # unbounded regression outputs, and small
        )

    def _full_record(self, s, loss, metric, grad_norm, after, clipped, lr, finite, tr, probe) -> StepRecord:
        gi = tr.grad_input.astype(np.float64)  # (N, L, I)
        cell_norms = tr.grad_cell_norms
        return StepRecord(
            step=s, loss=float(loss), metric=float(metric), grad_norm=float(grad_norm),
            grad_norm_clipped=float(after), clipped=bool(clipped), lr=lr, finite=bool(finite),
            grad_norms=np.asarray(tr.grad_norms, np.float32),
            cell_grad_norms=None if cell_norms is None else np.asarray(cell_norms, np.float32),
            input_grad_norms=np.sqrt(np.einsum("nli,nli->l", gi, gi)).astype(np.float32),
            param_grad_norms={k: np.asarray(v, np.float32) for k, v in tr.param_grad_norms.items()},
            **probe,
        )

    # ------------------------------------------------------------------ state and checkpoints
    def _set_state(self, state: str, reason: str) -> None:
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
        )

    def _restore(self, ck: Checkpoint) -> None:
        self.model.load_state_dict(ck.model)
        self.optimizer.load_state_dict(copy.deepcopy(ck.optimizer))
        self._batch_gen.set_state(ck.batch_rng)
        self._prev_grad_norm = ck.prev_grad_norm
        self.step_count = ck.step
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
