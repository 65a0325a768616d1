"""Charts sized for an A4 committee paper: the page's measures, text colour by contrast, layout.

Every chart is drawn at :data:`PAGE_WIDTH_IN` (a 16 cm text width) so that it is placed at 100%:
a text element of ``s`` points prints at ``s`` points, and none is smaller than
:data:`MIN_TEXT_PT`. The figure's height follows its content (:func:`fit_height`): the plot area
gets the height its rows need and the title, legend, axis labels and footer just fit above and
below it, with no empty band. Text on a coloured area takes white or dark grey, whichever has the
higher WCAG 2 contrast against it (:func:`text_color_on`); value labels that do not fit inside
their segment go just above their bar (:func:`label_segments`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb

from ppp_survey.text import wrap_ja

if TYPE_CHECKING:  # annotations only
    from matplotlib.text import Text
    from matplotlib.transforms import Transform

PAGE_WIDTH_IN = 16 / 2.54  # the text width of an A4 page with 2.5 cm margins: 16 cm
MIN_TEXT_PT = 8.0  # the smallest text on the printed page
SMALL_PT = 8.0  # value labels, legends, footers, heatmap cells
TITLE_PT = 11.0
LIGHT_TEXT, DARK_TEXT = "#ffffff", "#222222"
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text (every value label is 8 pt regular, below 14 pt bold)
MARGIN_IN = 0.06  # white space left at the figure's top and bottom edges
SUPPRESSED_TEXT = "x（匿名性確保のため非表示）"


def relative_luminance(color) -> float:
    """WCAG 2 relative luminance of a matplotlib colour (0 black … 1 white)."""
    rgb = np.asarray(to_rgb(color), dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a, b) -> float:
    """WCAG 2 contrast ratio of two colours, 1 … 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)))
    return (lb + 0.05) / (la + 0.05)


#: The one luminance at which a cell's text turns from white to black: where both contrast equally,
#: (L + 0.05)^2 = 1.05 x 0.05, so either colour gives at least 4.58:1 on any background.
LUMINANCE_THRESHOLD = (1.05 * 0.05) ** 0.5 - 0.05
ON_LIGHT = "#000000"  # the text on a light background (the only dark that reaches 4.5:1 at the threshold)


def text_color_on(background) -> str:
    """White on a background darker than :data:`LUMINANCE_THRESHOLD`, black on a lighter one: one
    threshold, so cells of nearly the same colour take the same text colour, and at least 4.58:1
    contrast everywhere (WCAG 2 AA: 4.5:1)."""
    return LIGHT_TEXT if relative_luminance(background) < LUMINANCE_THRESHOLD else ON_LIGHT


# ------------------------------------------------------------------ what the numbers are (item 7)

PLAIN_NUMBERS = "回答者に占める割合"
WEIGHTED_NUMBERS = "職員全体の推定値（職員数で重み付け、95%信頼区間）"


def method_text(weighted: bool, *, whiskers: bool = False) -> str:
    """The footer's line that names the numbers of a chart: plain shares of the respondents (the
    default) or design-based estimates for all staff; ``whiskers``: the chart draws the intervals
    (else they are in the workbook)."""
    if not weighted:
        return f"数値は{PLAIN_NUMBERS}（%）"
    where = "ひげが95%信頼区間" if whiskers else "区間は集計表（単純集計・クロス集計）に記載"
    return f"数値は{WEIGHTED_NUMBERS}。{where}"


def held_groups(table: pd.DataFrame) -> dict:
    """group → suppressed for anonymity? (tables without the column: nothing suppressed)."""
    if "suppressed" not in table.columns:
        return {}
    return table.groupby("group", sort=False)["suppressed"].any().to_dict()


# --------------------------------------------------------------------------------------- layout


