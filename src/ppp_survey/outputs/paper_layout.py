"""The committee paper's pages: A4 geometry, charts drawn for a page's free area, phrases kept whole.

The paper (:mod:`.committee_page`) is laid out on A4 portrait with 15 mm by 14 mm margins: a text
area of :data:`TEXT_WIDTH_MM` by :data:`TEXT_HEIGHT_MM`. Every part is cut into pages here, before
the browser prints, so that the contents list knows each part's first page: a chart has a page of its
own (heading, the chart drawn to the height the page leaves it, its notes: :func:`chart_page`), a
long table is cut into pages of rows whose estimated height fits (:func:`paginate`, with
:func:`text_height_mm`), each page repeating the table's header. Japanese text in table cells breaks
only between phrases (BudouX: :func:`phrase_html` and the CSS ``word-break: keep-all``).
"""

from __future__ import annotations

import base64
import html
import io
import math
import unicodedata
from collections.abc import Callable

from ppp_survey.outputs.chart_layout import PAGE_WIDTH_IN
from ppp_survey.text import phrases

__all__ = [
    "CHART_PAGE_CSS",
    "TEXT_HEIGHT_MM",
    "TEXT_WIDTH_MM",
    "chart_page",
    "figure_svg",
    "paginate",
    "phrase_html",
    "text_height_mm",
]

TEXT_WIDTH_MM = 210 - 2 * 14  # A4 less the page's margins (the @page rule of the committee page)
TEXT_HEIGHT_MM = 297 - 2 * 15
PAGE_BOX_MM = TEXT_HEIGHT_MM - 6  # a page-sized part's height: a little under the text area (never a blank page)
SCALE = TEXT_WIDTH_MM / (PAGE_WIDTH_IN * 25.4)  # a 16 cm chart placed across the text width
HEADING_MM = 10.5  # an h2 and its margin
NOTE_PT = 8.5  # the notes' size (.note in the page's CSS), line height 1.5
NOTE_LINE_MM = NOTE_PT * 1.5 * 25.4 / 72

CHART_PAGE_CSS = f"""
section.page {{ break-before: page; margin-top: 0; }}
section.figure {{ height: {PAGE_BOX_MM}mm; display: flex; flex-direction: column; }}
section.figure h2 {{ flex: none; }}
section.figure figure {{ flex: 1 1 0; min-height: 0; margin: 0; }}
section.figure figure img {{ width: 100%; height: 100%; object-fit: contain; object-position: left top; }}
section.figure .notes {{ flex: none; margin-top: 2mm; }}
.phrases, table.paged td, table.paged th {{ word-break: keep-all; overflow-wrap: anywhere; line-break: strict; }}
""".strip()


def phrase_html(text: str) -> str:
    """``text`` escaped, with a ``<wbr>`` between its phrases (BudouX): with ``word-break: keep-all``
    a line breaks there only (「職員意識等の／現状」, never 「職員意／識等」)."""
    return "<wbr>".join(html.escape(p) for p in phrases(str(text)))


def text_width_em(text: str) -> float:
    """Width of a line in ems: full-width characters 1, others about 0.55."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.55 for ch in text)


def text_height_mm(text: str, width_mm: float, size_pt: float, *, spacing: float = 1.5) -> float:
    """Estimated height of ``text`` (lines at its line ends) in a box ``width_mm`` wide at
    ``size_pt``, broken between phrases (a phrase that does not fit starts a line)."""
    em = size_pt * 25.4 / 72
    per_line = max(1.0, width_mm / em)
    lines = 0
    for paragraph in str(text).split("\n"):
        used, count = 0.0, 1
        for p in phrases(paragraph):
            w = text_width_em(p)
            if used and used + w > per_line:  # the phrase starts a line
                count += 1
                used = 0.0
            extra = max(0, math.ceil(w / per_line) - 1)  # a phrase longer than a line is cut (anywhere)
            count += extra
            used += w - extra * per_line
        lines += count
    return lines * em * spacing


def notes_height_mm(lines: list[str]) -> float:
    """Height of a page's notes (each a paragraph at :data:`NOTE_PT` across the text width)."""
    return sum(text_height_mm(line, TEXT_WIDTH_MM, NOTE_PT) + 0.7 for line in lines)


def figure_height_in(notes: list[str]) -> float:
    """The height (inches, at the chart's 16 cm width) that fills a chart page under its heading
    and above these notes."""
    free = PAGE_BOX_MM - HEADING_MM - notes_height_mm(notes) - 4
    return max(3.0, free / SCALE / 25.4)


def figure_svg(draw: Callable[[float], object], notes: list[str]) -> bytes:
    """``draw(height)`` (a chart of the given height in inches, returning its Axes) as SVG bytes:
    text as outlines, no date, ids salted by the theme (the same bytes for the same chart)."""
    import matplotlib.pyplot as plt

    from ppp_survey.outputs.plots import theme

    with theme():
        fig = draw(figure_height_in(notes)).figure  # type: ignore[attr-defined]
        buffer = io.BytesIO()
        try:
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    return buffer.getvalue()


def chart_page(anchor: str, heading: str, alt: str, svg: bytes, notes: list[str]) -> str:
    """One page: the heading, the chart filling what the page leaves, the notes under it."""
    e = html.escape
    data = base64.b64encode(svg).decode("ascii")
    lines = "".join(f'<p class="note">{e(line)}</p>' for line in notes)
    return (
        f'<section class="page figure" id="{e(anchor)}">\n<h2>{e(heading)}</h2>\n'
        f'<figure><img alt="{e(alt)}" src="data:image/svg+xml;base64,{data}"></figure>\n'
        f'<div class="notes">{lines}</div>\n</section>'
    )


def paginate(heights: list[float], budget: float, *, last: float = 0.0) -> list[list[int]]:
    """Indices of consecutive rows in pages whose heights add up to at most ``budget`` (mm), the
    last page leaving ``last`` mm for what follows the table (its notes); a row taller than the
    budget gets a page of its own."""
    pages: list[list[int]] = [[]]
    used = 0.0
    for k, h in enumerate(heights):
        if pages[-1] and used + h > budget:
            pages.append([])
            used = 0.0
        pages[-1].append(k)
        used += h
    if last and pages[-1] and used + last > budget and len(pages[-1]) > 1:
        # the notes do not fit under the last rows: move rows to a page of their own with the notes
        tail: list[int] = []
        while pages[-1] and used + last > budget and len(pages[-1]) > 1:
            k = pages[-1].pop()
            tail.insert(0, k)
            used -= heights[k]
        pages.append(tail)
    return pages
