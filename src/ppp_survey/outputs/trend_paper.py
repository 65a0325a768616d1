"""The committee paper's and the deck's 経年変化: the headline indicators of 全体 across every wave
(``--history``), from a :class:`~ppp_survey.compare.trend.TrendTable`.

The paper gets one page: the summary chart (each indicator's line with its 95% band, drawn bare:
the page carries the heading and the notes once) and, under it, each indicator's values in words;
the deck gets the same numbers as a native table. Plain words only, as on every committee page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ppp_survey.compare.trend import TrendTable
from ppp_survey.outputs.trend_charts import plot_trend_summary, summary_bases
from ppp_survey.outputs.trend_sheets import SLOPE, headline_labels, trend_summary
from ppp_survey.spec.codebook import Codebook
from ppp_survey.text import signed

if TYPE_CHECKING:  # annotations only
    from matplotlib.axes import Axes

__all__ = ["trend_heading", "trend_notes", "trend_page", "trend_slides"]

ANCHOR = "trends"


def trend_heading(table: TrendTable) -> str:
    """The section's heading: 「経年変化（R7→R8→R9、全体）」."""
    return f"経年変化（{'→'.join(table.waves)}、全体）"


def _value(v) -> str:
    return v if isinstance(v, str) else f"{float(v):.1f}%"


def trend_notes(table: TrendTable, codebook: Codebook) -> list[str]:
    """The page's notes: each headline indicator's values wave by wave with its slope and verdict, the
    bases, what the numbers are (plain words), the source notes."""
    lines = headline_labels(table, codebook)
    summary = trend_summary(table, codebook)
    values = [
        f"{r['指標']}：{' → '.join(_value(r[f'{w}(%)']) for w in table.waves)}"
        f"（1回あたり{r[SLOPE] if isinstance(r[SLOPE], str) else signed(float(r[SLOPE]))}ポイント、{r['判定']}）"
        for r in summary.to_dict("records")
    ]
    return [
        *values,
        f"n（回答者数、{'／'.join(table.waves)}）：" + "　".join(summary_bases(table, lines)),
        "数値は各回の職員全体の推定値（%）、帯は95%の区間。傾きは1回あたりの変化で、偶然では説明しにくい"
        "変化のときだけ「増加」「減少」（よし悪しの向きがある指標は「改善」「悪化」）と判定した。",
        *(f"※{line}" for line in table.note.splitlines() if line),
    ]


def trend_page(table: TrendTable, codebook: Codebook) -> tuple[str, str, str]:
    """``(anchor, heading, html)`` of the paper's 経年変化 page."""
    import matplotlib.pyplot as plt

    from ppp_survey.outputs.chart_layout import PAGE_WIDTH_IN
    from ppp_survey.outputs.paper_layout import chart_page, figure_svg

    heading = trend_heading(table)
    notes = trend_notes(table, codebook)
    lines = headline_labels(table, codebook)

    def draw(height: float) -> Axes:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, height))
        fig.subplots_adjust(left=0.09, right=0.62, top=0.95, bottom=0.1)
        return plot_trend_summary(table, lines, ax=ax, bare=True)

    svg = figure_svg(draw, notes)
    return ANCHOR, heading, chart_page(ANCHOR, heading, f"{heading}（折れ線グラフ）", svg, notes)


def trend_slides(deck, table: TrendTable, codebook: Codebook) -> None:
    """The deck's 経年変化 slide: the headline indicators wave by wave, slope and verdict, as a native table."""
    from ppp_survey.outputs.deck_parts import native_table, textbox, titled_slide

    summary = trend_summary(table, codebook)
    header = ["設問", "指標", *(f"{w}（%）" for w in table.waves), "1回あたりの変化（ポイント）", "判定"]
    rows = [
        [
            str(r["設問"]),
            str(r["指標"]),
            *(_value(r[f"{w}(%)"]).removesuffix("%") for w in table.waves),
            r[SLOPE] if isinstance(r[SLOPE], str) else signed(float(r[SLOPE])),
            str(r["判定"]),
        ]
        for r in summary.to_dict("records")
    ]
    n = len(table.waves)
    widths = [w * deck.inner / (7.6 + 0.9 * n) for w in (3.0, 2.6, *([0.9] * n), 1.1, 0.9)]
    slide = titled_slide(deck, trend_heading(table))
    native_table(slide, deck, [header, *rows], widths, top=1.15, size=10)
    textbox(slide, deck, 5.4, 1.4, trend_notes(table, codebook)[len(rows) :], size=9, color="444444")