def add_footer(fig, *, base: str, note: str, fontsize: float = SMALL_PT) -> Text:
    """Write the base (n), what the numbers are and the source note at the figure's bottom left,
    each line wrapped at phrase boundaries to the figure's width; returns the Text."""
    usable = fig.get_size_inches()[0] * 72 - 2 * 72 * MARGIN_IN
    width = max(20, int(usable / fontsize) - 1)  # characters per line (a full-width character is 1 em)
    lines = [wrap_items(line, width) for line in f"{base}\n{note}".split("\n") if line]
    return fig.text(
        MARGIN_IN,
        MARGIN_IN,
        "\n".join(lines),
        ha="left",
        va="bottom",
        fontsize=fontsize,
        color="#444444",
        linespacing=1.4,
        transform=fig.dpi_scale_trans,
    )


def wrap_items(line: str, width: int) -> str:
    """A footer line of items separated by a full-width space (「▲▼：…　※基数n未満は参考値」) in
    lines of at most ``width`` characters, broken between items, so that no item is cut in two
    (「※基数n未満は／参考値」); an item longer than a line is broken between its phrases."""
    out: list[str] = []
    for item in line.split("\u3000"):
        if not item:
            continue
        if out and len(out[-1]) + 1 + len(item) <= width:
            out[-1] += "\u3000" + item
        else:
            out += wrap_ja(item, width).split("\n")
    return "\n".join(out)


def fit_left_margin(ax, *, pad: float = 0.015) -> None:
    """Move the plot area's left edge so the longest y tick label fits (labels are Japanese text
    of very different lengths, so a fixed margin either clips them or wastes space)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    widths = [t.get_window_extent(renderer).width for t in ax.get_yticklabels()] or [0.0]
    left = max(widths) / fig.bbox.width + pad + 0.01
    fig.subplots_adjust(left=min(0.6, left))


def title_text(ax) -> Text | None:
    """The Text of the Axes' title (left, centre or right: the first that is set), or None."""
    from matplotlib.text import Text

    for loc in ("left", "center", "right"):
        text = ax.get_title(loc=loc)
        if text:
            found = [t for t in ax.get_children() if isinstance(t, Text) and t.get_text() == text]
            return found[0] if found else None
    return None


def place_title(ax) -> None:
    """Start the title at the figure's left margin (above the row labels, as a page's heading)
    and break it at phrase boundaries where it is wider than the figure."""
    fig = ax.figure
    title = title_text(ax)
    if title is None:
        return
    renderer = fig.canvas.get_renderer()
    text = title.get_text().replace("\n", "")
    box = ax.get_window_extent(renderer)
    usable = fig.bbox.width - 2 * MARGIN_IN * fig.dpi
    width = title.get_window_extent(renderer).width
    if width > usable and text:
        title.set_text(wrap_ja(text, max(8, int(len(text) * usable / width) - 1)))
    title.set_x((MARGIN_IN * fig.dpi - box.x0) / box.width)


def footer_top(fig, renderer) -> float:
    """Height in inches from the figure's bottom edge to the top of its footer (the figure's texts)."""
    tops = [t.get_window_extent(renderer).y1 for t in fig.texts if t.get_visible() and t.get_text()]
    return max(tops, default=0.0) / fig.dpi


def fit_height(ax, *, axes_height: float, gap: float = 0.1, total: float | None = None) -> None:
    """Give ``ax`` a plot area ``axes_height`` inches tall and size the figure's height to what is
    around it: above the area its title, legend and headers, below it the tick labels, the axis
    label, ``gap`` inches and the footer (drawn by :func:`.plots.add_footer` at the bottom edge).
    The figure keeps its width and the area its horizontal place. ``total``: the figure's height
    instead (a page's free area, :mod:`.committee_page`), the plot area taking what is left."""
    fig = ax.figure
    place_title(ax)
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    tight = ax.get_tightbbox(renderer)
    dpi = fig.dpi
    above = max(0.0, (tight.y1 - box.y1) / dpi)
    below = max(0.0, (box.y0 - tight.y0) / dpi)
    bottom = footer_top(fig, renderer) + gap + below
    if total is not None:
        axes_height = max(0.5 * axes_height, total - MARGIN_IN - above - bottom)
    height = MARGIN_IN + above + axes_height + bottom
    width = fig.get_size_inches()[0]
    fig.set_size_inches(width, height)
    pos = ax.get_position()
    ax.set_position([pos.x0, bottom / height, pos.width, axes_height / height])


