"""The lecture view through AppTest (issue 11): the figure contracts on a run with a 1e7 loss spike, a
diverged run and a step-0 run; the presentation view's strip; links that survive every action."""

from __future__ import annotations

import math

import numpy as np
from conftest import assert_no_exception, figure, figures, open_app, session, trace_named, values

from rnnviz.trainer import limit_threads
from ui.server import figure_cache

SMALL = {"seq_len": "20", "hidden_size": "16", "batch_size": "8"}
#: Diverges at step 2 after two finite losses (1.9, then 3.1e15): relu RNN, rho 1.5, SGD lr 0.5, no clipping.
DIVERGING = {"cell": "rnn_relu", "init": "scaled", "rho": "1.5", "seq_len": "50", "clip": "none",
             "optimizer": "sgd", "lr": "0.5", "hidden_size": "16", "batch_size": "8"}
limit_threads(1)


def click(at, key: str):
    at.button(key=key).click().run()
    assert_no_exception(at)
    return at


def shown_ticks(axis: dict) -> list[str]:
    lo, hi = axis["range"]
    return [t for v, t in zip(axis["tickvals"], axis["ticktext"], strict=True) if lo <= math.log10(v) <= hi]


def test_step_zero_charts_have_sensible_axes():
    at = open_app(SMALL)
    loss = figure(at, "Training loss")
    assert loss["layout"]["xaxis"]["range"] == [-0.5, 10]  # not -1..1 around the lone point
    assert loss["layout"]["yaxis"]["type"] == "log" and len(shown_ticks(loss["layout"]["yaxis"])) >= 2
    assert figure(at, "Gradient norm")["layout"]["xaxis"]["range"] == [-0.5, 10]


def test_a_1e7_loss_spike_does_not_hide_the_learning():
    at = open_app(SMALL)
    click(at, "ctl.step10")
    click(at, "ctl.step10")
    sess = session(at)
    loss = sess.history.scalars["loss"]  # a view: the spike goes into the recorded history itself
    learning = loss.copy()
    loss[7] = 1e7
    figure_cache().clear()  # the history changed in place at the same step: the cached charts are stale
    at.run()
    fig = figure(at, "Training loss")
    yaxis = fig["layout"]["yaxis"]
    assert yaxis["type"] == "log"
    lo, hi = yaxis["range"]
    others = np.delete(learning, 7)
    assert lo <= math.log10(others.min()) and hi >= 7  # the spike and every other loss are on the chart
    assert (math.log10(others.max()) - lo) / (hi - lo) > 0.1  # the learning is not squashed to a line
    assert 2 <= len(shown_ticks(yaxis)) <= 8
    np.testing.assert_allclose(values(fig["data"][0]["y"])[7], 1e7)
    names = [t.get("name") for t in fig["data"]]
    assert names.index("chance baseline (0.167)") > names.index("loss")  # on top of the curve
    label = next(a for a in fig["layout"]["annotations"] if a.get("name") == "baseline-label")
    assert label["text"] == "chance<br>0.167" and label["y"] == np.log10(1 / 6)
    accuracy = trace_named(fig, "accuracy")
    assert accuracy["yaxis"] == "y2" and "overlaying" not in fig["layout"]["yaxis2"]  # its own panel


def test_a_diverged_run_marks_the_last_finite_loss():
    at = open_app(DIVERGING)
    sess = session(at)
    for _ in range(20):
        if sess.trainer.state == "diverged":
            break
        click(at, "ctl.step10")
    assert sess.trainer.state == "diverged"
    fig = figure(at, "Training loss")
    step = int(sess.history.status["diverged_step"])
    marker = trace_named(fig, f"diverged at step {step}")
    loss = sess.history.scalars["loss"]
    finite = loss[np.isfinite(loss) & (sess.history.steps <= step)]
    assert step >= 1 and len(finite) >= 1
    assert values(marker["y"])[0] == finite[-1] and values(marker["y"])[0] > 0  # not at loss 0
    assert any(a.get("text") == "diverged: values not finite" for a in fig["layout"]["annotations"])
    assert at.metric[1].value == "–"  # no rate on a stopped run


def test_presentation_view_one_strip_no_sidebar_short_charts_and_the_link():
    at = open_app({**SMALL, "view": "present"})
    assert not at.sidebar.selectbox and not at.sidebar.button  # the strip holds the controls
    keys = {w.key for w in (*at.button, *at.selectbox, *at.toggle)}
    assert {"ctl.play", "ctl.step1", "ctl.step10", "ctl.reset", "cfg.preset", "cfg.cell", "ui.present"} <= keys
    assert not at.title and not at.metric  # the key chart comes first; the status is one line
    assert all(f["layout"]["height"] <= 430 for f in figures(at))
    assert at.query_params["view"] == "present"
    at.toggle(key="ui.present").set_value(False).run()
    assert "view" not in at.query_params and at.sidebar.selectbox  # the normal view: sidebar back
    at.selectbox(key="cfg.preset").select("irnn").run()
    assert at.query_params["preset"] == "irnn"
    click(at, "ctl.step10")
    click(at, "ctl.reset")
    assert at.query_params["preset"] == "irnn"  # reset keeps the full link


def test_compare_has_one_play_the_strip_and_it_plays_compare():
    at = open_app(SMALL)
    at.switch_page("pages/compare.py").run()
    assert_no_exception(at)
    plays = [b for b in at.button if b.key and b.key.endswith(".play")]
    assert [b.key for b in plays] == ["cmp.play"]  # no second Play (the live run's is not drawn here)
    click(at, "cmp.step1")
    from ui.state import COMPARE_KEY

    assert {c: t.step_count for c, t in at.session_state[COMPARE_KEY].trainers.items()} == {
        "rnn_tanh": 2, "lstm": 2, "gru": 2}


def test_fine_knobs_get_an_exact_number_box_and_sequence_length_common_stops():
    at = open_app(SMALL)
    seq = at.select_slider(key="cfg.seq_len")
    assert list(seq.options) == ["10", "20", "50", "100", "200", "500", "1000"]
    at.number_input(key="cfg.seq_len.exact").set_value(37).run()
    assert session(at).config.seq_len == 37 and at.query_params["seq_len"] == "37"
    assert "37" in at.select_slider(key="cfg.seq_len").options  # the running value is a stop too
