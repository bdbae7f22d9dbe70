"""Text coloured by a number per character (LSTMVis-style): the probe text shaded by a unit or a gate.

HTML out, not a plotly figure: one ``<span>`` per character, its background the value's colour, its
tooltip ``t`` and the value. Every character from the data is escaped (``html.escape``, quotes too), so
text can never become markup; a line break shows as ``↵`` and then breaks the line, spaces are kept
(``white-space: pre-wrap``).

Colours: a diverging blue-white-red scale on ``[-limit, limit]`` (white = 0: h in [-1, 1] for tanh
units), or a sequential white-to-green scale on ``[0, 1]`` for sigmoid gates (0 closed = white).
"""

from __future__ import annotations

import html

import numpy as np

from rnnviz.errors import RnnvizError

_BLUE, _WHITE, _RED = np.array([33, 102, 172]), np.array([255, 255, 255]), np.array([178, 24, 43])
_GREEN = np.array([0, 109, 44])
#: How many characters at most one coloured block shows (a long probe stays a light page).
MAX_COLOURED_CHARS = 4_000


def value_colour(v: float, *, lo: float, hi: float, diverging: bool) -> str:
    """``rgb(r,g,b)`` for ``v`` on the scale: diverging blue (lo) - white (midpoint) - red (hi), or
    sequential white (lo) - green (hi). Values are clipped to the scale; a non-finite value is grey."""
    if not np.isfinite(v):
        return "rgb(170,170,170)"
    a = (min(max(float(v), lo), hi) - lo) / (hi - lo) if hi > lo else 0.5
    if diverging:
        w = 2 * a - 1  # -1 .. 1
        rgb = _WHITE + (w if w > 0 else -w) * ((_RED if w > 0 else _BLUE) - _WHITE)
    else:
        rgb = _WHITE + a * (_GREEN - _WHITE)
    r, g, b = (int(round(c)) for c in rgb)
    return f"rgb({r},{g},{b})"


def _ink(background: str) -> str:
    """Black text on light backgrounds, white on dark ones (relative luminance below 0.4)."""
    r, g, b = (int(c) / 255 for c in background[4:-1].split(","))
    return "#000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 else "#fff"


def coloured_text_html(text: str, values, *, lo: float = -1.0, hi: float = 1.0, diverging: bool = True,
                       label: str = "value", visible: dict[str, str] | None = None) -> str:
    """``text`` (L characters) with character t shaded by ``values[t]`` (L,), as an HTML block.

    ``visible`` maps invisible characters to the glyph shown (default: ``\\n`` -> ``↵`` then a break,
    ``\\t`` -> ``→``). At most ``MAX_COLOURED_CHARS`` characters (the first ones) are shown."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(v) != len(text):
        raise RnnvizError(f"values must have one number per character ({len(text)}), got {len(v)}")
    if not hi > lo:
        raise RnnvizError(f"the colour scale needs lo < hi, got lo={lo!r}, hi={hi!r}")
    shown = {"\n": "↵", "\t": "→"} if visible is None else visible
    label = html.escape(label, quote=True)
    parts = []
    for t, (ch, x) in enumerate(zip(text[:MAX_COLOURED_CHARS], v[:MAX_COLOURED_CHARS], strict=True), start=1):
        bg = value_colour(x, lo=lo, hi=hi, diverging=diverging)
        glyph = html.escape(shown.get(ch, ch), quote=True)
        tip = f"t={t} {html.escape(repr(ch), quote=True)}: {label} = {x:.3f}"
        parts.append(f'<span title="{tip}" style="background:{bg};color:{_ink(bg)}">{glyph}</span>'
                     + ("<br>" if ch == "\n" else ""))
    style = ("font-family:ui-monospace,Menlo,Consolas,monospace;font-size:20px;line-height:1.6;"
             "white-space:pre-wrap;word-break:break-all")
    return f'<div class="rnnviz-coloured-text" style="{style}">{"".join(parts)}</div>'


def colour_key_html(*, lo: float, hi: float, diverging: bool, label: str) -> str:
    """A one-line key for :func:`coloured_text_html`: the two ends (and the middle) of the scale."""
    mid = (lo + hi) / 2
    cells = [(lo, f"{lo:.3g}"), (mid, f"{mid:.3g}"), (hi, f"{hi:.3g}")] if diverging else [(lo, f"{lo:.3g}"),
                                                                                         (hi, f"{hi:.3g}")]
    spans = "".join(f'<span style="background:{value_colour(v, lo=lo, hi=hi, diverging=diverging)};'
                    f'color:{_ink(value_colour(v, lo=lo, hi=hi, diverging=diverging))};padding:0 0.6em;'
                    f'border:1px solid #ccc">{html.escape(text)}</span> ' for v, text in cells)
    return f'<div style="font-size:16px">{html.escape(label)}: {spans}</div>'


def generated_text_html(prompt: str, generated: str, *, prompt_chars: int = 60) -> str:
    """The end of ``prompt`` (grey, at most ``prompt_chars``) followed by the ``generated`` text, escaped;
    line breaks shown as ``↵`` and a break."""

    def esc(s: str) -> str:
        return "".join("↵<br>" if ch == "\n" else html.escape(ch, quote=True) for ch in s)

    style = ("font-family:ui-monospace,Menlo,Consolas,monospace;font-size:20px;line-height:1.5;"
             "white-space:pre-wrap;word-break:break-all")
    return (f'<div class="rnnviz-generated" style="{style}"><span style="color:#888">'
            f"{esc(prompt[-prompt_chars:])}</span><span>{esc(generated)}</span></div>")
