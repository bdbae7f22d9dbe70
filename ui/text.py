"""Text helpers for the UI modules (no streamlit import, no imports of other ui modules)."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>~$])")  # inline markup; user text never starts a line


def md_escape(text: str, limit: int = 240) -> str:
    """User-controlled text (URL parameters, file names) shown as plain text inside markdown."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))
