"""The key flows in a real browser (Debian's Chromium driven by Playwright), as a person meets them.

Each test opens its own browser context, hence its own Streamlit session, on the shared server.
Configs are kept small (T=30, H=16) so the 2-core CI machine trains them at a live pace.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import step_counter, strip_button, wait_for_app, wait_until

from rnnviz import io
from rnnviz.config import PRESETS, ExperimentConfig

SMALL = "seq_len=30&hidden_size=16&batch_size=8"
PAGE_LINKS = ("Playground", "Hidden states", "Gates", "Gradient flow", "Compare cells", "Learn", "Share & data")


# ----------------------------------------------------------------------------------------- helpers
def open_app(page, url: str, query: str = "", path: str = "") -> None:
    page.goto(f"{url}/{path}{'?' + query if query else ''}")
    wait_for_app(page)
    page.wait_for_selector("[data-testid=stMetric], [data-testid=stFileUploader], h1")


def settle(page) -> None:
    """Wait for the script run a click started to finish (the attribute flips to running and back)."""
    page.wait_for_timeout(300)
    wait_for_app(page)




def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0, page.locator(
        "[data-testid=stException]").first.inner_text()


def chart_points(page, title: str) -> int:
    """Points in the first trace of the Plotly chart whose title contains ``title`` (read from the DOM)."""
    return page.evaluate(
        """(title) => {
            for (const el of document.querySelectorAll('.js-plotly-plot')) {
                const t = el.layout && el.layout.title && el.layout.title.text;
                if (t && t.includes(title)) return el._fullData[0].x.length;  // decoded (data may hold base64)
            }
            return -1;
        }""",
        title,
    )


def pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the selectbox ``label`` the way a person does: open it, click the option."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


# ------------------------------------------------------------------------------------------- flows
def test_each_preset_loads_its_story_and_link(server_url, page):
    open_app(page, server_url)
    for name, preset in PRESETS.items():
        pick(page, "Preset", preset.title)
        main = page.locator("[data-testid=stMain]")
        main.get_by_text(preset.title + ".").first.wait_for()
        assert re.search(rf"[?&]preset={re.escape(name)}(&|$)", page.url), page.url
        assert step_counter(page) == 0
        no_exception(page)


def test_play_moves_the_counter_and_the_loss_curve_then_pause_step_and_reset(server_url, page, artifacts_dir):
    open_app(page, server_url, f"preset=vanishing-tanh&{SMALL}")
    assert step_counter(page) == 0
    strip_button(page, "Play").click()
    first = wait_until(lambda: step_counter(page) >= 3 and step_counter(page))
    points = wait_until(lambda: chart_points(page, "Training loss") > 3 and chart_points(page, "Training loss"))
    wait_until(lambda: step_counter(page) > first + 3)
    wait_until(lambda: chart_points(page, "Training loss") > points)  # the curve grows as it trains
    page.screenshot(path=str(artifacts_dir / "playing.png"))
    strip_button(page, "Pause").click()
    strip_button(page, "Play").wait_for()  # the run the click started has drawn the strip
    wait_for_app(page)  # ... and the page; no settling wait: the counter shown now is final
    paused = step_counter(page)
    page.wait_for_timeout(1500)
    assert step_counter(page) == paused, f"paused at {paused}, then {step_counter(page)}: a tick raced the pause"
    strip_button(page, "Step").first.click()
    try:
        wait_until(lambda: step_counter(page) == paused + 1, timeout=10)
    except AssertionError:
        page.screenshot(path=str(artifacts_dir / "step-failed.png"))
        raise AssertionError(f"at {paused}, after Step: {step_counter(page)}") from None
    strip_button(page, "Reset").click()
    wait_until(lambda: step_counter(page) == 0)
    wait_for_app(page)  # the counter is drawn first; the charts later in the same script run
    assert chart_points(page, "Training loss") == 1
    no_exception(page)


def test_reset_one_second_into_play_ten_times_never_crashes_and_shows_step_zero(server_url, page):
    open_app(page, server_url, "preset=lstm-remembers")
    for k in range(10):
        strip_button(page, "Play").click()
        strip_button(page, "Pause").wait_for()
        page.wait_for_timeout(1000)
        strip_button(page, "Reset").click()
        page.mouse.move(700, 5)  # off the button: its tooltip would cover Play
        strip_button(page, "Play").wait_for()
        wait_for_app(page)
        no_exception(page)
        assert step_counter(page) == 0, f"round {k}: step {step_counter(page)} after Reset"


def test_every_page_shows_its_charts_without_exception(server_url, page, artifacts_dir):
    open_app(page, server_url, f"cell=lstm&{SMALL}")
    strip_button(page, "×10").click()
    wait_until(lambda: step_counter(page) == 10)
    for title in PAGE_LINKS:
        page.locator("[data-testid=stSidebarNav] a", has_text=title).click()
        page.get_by_role("heading", name=re.compile(re.escape(title.split(" ")[0]))).first.wait_for()
        settle(page)
        if title == "Learn":  # a lesson's figure waits for its reveal (tests/e2e/test_lesson_walk.py walks one)
            page.get_by_text("Your prediction").first.wait_for(state="attached")  # its label is collapsed
        elif title != "Share & data":
            page.wait_for_selector("[data-testid=stPlotlyChart]", state="attached")
            assert page.locator("[data-testid=stPlotlyChart]").count() >= 1, title
        no_exception(page)
        page.screenshot(path=str(artifacts_dir / f"page-{title.lower().replace(' ', '-').replace('&', 'and')}.png"))


def test_a_share_link_opens_the_same_config(server_url, page):
    open_app(page, server_url, "cell=gru&seq_len=30&hidden_size=16&seed=5&init=orthogonal")
    sidebar = page.locator("[data-testid=stSidebar]")
    assert sidebar.get_by_role("combobox", name="Cell").input_value() == "GRU"
    assert sidebar.get_by_role("combobox", name="Initialisation of W_hh").input_value() == "orthogonal"
    page.locator("[data-testid=stSidebarNav] a", has_text="Share & data").click()
    code = page.locator("[data-testid=stCode]").first
    code.wait_for()
    link = code.inner_text()
    for part in ("cell=gru", "seq_len=30", "hidden_size=16", "seed=5", "init=orthogonal"):
        assert part in link, link
    no_exception(page)


def test_an_invalid_link_parameter_is_named_and_the_app_runs(server_url, page):
    open_app(page, server_url, "rho=abc&hidden_size=9999&bogus=1")
    main = page.locator("[data-testid=stMain]")
    main.get_by_text("rho", exact=False).first.wait_for()
    text = main.inner_text()
    assert "rho" in text and "hidden_size" in text and "bogus" in text
    assert step_counter(page) == 0  # the defaults run
    no_exception(page)


def test_download_a_run_and_load_it_back(server_url, page, tmp_path):
    open_app(page, server_url, f"cell=lstm&{SMALL}")
    strip_button(page, "×10").click()
    wait_until(lambda: step_counter(page) == 10)
    page.locator("[data-testid=stSidebarNav] a", has_text="Share & data").click()
    button = page.get_by_role("button", name=re.compile("the run"))
    button.wait_for()
    with page.expect_download() as download:
        button.click()
    path = tmp_path / "run.npz"
    download.value.save_as(path)
    run = io.load_run(path)
    assert run.config == ExperimentConfig(cell="lstm", seq_len=30, hidden_size=16, batch_size=8)
    assert list(run.steps) == list(range(11))
    # and load it back: the app browses the saved run
    uploader = page.locator("[data-testid=stFileUploader]").filter(has_text="Run file")
    uploader.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("Browsing", exact=False).first.wait_for()
    settle(page)
    page.locator("[data-testid=stSidebarNav] a", has_text="Playground").click()
    wait_until(lambda: step_counter(page) == 10)  # the loaded run, exactly as recorded
    wait_until(lambda: chart_points(page, "Training loss") == 11)  # plotly draws after the metrics
    assert np.isfinite(run.scalars["loss"]).all()
    no_exception(page)


def test_a_bad_csv_upload_says_what_is_wrong(server_url, page):
    open_app(page, server_url, path="share")
    uploader = page.locator("[data-testid=stFileUploader]").filter(has_text="CSV file")
    uploader.locator("input[type=file]").set_input_files(
        {"name": "prices.csv", "mimeType": "text/csv", "buffer": b"date,price\nmon,abc\ntue,def\n"})
    error = page.locator("[data-testid=stAlert]").filter(has_text=re.compile("No column|Could not use"))
    error.first.wait_for()
    assert "numbers only" in error.first.inner_text() or "prices.csv" in error.first.inner_text()
    assert page.get_by_role("button", name="Train on these columns").count() == 0 or \
        page.get_by_role("button", name="Train on these columns").is_disabled()
    no_exception(page)


@pytest.mark.parametrize("query", ["cell=rnn_relu&init=scaled&rho=3&seq_len=100&clip=none&optimizer=sgd&lr=0.1"])
def test_a_diverging_run_shows_the_banner(server_url, page, query):
    open_app(page, server_url, query)
    page.get_by_text("The run diverged").wait_for()
    assert strip_button(page, "Play").is_disabled()
    no_exception(page)
