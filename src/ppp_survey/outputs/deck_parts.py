"""The deck's building blocks: a slide with its title, text boxes and native tables (python-pptx).

:class:`Deck` is a presentation being built with its size and fixed texts; :func:`titled_slide`
adds a Title Only slide (架空データ in the corner for synthetic data), :func:`textbox` and
:func:`native_table` fill it. Shared by the deck's slides (:mod:`.committee_deck`) and its chart
slides (:mod:`.deck_charts`). Imported only where a deck is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ppp_survey.outputs.paper_text import SYNTHETIC_MARK

if TYPE_CHECKING:  # annotations only
    from pptx.shapes.autoshape import Shape
    from pptx.slide import Slide
    from pptx.table import Table
    from pptx.util import Length

__all__ = ["EMU", "MARGIN", "Deck", "inches", "native_table", "pt", "set_text", "textbox", "titled_slide"]

EMU = 914400  # per inch
MARGIN = 0.4  # inches left and right


@dataclass
class Deck:
    """A presentation being built, its size in inches and its fixed texts."""

    prs: Any
    width: float
    synthetic: bool
    note: str
    font_size: float

    @property
    def inner(self) -> float:
        return self.width - 2 * MARGIN


def inches(x: float) -> int:
    return round(x * EMU)


def set_text(frame, paragraphs: Iterable[str | list[tuple[str, dict]]], *, size: float, **style) -> None:
    """Fill a text frame: one paragraph per item, each a string or runs ``(text, style)``."""
    from pptx.enum.lang import MSO_LANGUAGE_ID

    frame.word_wrap = True
    for k, para in enumerate(paragraphs):
        p = frame.paragraphs[0] if k == 0 else frame.add_paragraph()
        for text, own in [(para, {})] if isinstance(para, str) else para:
            run = p.add_run()
            run.text = text
            run.font.size = pt(size)
            run.font.language_id = MSO_LANGUAGE_ID.JAPANESE
            style_font(run.font, {**style, **own})


def pt(size: float) -> Length:
    from pptx.util import Pt

    return Pt(size)


def style_font(font, style: dict) -> None:
    from pptx.dml.color import RGBColor

    if style.get("bold"):
        font.bold = True
    if style.get("color"):
        font.color.rgb = RGBColor.from_string(style["color"].lstrip("#").upper())
    if style.get("size"):
        font.size = pt(style["size"])


def titled_slide(deck: Deck, title: str) -> Slide:
    """A Title Only slide with ``title`` across the top and, for synthetic data, 架空データ in the corner."""
    slide = deck.prs.slides.add_slide(deck.prs.slide_layouts[5])
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = map(inches, (MARGIN, 0.25, deck.inner - 1.3, 0.85))
    set_text(shape.text_frame, [title], size=deck.font_size, bold=True)
    if deck.synthetic:
        box = slide.shapes.add_textbox(*map(inches, (deck.width - MARGIN - 1.25, 0.2, 1.25, 0.4)))
        set_text(box.text_frame, [SYNTHETIC_MARK], size=12, bold=True, color="B00000")
    return slide


def textbox(slide, deck: Deck, top: float, height: float, lines: list[str], *, size: float = 10, **style) -> Shape:
    """A text box across the slide's inner width holding ``lines``; returns it."""
    box = slide.shapes.add_textbox(*map(inches, (MARGIN, top, deck.inner, height)))
    set_text(box.text_frame, lines, size=size, **style)
    return box


def native_table(
    slide, deck: Deck, rows: list[list], widths: list[float], *, top: float, size: float, left: float = MARGIN
) -> Table:
    """A native table: the first row is the header; ``widths`` in inches; cells strings or runs."""
    from pptx.util import Inches

    shape = slide.shapes.add_table(
        len(rows), len(widths), inches(left), inches(top), inches(sum(widths)), inches(0.3 * len(rows))
    )
    table = shape.table
    for k, w in enumerate(widths):
        table.columns[k].width = inches(w)
    for i, row in enumerate(rows):
        table.rows[i].height = inches(0.28)
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.margin_left = cell.margin_right = Inches(0.05)
            cell.margin_top = cell.margin_bottom = Inches(0.03)
            paragraphs = value if isinstance(value, list) else [str(value)]
            set_text(cell.text_frame, paragraphs, size=size, bold=(i == 0))
    return table
