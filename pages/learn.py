"""Learn: guided lessons (set up, predict, run, reveal, explain) and challenge links."""

from rnnviz.lessons import GUIDED
from ui import lessons, live, widgets
from ui.frame import ensure_frame

ensure_frame()  # before anything is drawn: app.py must frame this page (see ui/frame.py)

widgets.header("Learn", f"{len(GUIDED)} short lessons answer 20 questions about RNNs. Each sets up a run, asks "
                        "you to predict, plays it, and reveals what the run's own numbers show.")
lesson = lessons.pick()


def render(sess) -> None:
    lessons.challenge_status(sess)
    lessons.lesson_view(lesson, sess)


live.live(render, show_status=False)
lessons.extras(lesson)
lessons.challenge_list()
lessons.challenge_builder()
