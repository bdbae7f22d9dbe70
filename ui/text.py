"""Text helpers for the UI modules (no streamlit import, no imports of other ui modules)."""

from __future__ import annotations

import re

# Inline markup (user text never starts a line): emphasis, code, links and images ``[ ] !``, HTML ``< > &``,
# tables, strikethrough, LaTeX ``$``. Backslashes are not enough for what Streamlit's renderer finds after
# parsing, in the text itself: GFM autolinks (``https://``, ``www.``, ``a@b.c``) and ``:material/x:`` icons.
# An invisible WORD JOINER (U+2060) after each ``:``, before each ``@`` and inside ``www.`` breaks them.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>~$!&])")
_JOIN = "\u2060"
_AUTOLINK = re.compile(r"(:)|(@)|(www)(\.)", re.IGNORECASE)


def md_escape(text: str, limit: int = 240) -> str:
    """User-controlled text (URL parameters, file names, text from run files) shown as plain text inside
    markdown: no link, image, HTML, icon or autolinked URL can come out of it, only the same characters
    (plus invisible word joiners that break ``https://``, ``www.``, ``@`` and ``:icon:`` patterns)."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _MD_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))
    return _AUTOLINK.sub(lambda m: m.group(1) + _JOIN if m.group(1) else _JOIN + m.group(2) if m.group(2)
                         else m.group(3) + _JOIN + m.group(4), text)
