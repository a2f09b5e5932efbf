"""HTML building blocks of the report: escaping, numbers, tables, figures, the page.

Everything that ends up in the report goes through :func:`escape` unless it is already
:class:`Html` (markup built here from escaped parts). User-supplied text — scenario,
policy, variant, app and group names — is therefore never interpreted by the browser.
The page is self-contained: inline CSS, figures as ``data:`` URIs, no scripts, no external
resources, and nothing that changes between two renderings of the same inputs.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Sequence
from string import hexdigits
from typing import Final, NamedTuple

from matplotlib.figure import Figure

from simulator._text import display_name, isolate_bidi
from simulator.plots.run import DEFAULT_DPI


class Html(str):
    """Markup that is already safe: built here from escaped parts. Jinja2's autoescape
    leaves it as it is (``__html__``); every other value a template shows is escaped."""

    __slots__ = ()

    def __html__(self) -> str:
        """The markup itself (the protocol of markupsafe, which Jinja2 uses)."""
        return str(self)


def escape(value: object) -> Html:
    """``value`` as text, HTML-escaped (quotes included); :class:`Html` passes through."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(isolate_bidi(str(value)), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Html:
    """Escaped parts joined with ``sep`` (markup, not escaped)."""
    return Html(sep.join(escape(p) for p in parts))


def tag(name: str, *content: object, cls: str = "", title: str = "") -> Html:
    """``<name class=… title=…>content</name>``; content and title are escaped."""
    attributes = (f' class="{escape(cls)}"' if cls else "") + (
        f' title="{escape(title)}"' if title else ""
    )
    return Html(f"<{name}{attributes}>{join(content)}</{name}>")


def number(value: object, *, digits: int | None = None) -> str:
    """A number for people: thousands separators, 0–2 decimals by size; ``–`` when missing.

    Whole numbers print without decimals; others with 2 decimals below 10, 1 below 1,000
    and none above (``digits`` forces a number of decimals).
    """
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if digits is None:
        if x == int(x) and abs(x) < 1e15:
            digits = 0
        else:
            digits = 2 if abs(x) < 10 else 1 if abs(x) < 1000 else 0
    text = f"{x:,.{digits}f}"
    return text.replace("-", "−")


def percent(share: object) -> str:
    """A share (0–1) as a percentage with up to one decimal (``"12.5%"``)."""
    try:
        x = float(share)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(share)
    if math.isnan(x):
        return "–"
    text = f"{100 * x:.1f}".removesuffix(".0")
    return f"{text}%"


class Cell(NamedTuple):
    """A table cell: content (escaped unless :class:`Html`), CSS class, tooltip."""

    content: object
    cls: str = ""
    title: str = ""


