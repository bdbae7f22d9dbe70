"""Training curves: loss, global gradient norm, and the loss of several runs side by side."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from rnnviz.plots.style import (
    _AXIS,
    _PALETTE,
    _curve,
    _hline_trace,
    _line,
    _line_mode,
    _log_y,
    _same_length,
    _span,
    _styled,
    cell_colour,
)


def loss_curve(
    steps,
    loss,
    metric=None,
    metric_name: str | None = None,
    baseline: float | None = None,
    diverged_step: int | None = None,
    loss_name: str = "loss",
) -> go.Figure:
    """Loss per training step, with the task's chance baseline (dashed) and divergence marker.

    ``metric`` (S,) is drawn dotted on a right-hand axis named ``metric_name``. The baseline
    is the loss of the best input-blind predictor (e.g. 1/6 MSE for the adding problem):
    a model below it has learned something from the sequence.
    """
    steps = np.asarray(steps)
    _same_length(steps=steps, loss=loss, metric=metric)
    y, bad = _curve(loss, "loss")
    fig = go.Figure()
    fig.add_trace(_line(steps, y, loss_name, _PALETTE[0], f"step %{{x}}<br>{loss_name} = %{{y:.4g}}<extra></extra>",
                        mode=_line_mode(steps)))
    title = "Training loss"
    if metric is not None:
        metric_name = metric_name or "metric"
        m, bad_m = _curve(metric, "metric")
        bad |= bad_m
        fig.add_trace(_line(steps, m, metric_name, _PALETTE[1],
                            f"step %{{x}}<br>{metric_name} = %{{y:.4g}}<extra></extra>", width=2, dash="dot",
                            yaxis="y2"))
        fig.update_layout(
            yaxis2=dict(_AXIS, title_text=metric_name, overlaying="y", side="right", showgrid=False,
                        tickmode="auto", nticks=6)
        )
        title += f" and {metric_name.split(' (')[0]}"  # the axis carries the full definition
    _chance_baseline(fig, baseline, steps)
    if diverged_step is not None:
        _mark_divergence(fig, steps, y, int(diverged_step))
    _styled(fig, "loss_curve", title, "training step", loss_name, not_finite=bad)
    return fig


def _chance_baseline(fig: go.Figure, baseline: float | None, *steps: np.ndarray) -> None:
    """The task's chance baseline as a dashed line across every step drawn (nothing when None)."""
    if baseline is not None:
        x0, x1 = _span(*steps)
        _hline_trace(fig, x0, x1, float(baseline), f"chance baseline ({baseline:.3g})")


def _mark_divergence(fig: go.Figure, steps: np.ndarray, y: np.ndarray, step: int) -> None:
    """Red x at the last finite loss up to ``step`` (or at the axis bottom if none) + a vertical line."""
    upto = np.isfinite(y) & (steps <= step)
    y_mark = float(y[upto][-1]) if upto.any() else 0.0
    name = f"diverged at step {step}"
    fig.add_trace(
        go.Scatter(
            x=[step],
            y=[y_mark],
            mode="markers",
            name=name,
            marker=dict(symbol="x", size=18, color="#B00020", line=dict(width=2)),
            hovertemplate=f"{name}<extra></extra>",
        )
    )
    fig.add_vline(x=step, line=dict(color="#B00020", dash="dot", width=2))


def grad_norm_curve(
    steps, norm_before, norm_after=None, clipped_mask=None, threshold: float | None = None
) -> go.Figure:
    """Global gradient norm ||g|| per training step (log y), before and after clipping.

    Clipping rescales g <- theta g/||g|| whenever ||g|| > theta; clipped steps are marked
    with an x on the "before" curve and the threshold theta is a dashed line.
    """
    steps = np.asarray(steps)
    _same_length(steps=steps, norm_before=norm_before, norm_after=norm_after, clipped_mask=clipped_mask)
    before, bad = _curve(norm_before, "norm_before", log=True)
    fig = go.Figure()
    fig.add_trace(_line(steps, before, "||g|| before clipping", _PALETTE[0],
                        "step %{x}<br>||g|| = %{y:.3g}<extra>before clipping</extra>", mode=_line_mode(steps)))
    if norm_after is not None:
        after, bad_after = _curve(norm_after, "norm_after", log=True)
        bad |= bad_after
        fig.add_trace(_line(steps, after, "||g|| after clipping", _PALETTE[2],
                            "step %{x}<br>||g|| = %{y:.3g}<extra>after clipping</extra>", width=2, dash="dash"))
    if clipped_mask is not None:
        mask = np.asarray(clipped_mask, dtype=bool)
        fig.add_trace(
            go.Scatter(
                x=steps[mask],
                y=before[mask],
                mode="markers",
                name=f"clipped ({int(mask.sum())} steps)",
                marker=dict(symbol="x", size=10, color=_PALETTE[1]),
                hovertemplate="step %{x}: clipped<br>||g|| = %{y:.3g}<extra></extra>",
            )
        )
    if threshold is not None:
        x0, x1 = _span(steps)
        _hline_trace(fig, x0, x1, float(threshold), f"clip threshold θ = {threshold:.3g}", colour=_PALETTE[1])
    _styled(fig, "grad_norm_curve", "Gradient norm per training step", "training step",
            "gradient norm ||g|| (log scale)", not_finite=bad)
    _log_y(fig)
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
    _styled(fig, "compare_loss", "Training loss: same task, same seed, same batches", "training step", "loss",
            not_finite=bad)
    return fig
