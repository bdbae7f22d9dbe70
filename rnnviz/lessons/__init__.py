"""The Learn page's content, as data: readings (``texts``), widgets (``widgets``) and guided lessons (``guided``).

Every public name is importable from ``rnnviz.lessons``.
"""

from rnnviz.lessons.guided import FIGURES, GUIDED, Guided, Outcome, grade, guided_by_key
from rnnviz.lessons.texts import LESSONS, Lesson, lesson_by_key
from rnnviz.lessons.widgets import WIDGETS, Control, Widget, widget_figure

__all__ = ["FIGURES", "GUIDED", "LESSONS", "WIDGETS", "Control", "Guided", "Lesson", "Outcome", "Widget", "grade",
           "guided_by_key", "lesson_by_key", "widget_figure"]