@dataclass(frozen=True)
class Segment:
    """One segment of a bar: left end and width (data units), the bar's centre and height, the
    label text and the segment's colour."""

    left: float
    width: float
    y: float
    height: float
    text: str
    color: str


LABEL_GAP_PT = 9.0  # the least space between two value labels set above a bar (more than an em)


def label_segments(ax, segments: Sequence[Segment], *, fontsize: float = SMALL_PT, pad_pt: float = 2.0) -> None:
    """Write each segment's value inside it where the text fits (in white or dark grey by
    contrast), else just above its bar, centred on the segment, labels of one bar pushed apart so
    none overlaps another and joined to their segment by a thin line where they moved. Call after
    the layout is final (the fit depends on the plot area's size in points)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    px_per_pt = fig.dpi / 72
    outside: dict[float, list[tuple[Segment, float]]] = {}
    for s in segments:
        text = ax.text(
            s.left + s.width / 2, s.y, s.text, ha="center", va="center", fontsize=fontsize, color=text_color_on(s.color)
        )
        width = text.get_window_extent(renderer).width
        span = to_px((s.left + s.width, s.y))[0] - to_px((s.left, s.y))[0]
        if width + 2 * pad_pt * px_per_pt <= span:
            continue
        text.remove()
        outside.setdefault(s.y, []).append((s, width))
    x0, x1 = ax.get_window_extent(renderer).intervalx
    gap = LABEL_GAP_PT * px_per_pt  # between two labels, and between a label and the axes' edge
    x0, x1 = x0 + gap, x1 - gap
    for row in outside.values():
        row.sort(key=lambda sw: sw[0].left)
        want = np.array([to_px((s.left + s.width / 2, s.y))[0] for s, _ in row])
        widths = np.array([w for _, w in row])
        place = _spread(want, widths, gap, x0, x1)
        for (s, _), x, c in zip(row, place, want):
            top = s.y + s.height / 2
            xd = ax.transData.inverted().transform((x, 0))[0]
            lift = 3.5  # points between the bar's top and the label
            ax.annotate(
                s.text,
                xy=(s.left + s.width / 2, top),
                xytext=(xd, top),
                textcoords=_offset(ax, lift),
                ha="center",
                va="bottom",
                fontsize=fontsize,
                color=DARK_TEXT,
                arrowprops={"arrowstyle": "-", "color": "#555555", "lw": 0.6, "shrinkA": 0, "shrinkB": 0}
                if abs(x - c) > 1.5 * px_per_pt
                else None,
            )


def _offset(ax, points: float) -> Transform:
    from matplotlib.transforms import offset_copy

    return offset_copy(ax.transData, fig=ax.figure, y=points, units="points")


def _spread(want: np.ndarray, widths: np.ndarray, gap: float, lo: float, hi: float) -> np.ndarray:
    """Centres as near ``want`` as possible with neighbours ``gap`` apart and all inside [lo, hi]
    (pixels; ``want`` sorted)."""
    place = np.clip(want, lo + widths / 2, hi - widths / 2)
    for k in range(1, len(place)):  # push right
        place[k] = max(place[k], place[k - 1] + (widths[k - 1] + widths[k]) / 2 + gap)
    shift = float(np.mean(place - want))  # centre the cluster on its segments
    place -= max(0.0, min(shift, place[0] - widths[0] / 2 - lo))
    overflow = place[-1] + widths[-1] / 2 - hi
    if overflow > 0:
        place -= overflow
    return place
