"""Rewind and branch in a real browser at 1280x720 and 1920x1080: train 40 steps, open "Branch from here",
lower the lr, branch, train the branch; the loss, gradient-norm and gradient-flow charts then draw both runs
with a legend naming them. Screenshots: tests/e2e/artifacts/branch-overlay-<width>.png and
branch-flow-<width>.png."""

import pytest

from tests.e2e.conftest import step_counter, wait_for_app

SETTINGS = "seq_len=20&hidden_size=16&batch_size=8&checkpoint_every=10&lr=0.01&clip=none"


def _settle(page, ms: int = 1200) -> None:
    page.wait_for_timeout(ms)
    wait_for_app(page)


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_a_branch_is_drawn_over_the_original(browser, server_url, artifacts_dir, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server_url}/?{SETTINGS}")
        wait_for_app(page)
        for _ in range(4):
            page.get_by_role("button", name="×10").click()
            _settle(page)
        assert step_counter(page) == 40
        page.get_by_role("button", name="Branch from here").first.click()
        lr = page.locator("[data-testid=stPopoverBody] input[aria-label='Learning rate']")
        assert lr.input_value() == "0.01"  # the popover starts at the shown run's knobs
        lr.fill("0.001")
        lr.press("Enter")
        _settle(page)
        page.locator("[data-testid=stPopoverBody]").get_by_role("button", name="Branch from here").click()
        _settle(page, 2000)
        page.keyboard.press("Escape")
        assert step_counter(page) == 39  # the branch continues from the checkpoint at step 40
        for _ in range(3):
            page.get_by_role("button", name="×10").click()
            _settle(page)
        assert step_counter(page) == 69
        page.mouse.move(5, 5)
        charts = page.locator(".js-plotly-plot")
        charts.first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(800)
        page.screenshot(path=str(artifacts_dir / f"branch-overlay-{width}.png"))
        charts.nth(2).evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(800)
        page.screenshot(path=str(artifacts_dir / f"branch-flow-{width}.png"))
        legends = page.locator(".legendtext").all_text_contents()
        for name in ("original", "loss: branch 1 (from step 40)", "||g|| before clipping: branch 1 (from step 40)",
                     "original, step 40", "branch 1 (from step 40)"):
            assert name in legends, legends
        assert page.locator(".st-key-control-strip").get_by_role("button", name="Delete").is_visible()
    finally:
        context.close()
