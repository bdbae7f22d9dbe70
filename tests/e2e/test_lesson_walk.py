"""Learn in a real browser: one guided lesson through set up, predict, run and reveal; one challenge solved
from its link (issue 12). Screenshots of the lesson at 1280x720 and 1920x1080 go to tests/e2e/artifacts."""

from __future__ import annotations

import pytest
from conftest import wait_for_app
from test_flows import no_exception, pick, settle

from rnnviz.challenges import CHALLENGES
from rnnviz.lessons import guided_by_key


def _lesson_walk(page, url: str) -> None:
    lesson = guided_by_key("hidden-state")
    page.goto(f"{url}/learn")
    wait_for_app(page)
    page.get_by_role("heading", name="Learn").wait_for()
    page.get_by_role("button", name="Set up this lesson").click()
    settle(page)
    page.get_by_text("✓ The live run uses the lesson's settings.").wait_for()
    run = page.get_by_role("button", name=f"Run {lesson.steps} steps")
    assert run.is_disabled()  # predict first
    page.get_by_text(lesson.choices[lesson.answer], exact=True).click()
    settle(page)
    run.click()
    reveal = page.get_by_text(f"✓ The run shows: {lesson.choices[lesson.answer]}.").first
    reveal.wait_for(timeout=90_000)
    assert "Your prediction:" in page.locator("[data-testid=stAlert]").filter(has_text="Your prediction:").inner_text()
    page.get_by_role("button", name="Run again from step 0").first.wait_for()
    page.locator("[data-testid=stPlotlyChart]").first.wait_for()
    no_exception(page)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def test_a_lesson_walks_predict_run_reveal(server_url, browser, artifacts_dir, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _lesson_walk(page, server_url)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts_dir / f"learn-lesson-{size[0]}x{size[1]}.png"))
        for text in ("② Predict.", "④ Reveal."):  # above the fold: the prediction and the reveal
            box = page.get_by_text(text).first.bounding_box()
            assert box is not None and box["y"] + box["height"] <= size[1], (text, box)
        box = page.locator("[data-testid=stAlert]").filter(has_text="Your prediction:").bounding_box()
        assert box["y"] < size[1], box
    finally:
        context.close()


def test_a_challenge_link_is_solved_in_the_app(server_url, page, artifacts_dir):
    ch = CHALLENGES["open-forget-gates"]
    page.goto(f"{server_url}/learn?challenge={ch.key}")
    wait_for_app(page)
    page.get_by_text("Not solved yet").wait_for()
    sidebar = page.locator("[data-testid=stSidebar]")
    assert sidebar.get_by_role("combobox", name="Cell").is_disabled()
    pick(page, "Forget-gate bias", "chrono")
    page.get_by_text("Solved at step 0").wait_for(timeout=90_000)
    assert f"challenge={ch.key}" in page.url
    no_exception(page)
    page.screenshot(path=str(artifacts_dir / "learn-challenge-solved.png"))
