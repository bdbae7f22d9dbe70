"""rnnviz.lessons.guided: every guided lesson's reveal rule on built data, and every stated answer re-measured.

The answer a lesson says WILL happen is checked here over seeds 0-4 within the steps the lesson plays:
its config is trained for ``lesson.steps`` steps and ``lesson.reveal`` must pick ``lesson.answer``.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from rnnviz import lessons
from rnnviz.config import PRESETS, ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.lessons import guided
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
SEEDS = range(5)


def _run(config: ExperimentConfig, steps: int):
    t = Trainer(config)
    t.step(steps)
    return t.history


@pytest.fixture(scope="module")
def runs():
    """(lesson key, seed) -> the history of the lesson's config after its steps (each trained once)."""
    cache = {}

    def get(lesson, seed):
        key = (lesson.key, seed)
        if key not in cache:
            cache[key] = _run(lesson.config.replace(seed=seed), lesson.steps)
        return cache[key]
    return get


def test_the_table_is_complete():
    keys = [g.key for g in guided.GUIDED]
    assert len(keys) == len(set(keys))
    texts = {lesson.key for lesson in lessons.LESSONS}
    for g in guided.GUIDED:
        assert g.title and g.predict.endswith("?"), g.key
        assert 2 <= len(g.choices) <= 4 and 0 <= g.answer < len(g.choices), g.key
        assert 1 <= g.steps <= guided.MAX_LESSON_STEPS, g.key
        assert g.figure in guided.FIGURES, g.key
        assert g.widget is None or g.widget in lessons.WIDGETS, g.key
        assert g.reading and set(g.reading) <= texts, g.key
        assert g.preset is None or g.preset in PRESETS, g.key
        assert g.config.max_steps >= g.steps, g.key
        assert set(g.questions) <= set(range(1, 21)), g.key
    assert {q for g in guided.GUIDED for q in g.questions} == set(range(1, 21))
    assert {r for g in guided.GUIDED for r in g.reading} == texts, "every reading is reachable from a lesson"
    assert {g.widget for g in guided.GUIDED} - {None} == set(lessons.WIDGETS)


def test_guided_by_key():
    assert guided.guided_by_key("vanishing").preset == "vanishing-tanh"
    with pytest.raises(RnnvizError, match=r"lesson must be one of \['hidden-state'"):
        guided.guided_by_key("attention")


@pytest.mark.parametrize("key", [g.key for g in guided.GUIDED])
def test_the_stated_answer_happens_for_seeds_0_to_4(key, runs):
    lesson = guided.guided_by_key(key)
    for seed in SEEDS:
        hist = runs(lesson, seed)
        assert int(hist.steps[-1]) == lesson.steps - 1 or hist.status["state"] == "diverged", (key, seed)
        outcome = lesson.reveal(hist)
        assert outcome.choice == lesson.answer, (key, seed, outcome.measured)
        assert outcome.measured.strip()
        text = lesson.explain(hist)
        assert 30 <= len(text.split()) <= 140, (key, len(text.split()))
        assert text.count("$") % 2 == 0, key
        _, right = guided.grade(lesson, hist, lesson.answer)
        assert right is True
        _, wrong = guided.grade(lesson, hist, (lesson.answer + 1) % len(lesson.choices))
        assert wrong is False


def test_bidirectional_backward_gradient_is_zero_before_the_last_step(runs):
    lesson = guided.guided_by_key("bidirectional")
    for seed in SEEDS:
        g = runs(lesson, seed).record_at(0).grad_norms
        assert np.all(g[0, 1, :-1] == 0) and g[0, 1, -1] > 0 and np.all(g[0, 0] > 0)


# ------------------------------------------------------------------------------- reveal rules on built data
def _hist(**kw):
    """A stand-in history with exactly the fields a rule reads."""
    return SimpleNamespace(**kw)


def _rec(**kw):
    base = dict(grad_norms=None, cell_grad_norms=None, hidden=None, gates={})
    return SimpleNamespace(**{**base, **kw})


def _one(rec):
    return lambda step, full=False: rec


def test_ratio_bands():
    g = np.ones((1, 1, 5))
    for first, choice in ((0.5, 0), (0.1, 0), (1e-3, 1), (1e-6, 1), (1e-9, 2)):
        g[0, 0, 0] = first
        out = guided.reveal_step0_ratio(_hist(record_at=_one(_rec(grad_norms=g.copy()))))
        assert out.choice == choice, first
    g[0, 0, 0] = math.nan
    assert guided.reveal_step0_ratio(_hist(record_at=_one(_rec(grad_norms=g)))).choice is None
    zero = np.zeros((1, 1, 5))
    assert guided.reveal_step0_ratio(_hist(record_at=_one(_rec(grad_norms=zero)))).choice is None  # 0/0


def test_units_change_counts_steps():
    h = np.zeros((1, 1, 1, 6, 3), np.float16)
    assert guided.reveal_units_change(_hist(record_at=_one(_rec(hidden=h)))).choice == 2  # never
    h[0, 0, 0, 3, 1] = 0.5  # changes at t=4 and back at t=5
    out = guided.reveal_units_change(_hist(record_at=_one(_rec(hidden=h))))
    assert out.choice == 1 and "2 of the 5" in out.measured
    h[0, 0, 0, :, 0] = np.arange(6) / 10
    assert guided.reveal_units_change(_hist(record_at=_one(_rec(hidden=h)))).choice == 0


