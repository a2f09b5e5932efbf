"""Names from input files, made safe to show: no control or bidi-override characters, and
a length that fits a table cell, a plot label or a window title.

Scenario, policy and variant names are user text. A right-to-left override (U+202E) in a
name would reverse the rest of a terminal line or HTML title, and a 5,000-character name
would swamp a table; :func:`display_name` neutralises both. HTML bodies isolate names
with ``<bdi>`` as well (see :mod:`simulator.report.html`).
"""

from __future__ import annotations

import unicodedata
from typing import Final

DEFAULT_WIDTH: Final = 60
"""Characters a name may take where space is short (tables, legends, titles)."""

_BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def display_name(text: object, width: int = DEFAULT_WIDTH) -> str:
    """``text`` with control and bidi-control characters shown as escapes (``\\u202e``) and
    cut to ``width`` characters (an ellipsis marks the cut)."""
    shown = "".join(
        f"\\u{ord(ch):04x}"
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
        else ch
        for ch in str(text)
    )
    if width > 0 and len(shown) > width:
        shown = shown[: width - 1] + "…"
    return shown


def isolate_bidi(text: str) -> str:
    """``text`` with bidi-control characters shown as escapes (``\\u202e``; line breaks and
    other layout kept): for longer text such as report paragraphs."""
    return "".join(f"\\u{ord(ch):04x}" if ch in _BIDI_CONTROLS else ch for ch in text)
