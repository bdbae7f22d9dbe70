"""rnnviz.lessons: the Learn page's texts cover the topics, link real presets and draw their widgets."""

import pytest
from plot_checks import assert_common

from rnnviz import config, lessons
from rnnviz.errors import RnnvizError

# Topics the Learn page must answer -> words that must appear in some lesson.
TOPICS = {
    "RNN vs feed-forward": ["feed-forward"],
    "time steps and hidden state": ["time step", "hidden state"],
    "variable-length sequences": ["padding", "mask"],
    "BPTT": ["backpropagation through time"],
    "vanishing gradients": ["vanish", "jacobian", "spectral radius", "1/\\gamma", "pascanu"],
    "exploding gradients": ["explode", "sigmoid"],
    "gradient clipping": ["clip", "\\theta\\,\\frac{g}{\\|g\\|}"],
    "LSTM and gates": ["forget gate", "c_t = f_t \\odot c_{t-1} + i_t \\odot g_t"],
    "GRU": ["update gate", "reset gate", "(1 - z_t) \\odot n_t + z_t \\odot h_{t-1}"],
    "bidirectional": ["bidirectional"],
    "applications": ["language modelling", "forecasting"],
    "limitations": ["sequential", "attention"],
    "evaluation": ["loss", "accuracy", "perplexity", "error vs lag"],
}


def test_every_lesson_is_complete_and_short():
    keys = [lesson.key for lesson in lessons.LESSONS]
    assert len(keys) == len(set(keys)), "lesson keys must be unique"
    for lesson in lessons.LESSONS:
        assert lesson.title.strip() and lesson.body_markdown.strip(), lesson.key
        words = len(lesson.body_markdown.split())
        assert 80 <= words <= 200, f"{lesson.key}: {words} words"
        assert lesson.body_markdown.count("$") % 2 == 0, f"{lesson.key}: unbalanced $ in LaTeX"


def test_lessons_link_only_real_presets_and_widgets():
    for lesson in lessons.LESSONS:
        assert lesson.preset is None or lesson.preset in config.PRESETS, lesson.key
        assert lesson.widget is None or lesson.widget in lessons.WIDGETS, lesson.key
    assert {lesson.widget for lesson in lessons.LESSONS} - {None} == set(lessons.WIDGETS)


@pytest.mark.parametrize("preset", sorted(config.PRESETS))
def test_every_classroom_preset_is_explained_by_a_lesson(preset):
    """Every preset in config.PRESETS (not a copy of its names) has a lesson that opens it."""
    assert [lesson.key for lesson in lessons.LESSONS if lesson.preset == preset], f"no lesson links {preset!r}"


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_topic_is_covered(topic):
    text = " ".join(f"{lesson.title} {lesson.body_markdown}" for lesson in lessons.LESSONS).lower()
    for word in TOPICS[topic]:
        assert word.lower() in text, f"{topic}: no lesson mentions {word!r}"


def test_lesson_by_key():
    assert lessons.lesson_by_key("bptt").title.startswith("Backpropagation")
    with pytest.raises(RnnvizError, match="lesson must be one of"):
        lessons.lesson_by_key("transformers")


@pytest.mark.parametrize("key", sorted(lessons.WIDGETS))
def test_widget_figures_at_defaults_and_extremes(key):
    widget = lessons.WIDGETS[key]
    for control in widget.controls:
        assert control.min <= control.default <= control.max
        assert len({type(v) for v in (control.min, control.max, control.default, control.step)}) == 1
    assert_common(lessons.widget_figure(key), key)
    for end in ("min", "max"):
        fig = lessons.widget_figure(key, **{c.name: getattr(c, end) for c in widget.controls})
        fig.to_json()


def test_widget_figure_rejects_unknown_names():
    with pytest.raises(RnnvizError, match="widget must be one of"):
        lessons.widget_figure("attention")
    with pytest.raises(RnnvizError, match="unknown"):
        lessons.widget_figure("clipping", theta=1.0)