def test_mask_rule():
    mask = np.zeros((2, 4), bool)
    mask[:, -1] = True
    assert guided.reveal_mask(_hist(probe={"mask": mask})).choice == 1
    assert guided.reveal_mask(_hist(probe={"mask": np.ones((2, 4), bool)})).choice == 0
    mask[:, 1] = True
    assert guided.reveal_mask(_hist(probe={"mask": mask})).choice == 2


def test_negative_gates_rule():
    pos, neg = np.full((1, 1, 1, 2, 2), 0.5), np.full((1, 1, 1, 2, 2), -0.5)
    rule = guided.reveal_negative_gates
    assert rule(_hist(record_at=_one(_rec(gates={"i": pos, "f": pos, "g": neg, "o": pos})))).choice == 1
    assert rule(_hist(record_at=_one(_rec(gates={"i": neg, "f": neg, "g": neg, "o": neg})))).choice == 0
    assert rule(_hist(record_at=_one(_rec(gates={"i": pos, "f": pos, "g": pos, "o": pos})))).choice == 2
    assert rule(_hist(record_at=_one(_rec(gates={})))).choice is None


def test_backward_gradient_rule():
    g = np.ones((1, 2, 4))
    g[0, 1, :3] = 0
    assert guided.reveal_backward_gradient(_hist(record_at=_one(_rec(grad_norms=g)))).choice == 0
    g[0, 1, 0] = 0.5
    assert guided.reveal_backward_gradient(_hist(record_at=_one(_rec(grad_norms=g)))).choice == 1
    g[0, 1, 0] = 2
    assert guided.reveal_backward_gradient(_hist(record_at=_one(_rec(grad_norms=g)))).choice == 2
    assert guided.reveal_backward_gradient(_hist(record_at=_one(_rec(grad_norms=np.ones((1, 1, 4)))))).choice is None


def test_divergence_rule():
    config = ExperimentConfig(clip="norm", clip_threshold=1.0)
    s = {"step": np.arange(3), "grad_norm": np.array([5.0, 50.0, 3.0]), "grad_norm_clipped": np.array([1.0, 1.0, 1.0]),
         "loss": np.array([1.0, 0.5, 0.2])}
    hist = _hist(scalars=s, status={"state": "paused"}, config=config)
    assert guided.reveal_divergence(hist).choice == 2
    hist = _hist(scalars=s, status={"state": "diverged", "diverged_step": 2}, config=config)
    out = guided.reveal_divergence(hist)
    assert out.choice == 1 and "step 2" in out.measured
    hist = _hist(scalars={**s, "grad_norm_clipped": s["grad_norm"]}, status={"state": "paused"},
                 config=ExperimentConfig())
    assert guided.reveal_divergence(hist).choice == 0


def test_baseline_rule_reads_the_last_20_steps():
    config = ExperimentConfig(task="adding")  # baseline MSE 1/6
    for loss, choice in ((0.01, 0), (1 / 6, 1), (1.0, 2)):
        s = {"step": np.arange(40), "loss": np.r_[np.full(20, 99.0), np.full(20, loss)]}
        assert guided.reveal_beats_baseline(_hist(scalars=s, config=config)).choice == choice


def test_param_counts_are_the_formula_and_match_torch():
    hist = _run(ExperimentConfig(task="adding", seq_len=100, hidden_size=32, batch_size=8), 1)
    rnn, ff = guided.param_counts(hist)
    t = Trainer(hist.config)
    assert rnn == sum(p.numel() for p in t.model.parameters())
    assert ff == 100 * 2 * 32 + 32 + 32 + 1


def test_bits_per_char_baselines():
    hist = _run(guided.guided_by_key("language").config, 1)
    task = guided._task(hist.config)
    assert guided.uniform_bits(hist) == pytest.approx(math.log2(len(task.vocab)))
    counts = np.bincount(task.ids.numpy())
    p = counts[counts > 0] / counts.sum()
    assert guided.unigram_bits(hist) == pytest.approx(float(-(p * np.log2(p)).sum()))
    assert 0 < guided.unigram_bits(hist) < guided.uniform_bits(hist)


def test_num_formats_measured_numbers():
    assert [guided.num(x) for x in (2.6789e-12, 0.0801234, 3.0, math.inf, math.nan)] == \
        ["2.68e-12", "0.0801", "3", "inf", "nan"]


class _StepSpy:
    """A history that records which training steps a reveal rule reads (record_at)."""

    def __init__(self, history):
        self._history, self.read = history, set()

    def record_at(self, step, full=False):
        self.read.add(int(step))
        return self._history.record_at(step, full=full)

    def __getattr__(self, name):
        return getattr(self._history, name)


@pytest.mark.parametrize("lesson", [g for g in guided.GUIDED if g.figure in guided.STEP_FIGURES], ids=lambda g: g.key)
def test_a_one_step_figure_shows_the_step_the_reveal_reads(lesson):
    """Lessons with a one-step figure: the reveal (and explanation) read only ``figure_step``, the step the Learn
    page draws, even when the run has later steps (the newcomer saw step 9 beside a reveal about step 0)."""
    assert lesson.figure_step == guided.REVEAL_STEP == 0
    spy = _StepSpy(_run(lesson.config, 3))
    lesson.reveal(spy)
    lesson.explain(spy)
    assert spy.read <= {lesson.figure_step}, spy.read
    measured = lesson.reveal(spy).measured
    assert f"step {lesson.figure_step}" in measured or lesson.reveal in (
        guided.reveal_param_counts, guided.reveal_recurrent_blocks, guided.reveal_mask), measured

