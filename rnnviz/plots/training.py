"""Training curves: loss, global gradient norm, and the loss of several runs side by side."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.plots import unpack
from rnnviz.plots.style import (
    _PALETTE,
    _curve,
    _hline_trace,
    _line,
    _line_mode,
    _log_y,
    _same_length,
    _span,
    _step_axis,
    _styled,
    cell_colour,
    run_style,
)

#: Overlaid runs (rnnviz.branches.Runs.overlay): legend label -> (slot, steps (n,), values (n,)).
RunCurves = Mapping[str, tuple[int, np.ndarray, np.ndarray]]

#: px; the axis title of the small metric panel under the loss (shorter than the panel at 430 px).
METRIC_TITLE_SIZE = 14


def _other_runs(fig: go.Figure, others: RunCurves | None, quantity: str, **kwargs) -> list[np.ndarray]:
    """The other runs' curves in their own colour and dash (width 2, under the shown run's curve);
    returns their step arrays (for the axis span)."""
    spans = []
    for label, (slot, steps, values) in (others or {}).items():
        steps = np.asarray(steps)
        _same_length(steps=steps, values=values)
        y, _ = _curve(values, f"{quantity} of {label}", log=True)
        colour, dash = run_style(slot)
        hover = f"{label}<br>step %{{x}}<br>{quantity} = %{{y:.4g}}<extra></extra>"
        fig.add_trace(_line(steps, y, label, colour, hover, width=2, dash=dash, mode=_line_mode(steps)), **kwargs)
        spans.append(steps)
    return spans


def _metric_panel(fig: go.Figure, steps, metric, metric_name: str):
    """The task metric in the loss figure's small second panel; returns its short name and its not-finite mask."""
    short = metric_name.split(" (")[0]  # the panel's axis carries the full definition
    m, bad = _curve(metric, "metric")
    fig.add_trace(_line(steps, m, metric_name, _PALETTE[1],
                        f"step %{{x}}<br>{metric_name} = %{{y:.4g}}<extra></extra>", width=2,
                        mode=_line_mode(steps)), row=2, col=1)
    finite = m[np.isfinite(m)]
    if finite.size and finite.min() >= 0 and finite.max() <= 1:
        fig.update_yaxes(range=[0, 1.05], row=2, col=1)
    # a smaller title on the small panel: at 430 px "loss (log scale)" and "accuracy" met ("accuracyloss")
    fig.update_yaxes(title=dict(text=short, font_size=METRIC_TITLE_SIZE), row=2, col=1, nticks=3)
    fig.update_xaxes(title_text="training step", row=2, col=1)
    return short, bad


