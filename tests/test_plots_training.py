"""rnnviz.plots.training: loss, gradient norm per step and compared losses carry the real numbers."""

import numpy as np
import pytest
from plot_checks import INF, NAN, assert_common, has_note, trace_named

from rnnviz import plots
from rnnviz.errors import RnnvizError

# ---------------------------------------------------------------- training curves


def test_loss_curve_data_baseline_and_metric():
    steps, loss = np.array([0, 10, 20]), np.array([0.5, 0.25, 0.125], dtype=np.float32)
    fig = plots.loss_curve(steps, loss, metric=[0.1, 0.5, 0.9], metric_name="accuracy", baseline=1 / 6)
    assert_common(fig, "loss_curve", None, "loss (log scale)")
    assert fig.layout.xaxis2.title.text == "training step"  # under the accuracy panel, the shared step axis
    np.testing.assert_array_equal(fig.data[0].x, steps)
    np.testing.assert_array_equal(fig.data[0].y, loss)
    assert fig.layout.yaxis.type == "log"
    lo, hi = fig.layout.yaxis.range
    shown = [t for v, t in zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True)
             if lo <= np.log10(v) <= hi]
    assert shown == ["0.1", "0.2", "0.5"]  # within one decade: 1-2-5 labels, not a lone label
    metric = trace_named(fig, "accuracy")  # its own small panel below the loss, not a second axis on it
    assert metric.yaxis == "y2" and fig.layout.yaxis2.title.text == "accuracy"
    assert fig.layout.yaxis2.overlaying is None and fig.layout.yaxis2.domain[1] < fig.layout.yaxis.domain[0]
    assert list(fig.layout.yaxis2.range) == [0, 1.05]
    np.testing.assert_array_equal(metric.y, [0.1, 0.5, 0.9])
    base = trace_named(fig, "chance baseline (0.167)")
    assert base.line.dash == "dash"
    assert list(base.x) == [0, 20] and list(base.y) == [1 / 6, 1 / 6]
    assert list(fig.data).index(base) > 0  # drawn after (on top of) the loss curve
    label = next(a for a in fig.layout.annotations if a.name == "baseline-label")
    assert label.text == "chance<br>0.167" and label.y == pytest.approx(np.log10(1 / 6))
    assert (label.xref, label.x, label.xanchor) == ("paper", 1.0, "left")  # beside the plot, not over the data
    assert "accuracy" in fig.layout.title.text
    assert not has_note(fig)


def test_loss_curve_divergence_marker_and_non_finite():
    fig = plots.loss_curve([1, 2, 3, 4], [1.0, 2.0, INF, NAN], diverged_step=3)
    assert_common(fig, "loss_curve")
    y = fig.data[0].y
    assert y[1] == 2.0 and np.isnan(y[2]) and np.isnan(y[3])
    marker = trace_named(fig, "diverged at step 3")
    assert list(marker.x) == [3] and list(marker.y) == [2.0]  # at the last finite loss
    assert any(s.x0 == 3 for s in fig.layout.shapes)
    assert has_note(fig)


def test_loss_curve_all_non_finite_and_empty_do_not_crash():
    assert_common(plots.loss_curve([1, 2], [NAN, INF], baseline=0.5, diverged_step=1), "loss_curve")
    assert_common(plots.loss_curve([], [], baseline=0.5), "loss_curve")


def test_loss_curve_rejects_mismatched_lengths():
    with pytest.raises(RnnvizError, match="same length"):
        plots.loss_curve([1, 2, 3], [1.0, 2.0])


def test_grad_norm_curve_log_axis_clipped_marks_threshold():
    steps = np.arange(4)
    before = np.array([0.5, 4.0, 2.0, 0.25])
    after = np.minimum(before, 1.0)
    fig = plots.grad_norm_curve(steps, before, after, clipped_mask=before > 1.0, threshold=1.0)
    assert_common(fig, "grad_norm_curve", "training step", "||g|| (log scale)")
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_array_equal(fig.data[0].y, before)
    np.testing.assert_array_equal(trace_named(fig, "||g|| after clipping").y, after)
    clipped = trace_named(fig, "clipped (2 steps)")
    np.testing.assert_array_equal(clipped.x, [1, 2])
    np.testing.assert_array_equal(clipped.y, [4.0, 2.0])
    assert list(trace_named(fig, "clip threshold θ = 1").y) == [1.0, 1.0]


def test_grad_norm_curve_says_one_clipped_step_in_the_singular():
    fig = plots.grad_norm_curve([0, 1, 2], [0.5, 4.0, 0.25], [0.5, 1.0, 0.25], clipped_mask=[False, True, False],
                                threshold=1.0)
    assert [t.name for t in fig.data if t.name.startswith("clipped")] == ["clipped (1 step)"]


def test_grad_norm_curve_masks_inf_and_zero():
    fig = plots.grad_norm_curve([1, 2, 3], [1.0, INF, 0.0])
    y = fig.data[0].y
    assert y[0] == 1.0 and np.isnan(y[1]) and np.isnan(y[2])  # 0 cannot sit on a log axis
    assert has_note(fig)
    fig.to_json()


def test_compare_loss_colours_by_cell_and_baseline_spans_all_runs():
    fig = plots.compare_loss(
        {"RNN": ([0, 1], [0.2, 0.2]), "LSTM": ([0, 1, 2], [0.2, 0.1, 0.05])}, baseline=1 / 6
    )
    assert_common(fig, "compare_loss", "training step", "loss (log scale)")
    assert fig.layout.yaxis.type == "log"
    assert trace_named(fig, "RNN").line.color == plots.CELL_COLOURS["rnn_tanh"]
    lstm = trace_named(fig, "LSTM")
    assert lstm.line.color == plots.CELL_COLOURS["lstm"]
    np.testing.assert_array_equal(lstm.y, [0.2, 0.1, 0.05])
    assert list(trace_named(fig, "chance baseline (0.167)").x) == [0, 2]
    assert has_note(plots.compare_loss({"GRU": ([0, 1], [1.0, NAN])}))


def test_loss_and_accuracy_axis_titles_do_not_meet():
    """At 1280 in the presentation view the two stacked axis titles read "accuracyloss": the small panel's
    title is smaller and the panel a little taller, so each title fits beside its own panel."""
    from rnnviz.plots.training import METRIC_TITLE_SIZE

    fig = plots.loss_curve(np.arange(3), [1.0, 0.5, 0.2], metric=[0.1, 0.5, 0.9], metric_name="accuracy")
    assert fig.layout.yaxis2.title.font.size == METRIC_TITLE_SIZE < 18
    plot_px = 430 - fig.layout.margin.t - 150  # presentation height, minus title and x title + legend rows
    loss_mid = sum(fig.layout.yaxis.domain) / 2 * plot_px
    metric_mid = sum(fig.layout.yaxis2.domain) / 2 * plot_px
    half_loss = len("loss (log scale)") * 18 * 0.55 / 2  # px of half a title at ~0.55 em per character
    half_metric = len("accuracy") * METRIC_TITLE_SIZE * 0.55 / 2
    assert loss_mid - metric_mid > half_loss + half_metric
