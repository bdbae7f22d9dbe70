"""What ``rnnviz.trace`` and the Trainer return, unpacked for the figure builders (the notebook use).

A builder's first argument may be a :class:`rnnviz.trace.Trace` or a :class:`rnnviz.recording.RunHistory`
instead of arrays, so a notebook writes ``plots.gradient_flow(tr)`` or ``plots.loss_curve(trainer.history)``:

A Trace (layer 1, forward direction, sequence 1 where a builder draws one):

- ``gradient_flow(tr)``: ``tr.grad_norms``, every layer and direction;
- ``cell_vs_hidden_flow(tr)`` (LSTM): ``tr.grad_norms[0, 0]`` and ``tr.grad_cell_norms[0, 0]``;
- ``param_grad_bars(tr)``: ``{block: norms[0, 0]}`` of ``tr.param_grad_norms``;
- ``hidden_heatmap(tr)``: ``tr.hidden[0, 0, 0]``;
- ``gate_heatmaps(tr)`` (LSTM, GRU): ``{g: tr.gates[g][0, 0, 0]}`` and ``tr.cell_type``.

A RunHistory (layer 1, forward direction):

- ``loss_curve(h)``: every step's loss and metric, the divergence step (the chance line: ``baseline=``);
- ``grad_norm_curve(h)``: ||g|| before and after clipping, the clipped steps, θ when it clipped by norm;
- ``gradient_flow_heatmap(h)``: ``h.recorded_steps()`` and ``h.grad_norm_matrix()``.

Another layer, direction or sequence is the array itself, e.g. ``plots.hidden_heatmap(tr.hidden[1, 0, 3])``.
The other builders take arrays that one line makes (docs/NOTEBOOK.md lists them).

Both types are recognised by their fields, not imported: :mod:`rnnviz.trace` imports torch, and this package
never does.
"""

from __future__ import annotations

from rnnviz import cells
from rnnviz.errors import RnnvizError

_TRACE_FIELDS = ("cell_type", "hidden", "gates", "grad_norms", "grad_cell_norms", "param_grad_norms")
_HISTORY_FIELDS = ("scalars", "recorded_steps", "grad_norm_matrix", "status")


def is_trace(value) -> bool:
    """A ``rnnviz.trace.Trace`` (or anything with its fields)."""
    return all(hasattr(value, f) for f in _TRACE_FIELDS)


def is_history(value) -> bool:
    """A ``rnnviz.recording.RunHistory`` (or anything with its fields)."""
    return all(hasattr(value, f) for f in _HISTORY_FIELDS)


def _label(tr) -> str:
    row = cells.CELLS.get(tr.cell_type)
    return row.label if row else str(tr.cell_type)


def _gradients(tr, builder: str):
    if tr.grad_norms is None:
        raise RnnvizError(f"{builder} needs a trace with gradients (trace(module, x, loss_fn) with a loss_fn), "
                          f"got one recorded with loss_fn=None")
    return tr.grad_norms


def grad_norms(value, builder: str = "gradient_flow"):
    """``Trace.grad_norms`` (Lyr, D, L) of a trace, else ``value`` itself."""
    return _gradients(value, builder) if is_trace(value) else value


def cell_paths(value, grad_cell_norms):
    """(||dL/dh_t||, ||dL/dc_t||) of layer 1, forward, for an LSTM trace; else the arguments as given."""
    if not is_trace(value):
        return value, grad_cell_norms
    g = _gradients(value, "cell_vs_hidden_flow")
    if value.grad_cell_norms is None:
        raise RnnvizError(f"cell_vs_hidden_flow needs an LSTM trace (the cell state c_t), got a "
                          f"{_label(value)} trace")
    return g[0, 0], value.grad_cell_norms[0, 0]


def param_norms(value):
    """``{block: ||dL/dW_block||}`` of layer 1, forward, for a trace; else ``value`` itself."""
    if not is_trace(value):
        return value
    _gradients(value, "param_grad_bars")
    return {name: norms[0, 0] for name, norms in value.param_grad_norms.items()}


def hidden(value):
    """h_t (L, H) of layer 1, forward, sequence 1 of a trace; else ``value`` itself."""
    return value.hidden[0, 0, 0] if is_trace(value) else value


def gates(value, cell: str | None):
    """(``{gate: (L, H)}`` of layer 1, forward, sequence 1, cell type) of a trace; else the arguments."""
    if not is_trace(value):
        if cell is None:
            raise RnnvizError("gate_heatmaps needs the cell type (cell='lstm' or 'gru') with a dict of gates, "
                              "got cell=None")
        return value, cell
    if not value.gates:
        raise RnnvizError(f"gate_heatmaps needs a gated cell (LSTM or GRU), got a {_label(value)} trace")
    return {name: g[0, 0, 0] for name, g in value.gates.items()}, value.cell_type


def loss_args(value, loss, metric, diverged_step):
    """(steps, loss, metric, diverged_step) of a history (the loss and metric of every step); else the
    arguments as given."""
    if not is_history(value):
        _given(loss, "loss_curve", "steps, loss")
        return value, loss, metric, diverged_step
    s = value.scalars
    step = value.status.get("diverged_step") if diverged_step is None else diverged_step
    return s["step"], s["loss"], s["metric"] if metric is None else metric, step


def grad_norm_args(value, norm_before, norm_after, clipped_mask, threshold):
    """(steps, ||g|| before and after clipping, clipped steps, the norm threshold θ) of a history; else the
    arguments as given. θ is drawn only when the run clipped by norm (its config says so)."""
    if not is_history(value):
        _given(norm_before, "grad_norm_curve", "steps, norm_before")
        return value, norm_before, norm_after, clipped_mask, threshold
    s, config = value.scalars, value.config
    if threshold is None and config is not None and config.clip == "norm":
        threshold = config.clip_threshold
    clipping = config is None or config.clip != "none"
    return (s["step"], s["grad_norm"], s["grad_norm_clipped"] if clipping else None,
            s["clipped"] if clipping else None, threshold)


def heatmap_args(value, grad_norms):
    """(recorded steps (S,), ||dL/dh_t|| (S, L) of layer 1, forward) of a history; else the arguments."""
    if not is_history(value):
        _given(grad_norms, "gradient_flow_heatmap", "steps, grad_norms")
        return value, grad_norms
    return value.recorded_steps(), value.grad_norm_matrix()


def _given(second, builder: str, pair: str) -> None:
    if second is None:
        raise RnnvizError(f"{builder} needs ({pair}) or a RunHistory, got one array and no {pair.split(', ')[1]}")