def loss_curve(
    steps,
    loss=None,
    metric=None,
    metric_name: str | None = None,
    baseline: float | None = None,
    diverged_step: int | None = None,
    loss_name: str = "loss",
    *,
    others: RunCurves | None = None,
    run_label: str | None = None,
    slot: int = 0,
) -> go.Figure:
    """Loss per training step on a log y axis, with the task's chance baseline and divergence marker.

    A log axis keeps the learning visible next to a single spike (irnn: one loss of 7e6 next to
    losses of 0.01..0.2; a linear axis would flatten everything but the spike). The baseline (the
    loss of the best input-blind predictor, e.g. 1/6 MSE for the adding problem) is drawn on top of
    the curve and labelled on the line: a model below it has learned something from the sequence.
    ``metric`` (S,) goes to its own small panel below, named ``metric_name``, sharing the step axis.
    ``others``: the loss of other runs (branches, rnnviz/branches.py) overlaid in their own colour and
    dash; the shown run is then named ``run_label`` and drawn in the style of its ``slot``.
    ``steps`` may be a ``RunHistory`` alone (every step's loss and metric, its divergence step); pass
    ``baseline=trainer.task.baseline_loss`` for the chance line.
    """
    steps, loss, metric, diverged_step = unpack.loss_args(steps, loss, metric, diverged_step)
    steps = np.asarray(steps)
    _same_length(steps=steps, loss=loss, metric=metric)
    y, bad = _curve(loss, "loss", log=True)
    _, bad = _curve(loss, "loss")  # a non-positive loss is a gap on the log axis, not "diverged"
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.66, 0.34], vertical_spacing=0.08) \
        if metric is not None else go.Figure()
    spans = _other_runs(fig, others, loss_name, **({"row": 1, "col": 1} if metric is not None else {}))
    colour, dash = run_style(slot) if others else (_PALETTE[0], "solid")
    name = f"{loss_name}: {run_label}" if others and run_label else loss_name
    fig.add_trace(_line(steps, y, name, colour, f"{name}<br>step %{{x}}<br>{loss_name} = %{{y:.4g}}<extra></extra>",
                        mode=_line_mode(steps), dash=dash))
    title = "Training loss"
    if diverged_step is not None:
        _mark_divergence(fig, steps, y, int(diverged_step))
    _chance_baseline(fig, baseline, steps, *spans)  # after the loss: drawn on top of it
    if metric is not None:
        short, bad_m = _metric_panel(fig, steps, metric, metric_name or "metric")
        bad |= bad_m
        title += f" (top) and {short} (below)"
    _styled(fig, "loss_curve", title, None if metric is not None else "training step",
            f"{loss_name} (log scale)", height=480, not_finite=bad)
    _log_y(fig)
    _label_baseline(fig, baseline, steps)
    _step_axis(fig, steps, *spans)
    return fig


def _label_baseline(fig: go.Figure, baseline: float | None, *steps: np.ndarray) -> None:
    """The baseline's words at its height, just right of the plot area (on the log loss axis): level
    with the line and never over the newest losses, which sit at the right end of the curve."""
    if baseline is not None and baseline > 0:
        fig.add_annotation(x=1.0, y=math.log10(baseline), xref="paper", yref="y", text=f"chance<br>{baseline:.3g}",
                           showarrow=False, xanchor="left", yanchor="middle", align="left",
                           font=dict(color="#222222", size=16), name="baseline-label")
        fig.update_layout(margin=dict(r=80))


def _chance_baseline(fig: go.Figure, baseline: float | None, *steps: np.ndarray) -> None:
    """The task's chance baseline as a dark dashed line across every step drawn (nothing when None)."""
    if baseline is not None:
        x0, x1 = _span(*steps)
        _hline_trace(fig, x0, x1, float(baseline), f"chance baseline ({baseline:.3g})", colour="#222222")


def _mark_divergence(fig: go.Figure, steps: np.ndarray, y: np.ndarray, step: int) -> None:
    """Red x at the last finite loss up to ``step`` (else the last finite loss at all) + a vertical line;
    with no finite loss at all, the line and its words at the top of the chart."""
    upto = np.isfinite(y) & (steps <= step)
    finite = upto if upto.any() else np.isfinite(y)
    name = f"diverged at step {step}"
    if finite.any():
        fig.add_trace(
            go.Scatter(
                x=[step],
                y=[float(y[finite][-1])],
                mode="markers",
                name=name,
                marker=dict(symbol="x", size=18, color="#B00020", line=dict(width=2)),
                hovertemplate=f"{name}<extra></extra>",
            )
        )
    else:
        fig.add_annotation(x=step, y=1, xref="x", yref="paper", text=f"{name} (no finite loss)", showarrow=False,
                           xanchor="left", yanchor="top", font=dict(color="#B00020"), name="diverged-label")
    fig.add_vline(x=step, line=dict(color="#B00020", dash="dot", width=2))


