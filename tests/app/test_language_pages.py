"""The language, forecasting and saliency views through AppTest: what each page shows equals the
backend's numbers for the session's own run (issue 12 parts 5-6, issue 14 part 3)."""

from __future__ import annotations

import html
import re

import numpy as np
from conftest import assert_no_exception, figure, open_app, session, trace_named, values

from rnnviz import forecast, language, saliency
from rnnviz.trainer import limit_threads

limit_threads(1)
SMALL = {"seq_len": "20", "hidden_size": "16", "batch_size": "8"}


def small(**extra) -> dict[str, str]:
    return {**SMALL, **{k: str(v) for k, v in extra.items()}}


def html_bodies(at) -> list[str]:
    return [e.proto.body for e in at.get("html")]


def generated(at) -> str:
    body = next(b for b in html_bodies(at) if "rnnviz-generated" in b)
    inner = re.search(r"</span><span>(.*)</span></div>$", body).group(1)
    return html.unescape(inner.replace("↵<br>", "\n"))


def test_playground_writes_text_from_the_current_weights_at_the_chosen_temperature():
    at = open_app(small(task="charlm", cell="lstm"))
    sess = session(at)
    tr = sess.trainer
    prompt = language.probe_texts(tr.task, tr.probe.x[:1].numpy())[0]
    assert generated(at) == language.sample_text(tr.model, tr.task, prompt=prompt, temperature=0.5,
                                                 seed=sess.config.seed)
    at.select_slider(key="lang.temperature").set_value(0.0).run()
    assert_no_exception(at)
    greedy = language.sample_text(tr.model, tr.task, prompt=prompt, temperature=0.0, seed=0)
    assert generated(at) == greedy
    before = language.sample_text(tr.model, tr.task, prompt=prompt, temperature=1.0, seed=sess.config.seed)
    at.select_slider(key="lang.temperature").set_value(1.0).run()
    at.button(key="ctl.step10").click().run()
    assert_no_exception(at)
    tr = session(at).trainer  # the step made the link's shared run this session's own copy (copy-on-write)
    after = language.sample_text(tr.model, tr.task, prompt=prompt, temperature=1.0, seed=sess.config.seed)
    assert generated(at) == after != before  # ten steps of training changed what it writes
    assert any("Written by the weights after training step 10" in c.value for c in at.caption)


def test_hidden_states_find_units_then_colour_the_probe_text_by_the_best_one():
    at = open_app(small(task="charlm", cell="lstm"))
    at.button(key="ctl.step10").click().run()
    at.switch_page("pages/hidden_states.py").run()
    assert_no_exception(at)
    sess = session(at)
    rec = sess.history.record_at(10, full=True)
    texts = language.probe_texts(sess.trainer.task, sess.history.probe["x"])
    at.selectbox(key="lang.class").set_value("space").run()
    want = language.rank_units(rec.hidden[0, 0], language.class_values("space", texts))
    table = at.dataframe[0].value
    assert list(table["unit"]) == list(want.units)
    np.testing.assert_allclose(table["correlation r"], np.round(want.r, 3))
    at.button(key="lang.best").click().run()
    assert_no_exception(at)
    assert at.number_input(key="lang.unit").value == want.units[0]
    body = next(b for b in html_bodies(at) if "rnnviz-coloured-text" in b)
    tips = re.findall(r'title="t=(\d+) [^"]*: h unit (\d+) = (-?[\d.]+)"', body)
    assert len(tips) == len(texts[0]) == 20
    h = rec.hidden[0, 0, 0, :, want.units[0] - 1].astype(float)
    np.testing.assert_allclose([float(v) for *_, v in tips], h, atol=5e-4)
    at.selectbox(key="lang.source").set_value("f").run()  # colour by the forget gate
    body = next(b for b in html_bodies(at) if "rnnviz-coloured-text" in b)
    assert len(re.findall(r": f unit \d+ = ", body)) == 20


def test_hidden_states_of_other_tasks_show_no_text_views():
    at = open_app(small(), page="pages/hidden_states.py")
    assert not at.tabs and not any("rnnviz-coloured-text" in b for b in html_bodies(at))


