"""The Learn page through AppTest: a guided lesson end to end, challenge links good and bad, the builder."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_no_exception, figure, figures, open_app, session, values

from rnnviz import challenges
from rnnviz.challenges import CHALLENGES
from rnnviz.config import PRESETS
from rnnviz.lessons import GUIDED, guided_by_key
from rnnviz.trainer import limit_threads
from ui import lessons
from ui.text import md_escape

limit_threads(1)
LEARN = "pages/learn.py"


def _pick(at, key: str):
    at.selectbox(key="learn.lesson").select(next(i for i, g in enumerate(GUIDED) if g.key == key)).run()
    assert_no_exception(at)
    return at


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_a_lesson_set_up_predict_run_reveal_explain():
    at = open_app(page=LEARN)
    lesson = guided_by_key("hidden-state")
    _pick(at, lesson.key)
    assert at.button(key="learn.hidden-state.run").disabled  # not set up, nothing predicted
    at.button(key="learn.hidden-state.setup").click().run()
    assert_no_exception(at)
    sess = session(at)
    assert sess.config == lesson.config and sess.current_step == 0
    assert at.button(key="learn.hidden-state.run").disabled  # predict first
    assert any("appears here once you have predicted" in c.value for c in at.caption)
    wrong = 1  # "only at the two marked steps"
    at.radio(key="learn.hidden-state.predict").set_value(wrong).run()
    assert at.session_state["learn.hidden-state.predict"] == wrong  # the prediction is kept in session state
    at.button(key="learn.hidden-state.run").click().run()
    assert_no_exception(at)
    sess = session(at)
    assert sess.current_step == lesson.steps - 1 and len(sess.history.recorded_steps()) == lesson.steps
    outcome = lesson.reveal(sess.history)
    assert outcome.choice == lesson.answer
    warning = at.warning[0].value
    assert "Your prediction: **only at the two marked steps**" in warning and outcome.measured in warning
    assert f"The run shows: **{lesson.choices[lesson.answer]}**" in warning
    assert lesson.explain(sess.history) in _markdown(at)
    heat = figure(at, "Hidden state h_t (training step 0)")  # the step the reveal reads, not the last (9)
    assert heat
    at.radio(key="learn.hidden-state.predict").set_value(lesson.answer).run()
    assert "✓ The run shows: at every step" in at.success[0].value


def test_the_vanishing_lesson_hides_its_figure_until_the_reveal_then_shows_the_step_it_measured():
    """The gradient-flow figure answers the question: none before the prediction; after Run 10 steps it shows
    step 0, the step the reveal names (the newcomer saw step 9, t=1 near 5e-7, beside a reveal about step 0)."""
    at = _pick(open_app(page=LEARN), "vanishing")
    at.button(key="learn.vanishing.setup").click().run()
    assert_no_exception(at)
    titles = [f.get("layout", {}).get("title", {}).get("text", "") for f in figures(at)]
    assert not [t for t in titles if "Gradient flowing back" in t], titles
    assert any(lessons.FIGURE_LATER in c.value for c in at.caption)
    at.radio(key="learn.vanishing.predict").set_value(1).run()
    assert not [f for f in figures(at) if "Gradient flowing back" in f["layout"].get("title", {}).get("text", "")]
    at.button(key="learn.vanishing.run").click().run()
    assert_no_exception(at)
    sess = session(at)
    assert sess.current_step == 9
    assert "At step 0," in at.warning[0].value  # the answer here is "less than a millionth"
    assert any("Measured at training step 0" in c.value for c in at.caption)
    fig = figure(at, "Gradient flowing back through time (training step 0)")
    shown = values(fig["data"][0]["y"]).astype(np.float64)
    np.testing.assert_allclose(shown, sess.history.record_at(0).grad_norms[0, 0], rtol=1e-6)


def test_lesson_picker_says_question_or_questions():
    by_key = {g.key: g for g in GUIDED}
    assert lessons.questions_label(by_key["vanishing"]) == "questions 10, 11"
    assert lessons.questions_label(by_key["architectures"]) == "question 5"
    at = open_app(page=LEARN)
    options = at.selectbox(key="learn.lesson").options
    assert "3. Cell types: RNN, LSTM, GRU  (question 5)" in options and not any("(questions 5)" in o for o in options)


def test_a_preset_lesson_sets_up_its_preset_and_keeps_the_widget():
    at = _pick(open_app(page=LEARN), "vanishing")
    at.slider(key="learn.vanishing.sigma_max").set_value(1.2).run()
    at.slider(key="learn.vanishing.T").set_value(50).run()
    assert_no_exception(at)
    assert figure(at, "after 50 steps")
    at.button(key="learn.vanishing.setup").click().run()
    assert_no_exception(at)
    assert session(at).config == PRESETS["vanishing-tanh"].config
    assert at.sidebar.selectbox(key="cfg.preset").value == "vanishing-tanh"
    assert any("Read more: Why gradients vanish" in e.label for e in at.expander)


def test_a_challenge_link_locks_the_rest_and_is_solved_live():
    ch = CHALLENGES["keep-gradient"]
    at = open_app({"challenge": ch.key}, page=LEARN)
    sess = session(at)
    assert sess.config == ch.config
    from ui.state import FLAGS_KEY

    assert at.session_state[FLAGS_KEY].locked == ch.locked and "rho" not in ch.locked
    assert at.sidebar.selectbox(key="cfg.cell").disabled
    assert "Not solved yet" in at.info[0].value and ch.title in at.info[0].value
    assert at.query_params["challenge"] == ch.key
    assert set(at.query_params["lock"].split(",")) == ch.locked
    at.sidebar.number_input(key="cfg.rho.exact").set_value(1.0).run()  # the knob the student may change
    assert_no_exception(at)
    sess = session(at)
    assert sess.config == ch.config.replace(rho=1.0)
    assert challenges.solved_at(ch, sess.history, sess.trainer.task.baseline_loss) == 0
    assert "Solved at step 0" in at.success[0].value


@pytest.mark.parametrize("query, notice", [
    ({"challenge": "<img src=x>"}, "challenge"),
    ({"challenge_target": "grad_ratio>>1"}, "challenge_target"),
    ({"challenge_target": "grad_ratio>1", "challenge_steps": "lots"}, "challenge_steps"),
])
def test_a_malformed_challenge_link_gives_a_notice_not_a_crash(query, notice):
    at = open_app(query, page=LEARN)
    text = at.warning[0].value
    assert "The link had settings this app cannot use" in text and f"**{md_escape(notice)}**" in text
    assert "<img" not in text.replace("\\<img", "")  # escaped: shown as text, never as HTML
    assert not any("Challenge:" in i.value for i in at.info)


def test_a_custom_challenge_link_with_a_hint_and_locks():
    at = open_app({"challenge_target": "loss_vs_baseline<0.5", "challenge_steps": "30", "seq_len": "20",
                   "hidden_size": "16", "challenge_hint": "**bold** [x](http://e.com)", "lock": "cell"},
                  page=LEARN)
    info = at.info[0].value
    assert "Make loss / baseline (mean of the last 20 steps) go below 0.5 within 30 steps" in info
    assert "Not solved yet" in info
    hints = next(e for e in at.expander if e.label == "Hints")
    assert "\\*\\*bold\\*\\* \\[x\\](http:\u2060//e.com)" in hints.markdown[0].value
    assert at.query_params["challenge_target"] == "loss_vs_baseline<0.5"
    assert at.sidebar.selectbox(key="cfg.cell").disabled


def test_the_builder_gives_a_link_that_opens_the_challenge():
    at = open_app({"seq_len": "20", "hidden_size": "16"}, page=LEARN)
    at.selectbox(key="learn.build.quantity").select("metric").run()
    at.selectbox(key="learn.build.op").select(">").run()
    at.number_input(key="learn.build.value").set_value(0.5).run()
    at.number_input(key="learn.build.steps").set_value(40).run()
    at.multiselect(key="learn.build.lock").select("cell").run()
    assert_no_exception(at)
    link = at.code[-1].value
    assert link.startswith("http://localhost:8501/learn?")
    for part in ("seq_len=20", "hidden_size=16", "challenge_target=metric%3E0.5", "challenge_steps=40", "lock=cell"):
        assert part in link, (part, link)
    from urllib.parse import parse_qsl, urlsplit

    at2 = open_app(dict(parse_qsl(urlsplit(link).query)), page=LEARN)
    assert "Make the task's metric (mean of the last 20 steps) exceed 0.5 within 40 steps" in at2.info[0].value
    assert session(at2).config.seq_len == 20


def test_shipped_challenges_are_listed_as_links():
    at = open_app(page=LEARN)
    text = _markdown(at)
    for ch in CHALLENGES.values():
        assert f"[**{ch.title}**](http://localhost:8501/learn?challenge={ch.key})" in text


def test_random_challenge_links_never_raise_on_the_learn_page():
    import random

    from ui.state import CHALLENGE_KEY, FLAGS_KEY, NOTICES_KEY, SESSION_KEY

    rng = random.Random(12)
    values = ["grad_ratio>1e-3", "metric<", "<script>x</script>", "**b**", "1e309", "-1", "501", "keep-gradient",
              "cell-path", "nope", "", "a" * 300, "mean_update_gate>0.9", "grad_norm<1e-3"]
    at = open_app({"seq_len": "8", "hidden_size": "4"}, page=LEARN)
    for case in range(25):
        query = {"seq_len": "8", "hidden_size": "4",
                 **{k: rng.choice(values) for k in rng.sample(challenges.PARAMS, rng.randint(1, 4))}}
        for key in (SESSION_KEY, CHALLENGE_KEY, FLAGS_KEY, NOTICES_KEY):  # a new visitor: the run reads the URL
            if key in at.session_state:
                del at.session_state[key]
        at.query_params.clear()
        at.query_params.update(query)
        at.run()
        assert not at.exception, (case, query, [e.value for e in at.exception])
        challenge, problems = challenges.from_params(query)
        assert at.session_state[CHALLENGE_KEY] == challenge
        assert all(md_escape(p.split(": ", 1)[0]) in "".join(w.value for w in at.warning) for p in problems)