def grad_norm_curve(
    steps, norm_before=None, norm_after=None, clipped_mask=None, threshold: float | None = None, *,
    others: RunCurves | None = None, run_label: str | None = None, slot: int = 0,
) -> go.Figure:
    """Global gradient norm ||g|| per training step (log y), before and after clipping.

    Clipping rescales g <- theta g/||g|| whenever ||g|| > theta; clipped steps are marked
    with an x on the "before" curve and the threshold theta is a dashed line. ``others``: other runs'
    ||g|| before clipping, overlaid in their own colour and dash (the shown run is ``run_label``, in
    the style of its ``slot``). ``steps`` may be a
    ``RunHistory`` alone (its config gives theta when it clipped by norm).
    """
    steps, norm_before, norm_after, clipped_mask, threshold = unpack.grad_norm_args(
        steps, norm_before, norm_after, clipped_mask, threshold)
    steps = np.asarray(steps)
    _same_length(steps=steps, norm_before=norm_before, norm_after=norm_after, clipped_mask=clipped_mask)
    before, bad = _curve(norm_before, "norm_before", log=True)
    fig = go.Figure()
    spans = _other_runs(fig, others, "||g|| before clipping")
    colour, dash = run_style(slot) if others else (_PALETTE[0], "solid")
    name = f"||g|| before clipping: {run_label}" if others and run_label else "||g|| before clipping"
    shown = _line(steps, before, name, colour, f"{name}<br>step %{{x}}<br>||g|| = %{{y:.3g}}<extra></extra>",
                  mode=_line_mode(steps), dash=dash)
    fig.add_trace(shown)
    if norm_after is not None:
        after, bad_after = _curve(norm_after, "norm_after", log=True)
        bad |= bad_after
        fig.add_trace(_line(steps, after, "||g|| after clipping", _PALETTE[2],
                            "step %{x}<br>||g|| = %{y:.3g}<extra>after clipping</extra>", width=2, dash="dash"))
        if others:  # where nothing is clipped "after" equals "before": the shown run's own colour goes on top
            fig.data = (*fig.data[:-2], fig.data[-1], fig.data[-2])
    if clipped_mask is not None:
        mask = np.asarray(clipped_mask, dtype=bool)
        n_clipped = int(mask.sum())
        fig.add_trace(
            go.Scatter(
                x=steps[mask],
                y=before[mask],
                mode="markers",
                name=f"clipped ({n_clipped} step{'' if n_clipped == 1 else 's'})",
                marker=dict(symbol="x", size=10, color=_PALETTE[1]),
                hovertemplate="step %{x}: clipped<br>||g|| = %{y:.3g}<extra></extra>",
            )
        )
    if threshold is not None:
        x0, x1 = _span(steps, *spans)
        _hline_trace(fig, x0, x1, float(threshold), f"clip threshold θ = {threshold:.3g}", colour=_PALETTE[1])
    _styled(fig, "grad_norm_curve", "Gradient norm per training step", "training step",
            "||g|| (log scale)", not_finite=bad)
    _log_y(fig)
    _step_axis(fig, steps, *spans)
    return fig


def compare_loss(curves: Mapping[str, tuple], baseline: float | None = None) -> go.Figure:
    """Loss per training step for several runs (label -> (steps, loss)), coloured by cell type."""
    fig = go.Figure()
    bad = False
    all_steps = []
    for index, (label, (steps, loss)) in enumerate(curves.items()):
        steps = np.asarray(steps)
        _same_length(steps=steps, loss=loss)
        y, bad_y = _curve(loss, f"loss of {label}")
        bad |= bad_y
        all_steps.append(steps)
        fig.add_trace(_line(steps, y, label, cell_colour(label, index),
                            f"{label}<br>step %{{x}}<br>loss = %{{y:.4g}}<extra></extra>", mode=_line_mode(steps)))
    _chance_baseline(fig, baseline, *all_steps)
    _styled(fig, "compare_loss", "Training loss: same task, seed and batches", "training step",
            "loss (log scale)", not_finite=bad)
    _log_y(fig)
    _label_baseline(fig, baseline, *all_steps)
    _step_axis(fig, *all_steps)
    return fig