def table(
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    cls: str = "",
    numeric_from: int | None = 1,
) -> Html:
    """A table; columns from ``numeric_from`` on are right-aligned (None: none are).

    Cells are plain values (escaped) or :class:`Cell` for a class / tooltip.
    """
    head = "".join(
        tag("th", h, cls="num" if numeric_from is not None and i >= numeric_from else "")
        for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            cell = value if isinstance(value, Cell) else Cell(value)
            classes = " ".join(
                c
                for c in ("num" if numeric_from is not None and i >= numeric_from else "", cell.cls)
                if c
            )
            cells.append(tag("td", cell.content, cls=classes, title=cell.title))
        body.append(f"<tr>{''.join(cells)}</tr>")
    return Html(
        f'<table class="{escape(cls)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def definition_list(items: Iterable[tuple[object, object]]) -> Html:
    """``<dl>`` of (term, description) pairs."""
    return Html("<dl>" + "".join(f"{tag('dt', t)}{tag('dd', d)}" for t, d in items) + "</dl>")


def swatch(color: str) -> Html:
    """A small coloured square; ``color`` must be ``#rrggbb`` (else grey)."""
    ok = len(color) == 7 and color.startswith("#") and all(c in hexdigits for c in color[1:])
    return Html(f'<span class="swatch" style="background:{color if ok else "#999999"}"></span>')


def svg_bytes(fig: Figure) -> bytes:
    """A figure as SVG — sharp at any zoom and in print/PDF — with the same bytes every time
    (no date, fixed ids)."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "condlaunch", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def figure_html(fig: Figure, alt: str, caption: object, *, fmt: str = "svg") -> Html:
    """A figure embedded as a ``data:`` URI (SVG by default, PNG with ``fmt="png"``),
    shown at the width it was drawn at (so its text reads at the size it was set), with
    alt text and a caption."""
    import matplotlib.pyplot as plt

    width_px = round(fig.get_figwidth() * 96)
    if fmt == "svg":
        data = base64.b64encode(svg_bytes(fig)).decode("ascii")
        mime = "image/svg+xml"
    else:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DEFAULT_DPI, metadata={"Software": None})
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        mime = "image/png"
    plt.close(fig)
    return Html(
        f'<figure><img src="data:{mime};base64,{data}" alt="{escape(alt)}" '
        f'style="width:{width_px}px">'
        f"{tag('figcaption', caption)}</figure>"
    )


_LOGO_TYPES: Final = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}
"""Logo files the report embeds, by suffix."""


def logo_uri(path: str) -> str:
    """An organisation's logo file as a ``data:`` URI (PNG, SVG or JPEG).

    Raises
    ------
    ValueError
        For another file type.
    OSError
        If the file cannot be read.
    """
    from pathlib import Path

    file = Path(path)
    mime = _LOGO_TYPES.get(file.suffix.lower().replace(".jpeg", ".jpg"))
    if mime is None:
        raise ValueError(f"a logo must be .png, .svg or .jpg, got {file.suffix or 'no suffix'}")
    return f"data:{mime};base64," + base64.b64encode(file.read_bytes()).decode("ascii")


CONTENT_WIDTH_PX: Final = 1176
"""Width of the report's content column, CSS pixels (``main``'s max-width less its
padding)."""
FIGURE_WIDTH_IN: Final = CONTENT_WIDTH_PX / 96
"""The widest a report figure is drawn, inches (96 CSS px per inch): a figure drawn wider
would be scaled down on the page, and its text with it."""

_CSS_TEMPLATE: Final = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa;
        --good: #dafbe1; --good-ink: #116329; --bad: #ffebe9; --bad-ink: #a40e26; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--ink); margin: 0; background: #fff; }
main { max-width: __MAIN_WIDTH__; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; }
p { margin: 6px 0 10px; max-width: 78em; }
.muted, figcaption, .note { color: var(--muted); }
.note { font-size: 13px; }
.lede { font-size: 16px; }
.recommendation { background: var(--soft); border-left: 4px solid #0969da;
                  padding: 12px 16px; margin: 16px 0; }
.recommendation p { margin: 4px 0; }
nav { font-size: 14px; margin: 8px 0 0; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; vertical-align: top;
         text-align: left; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
th .unit { font-weight: 400; color: var(--muted); }
.results td:first-child, .results th:first-child { min-width: 15em; }
tr:nth-child(even) td { background: #fbfcfd; }
table td.better { background: var(--good); color: var(--good-ink); font-weight: 600; }
table td.worse { background: var(--bad); color: var(--bad-ink); font-weight: 600; }
td.group { border-top: 2px solid #afb8c1; }
h4 { font-size: 14px; margin: 14px 0 2px; color: var(--muted); }
td.same { color: var(--muted); }
td.differs { font-weight: 600; }
td.set { font-weight: 600; }
.wide { display: block; overflow-x: auto; max-width: 100%; }
.badge { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 8px;
         background: #0969da; color: #fff; margin-left: 6px; vertical-align: 1px; }
.badge.base { background: #59636e; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
          margin-right: 6px; vertical-align: 0; }
figure { margin: 16px 0 24px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
.banner img { border: 0; }
figcaption { font-size: 13px; margin-top: 4px; max-width: 78em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dt { font-weight: 600; }
dd { margin: 0; }
code { font-size: 13px; background: var(--soft); padding: 0 3px; border-radius: 3px; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--muted); }
.banner { display: flex; align-items: center; gap: 14px; padding: 8px 0 14px;
          margin-bottom: 12px; border-bottom: 1px solid var(--line); font-weight: 600; }
.banner .logo { max-height: 48px; width: auto; border: 0; }
.verdict td.meets { background: var(--good); color: var(--good-ink); }
.verdict td.fails { background: var(--bad); color: var(--bad-ink); }
.verdict td.unsure { background: #fff8c5; color: #7d4e00; }
.warning { background: #fff8c5; border-left: 4px solid #bf8700; padding: 6px 10px; }
@media print { main { max-width: none; padding: 0; } nav { display: none; }
               figure { break-inside: avoid; } }
"""


_CSS: Final = _CSS_TEMPLATE.replace("__MAIN_WIDTH__", f"{CONTENT_WIDTH_PX + 2 * 32}px")  # + padding
CSS: Final = _CSS
"""The report's stylesheet (inlined by the template)."""


def page(title: object, body: Html) -> Html:
    """The whole HTML document around ``body``: inline CSS, no scripts, no external links."""
    return Html(
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(display_name(title, 80))}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
