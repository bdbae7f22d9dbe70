"""The shipped server settings (.streamlit/config.toml) a class relies on."""

import tomllib
from pathlib import Path

from rnnviz import uploads

CONFIG = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())


def test_users_see_a_short_message_and_the_traceback_stays_in_the_server_log():
    """D7: no traceback with server paths reaches the page (Streamlit's "none": a generic message only)."""
    assert CONFIG["client"]["showErrorDetails"] == "none"


def test_the_upload_cap_is_the_one_the_app_states():
    assert CONFIG["server"]["maxUploadSize"] == uploads.MAX_UPLOAD_MB
