"""D6: nothing from a run file or a file name is rendered as markup (links, images, HTML, icons, autolinks).

AppTest sees the markdown source: every element that shows text from the file must hold it only with its
markup characters backslash-escaped; the browser test (tests/e2e/test_files_safety.py) checks the DOM."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from conftest import assert_no_exception, open_app, session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from injection_runs import FILE_NAME, HOST, poisoned_runs  # noqa: E402

SHARE = "pages/share.py"


def markup_left(md: str) -> list[str]:
    """Link, image, HTML, icon or autolink syntax left once every backslash-escaped character is removed
    (an autolink or icon is broken by a word joiner U+2060 after ``:``, before ``@``, inside ``www.``)."""
    bare = re.sub(r"\\.", "", md)
    return re.findall(r"\[|\]\(|<[a-zA-Z/]|://|www\.|(?<!\u2060)@|:material", bare)


def texts(at) -> list[str]:
    out = []
    for kind in ("markdown", "error", "warning", "success", "info", "caption"):
        out += [e.value for e in getattr(at, kind)]
        out += [e.value for e in getattr(at.sidebar, kind)]
    return out


def assert_plain(at) -> int:
    shown = [t for t in texts(at) if HOST in t or "evil" in t]
    for t in shown:
        assert markup_left(t) == [], t
    for chart in at.get("plotly_chart"):
        assert HOST not in chart.proto.spec
    return len(shown)


@pytest.mark.parametrize("state", ["diverged", "finished", "paused"])
def test_a_run_files_reason_and_name_are_shown_as_plain_text(state):
    accepted, _ = poisoned_runs(state)
    at = open_app({"seq_len": "12", "hidden_size": "8"}, page=SHARE)
    at.file_uploader(key="upload.run").upload(FILE_NAME, accepted, "application/octet-stream").run()
    assert_no_exception(at)
    assert session(at).loaded is not None and session(at).loaded.state == state
    assert assert_plain(at) >= 1  # the success line names the file
    at.switch_page("pages/playground.py").run()
    assert_no_exception(at)
    assert assert_plain(at) >= 2  # the status banner holds the reason, the sidebar the name


def test_a_run_file_with_markup_in_every_string_field_is_refused_and_the_refusal_is_plain():
    _, refused = poisoned_runs()
    at = open_app({"seq_len": "12", "hidden_size": "8"}, page=SHARE)
    at.file_uploader(key="upload.run").upload(FILE_NAME, refused, "application/octet-stream").run()
    assert_no_exception(at)
    assert session(at).loaded is None
    assert any("Could not open" in e.value for e in at.error)
    assert assert_plain(at) >= 1


def test_markup_in_a_link_parameter_is_plain_too():
    at = open_app({"hidden_size": f"[x](https://{HOST}/p) www.{HOST}", "task": f"<img src=https://{HOST}/i>"})
    assert assert_plain(at) >= 1
    assert json.dumps([t for t in texts(at) if HOST in t])  # shown, escaped
