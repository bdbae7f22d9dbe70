"""docs/QUESTIONS.md: all 20 learner questions map to a guided lesson with a live element (issue 12)."""

import re
from pathlib import Path

from rnnviz.lessons import FIGURES, GUIDED, WIDGETS

DOC = Path(__file__).resolve().parents[1] / "docs" / "QUESTIONS.md"
ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|\s*`([a-z0-9-]+)`\s*\|\s*(.+?)\s*\|$")


def _rows():
    return [ROW.match(line).groups() for line in DOC.read_text(encoding="utf-8").splitlines() if ROW.match(line)]


#: The questions as issue 12 lists them.
QUESTIONS = ["basic structure", "RNN vs feed-forward", "advantages", "sequential data", "architectures", "time steps",
             "hidden state", "variable length", "training challenges", "long-term dependencies", "vanishing gradient",
             "GRU vs RNN", 'the "forget gate" in a GRU', "how the LSTM fixes vanishing", "LSTM components",
             "bidirectional", "NLP applications", "forecasting", "limitations", "evaluation"]


def test_the_table_covers_all_20_questions_once():
    assert [(int(n), q) for n, q, _, _ in _rows()] == list(enumerate(QUESTIONS, 1))


def test_every_question_has_a_lesson_with_a_live_element():
    lessons = {g.key: g for g in GUIDED}
    for number, _question, key, live in _rows():
        assert key in lessons, (number, key)
        lesson = lessons[key]
        assert int(number) in lesson.questions, (number, key)
        parts = dict(p.strip().split(" ", 1) for p in live.split(";"))
        assert set(parts) <= {"run", "figure", "widget"} and parts, (number, live)  # not text alone
        setup = f"preset `{lesson.preset}`" if lesson.preset else "its own config"
        assert parts["run"] == f"of {setup}, {lesson.steps} steps", (number, live)
        assert lesson.steps >= 1
        assert parts["figure"] == f"`{lesson.figure}`" and lesson.figure in FIGURES, (number, live)
        if lesson.widget:
            assert parts["widget"] == f"`{lesson.widget}`" and lesson.widget in WIDGETS, (number, live)
        else:
            assert "widget" not in parts, (number, live)


def test_every_lesson_answers_a_question_in_the_table():
    keys = {key for _, _, key, _ in _rows()}
    assert {g.key for g in GUIDED} - keys <= {"clipping", "irnn"}  # extra lessons on questions 9 and 11
    assert {q for g in GUIDED for q in g.questions} == set(range(1, 21))