def test_gradient_flow_saliency_is_the_probe_sequences_own_input_gradient_with_its_marked_share():
    at = open_app(small(task="adding", cell="lstm"), page="pages/gradient_flow.py")
    sess = session(at)
    tr = sess.trainer
    s = saliency.input_saliency(tr.model, tr.task, tr.probe)[0]
    x = sess.history.probe["x"][0]
    marked = saliency.marked_positions("adding", x)
    fig = figure(at, "Saliency")
    bars = trace_named(fig, "the 2 marked numbers")
    np.testing.assert_array_equal(values(bars["x"]), np.flatnonzero(marked) + 1)
    np.testing.assert_allclose(values(bars["y"]), s[marked], rtol=1e-6)
    line = saliency.share_line(s, marked, "the 2 marked numbers")
    assert any(m.value == line for m in at.markdown)
    assert fig["data"][0]["type"] == "heatmap"  # the input strip above, in the task's words
    assert fig["data"][0]["y"] == ["value", "marker"]


def test_gradient_flow_saliency_of_an_older_step_is_the_recorded_batch_norm():
    at = open_app(small(task="copy"), page="pages/gradient_flow.py")
    at.button(key="ctl.step1").click().run()
    at.toggle(key="flow.step.follow").set_value(False).run()
    at.slider(key="flow.step").set_value(0).run()
    assert_no_exception(at)
    fig = figure(at, "Saliency")
    rec = session(at).history.record_at(0)
    np.testing.assert_allclose(values(fig["data"][0]["y"]), rec.input_grad_norms, rtol=1e-6)
    assert any("whole training batch" in c.value for c in at.caption)


def test_playground_forecast_scores_are_the_recorded_prediction_against_the_probe_truth():
    at = open_app(small(task="sine"))
    at.button(key="ctl.step10").click().run()
    assert_no_exception(at)
    hist = session(at).history
    rec = hist.record_at(10, full=True)
    want = forecast.forecast_scores(hist.probe["x"][0], hist.probe["y"][0], rec.prediction[0])
    table = at.dataframe[0].value
    np.testing.assert_allclose(table["MSE on this stretch"], [want.model, want.persistence, want.mean], rtol=1e-9)
    np.testing.assert_allclose(table["variance explained"],
                               [want.variance_explained, 1 - want.persistence / want.mean, 0.0], rtol=1e-9)
    assert any(m.value == forecast.scores_line(want) for m in at.markdown)
    fig = figure(at, "Forecast of u_t")
    np.testing.assert_allclose(values(trace_named(fig, "network's prediction")["y"]), rec.prediction[0, :, 0],
                               rtol=1e-6)
    assert "held out" in fig["layout"]["title"]["text"]


def test_playground_forecast_on_csv_says_the_stretch_is_in_sample():
    at = open_app(small(task="csv"))
    assert figure(at, "Forecast of column 1")
    assert any("not held out" in c.value for c in at.caption)


def test_text_from_the_users_own_data_is_escaped_in_every_text_view():
    from rnnviz.config import ExperimentConfig

    hostile = '<script>alert("x")</script> <img src=x onerror=alert(1)> & :smile: ' * 4
    at = open_app(small(task="charlm"))
    sess = session(at)
    sess.set_config(ExperimentConfig(task="charlm", seq_len=20, hidden_size=16, batch_size=8), data=hostile)
    at.run()
    assert_no_exception(at)
    at.switch_page("pages/hidden_states.py").run()
    at.switch_page("pages/playground.py").run()
    assert_no_exception(at)
    bodies = html_bodies(at)
    at.switch_page("pages/hidden_states.py").run()
    bodies += html_bodies(at)
    assert any("rnnviz-generated" in b for b in bodies) and any("rnnviz-coloured-text" in b for b in bodies)
    for body in bodies:
        assert "<script" not in body and "<img" not in body  # no markup from the data
    texts = [b for b in bodies if "rnnviz-generated" in b or "rnnviz-coloured-text" in b]
    assert any("&lt;" in b for b in texts)  # the data's angle brackets arrive as text
    coloured = next(b for b in texts if "rnnviz-coloured-text" in b)
    glyphs = [html.unescape(g) for g in re.findall(r'">([^<]*)</span>', coloured)]
    assert "".join(glyphs) in hostile  # the probe window, character for character, as text


def test_a_class_absent_from_the_probe_text_says_so_and_the_coloured_text_stays():
    at = open_app(small(task="charlm"), page="pages/hidden_states.py")
    at.selectbox(key="lang.class").set_value("digit").run()  # the shipped notes have no digits
    assert_no_exception(at)
    assert not at.dataframe and "lang.best" not in [b.key for b in at.button]
    assert any("no variation in this class" in c.value for c in at.caption)
    assert any("rnnviz-coloured-text" in b for b in html_bodies(at))
