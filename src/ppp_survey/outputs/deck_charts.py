"""The deck's chart slides: the paper's chart designs as native charts, and its tables by 職域.

A chart of section 2 is drawn natively with the paper's design (:func:`native_chart`): a Likert
question diverges around zero with わからない as numbers in a column of its own, other
single-answer questions stack from zero, multi-select ones are bars ranked by share; every value
is labelled, rounded as the paper prints it (:func:`chart_values`), none hidden. Each table by
職域 (the paper's heatmap) is a native table coloured as the heatmap is, each cell's number and
mark editable (:func:`heatmap_slide`). Imported only where a deck is written (it uses python-pptx).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ppp_survey.analysis import Analysis
from ppp_survey.outputs.chart_layout import text_color_on
from ppp_survey.outputs.committee_page import (
    SectionChart,
    base_text,
    chart_notes,
    heatmap_heading,
    method_text,
)
from ppp_survey.outputs.heatmaps import heatmap_grid
from ppp_survey.outputs.paper_text import heatmap_notes
from ppp_survey.outputs.plots import BAR_COLOR, OFFSCALE_COLOR
from ppp_survey.text import round_half_up

if TYPE_CHECKING:  # annotations only
    from pptx.shapes.graphfrm import GraphicFrame
    from pptx.util import Length

__all__ = ["chart_slide", "chart_values", "diverging_series", "heatmap_slide", "native_chart"]

TOP, BOTTOM = 1.15, 6.35  # inches: the slide's body, under the title, above the notes


def chart_values(chart: SectionChart, *, weighted: bool = False) -> tuple[list[str], dict[str, list[float | None]]]:
    """(categories, {series: values}) of a chart, values in % rounded half up to one decimal as the
    chart prints them (``None`` for a group held for anonymity).

    A single-answer question: categories 全体 then each 職域 (「全体（n=1,321）」), one series per
    choice in codebook order. A multi-select question: categories the options ranked by share
    (その他 and 特にない last, as the chart), one series.
    """
    t = chart.table
    column = "estimate" if weighted else "share"
    item = chart.item
    if item.is_multi:
        special = {c.code for c in item.choices if c.other or c.exclusive}
        rows = t.to_dict("records")
        main = sorted((r for r in rows if r["code"] not in special), key=lambda r: -float(r[column]))
        ordered = main + [r for r in rows if r["code"] in special]
        return [str(r["label"]) for r in ordered], {"回答者に占める割合（%）": [_pct(r, column) for r in ordered]}
    groups = list(dict.fromkeys(t["group"]))
    bases = t.drop_duplicates("group").set_index("group")["base_n"]
    categories = [f"{g}（n={int(bases[g]):,}）" for g in groups]
    series = {}
    for c in item.choices:
        rows = t[t["code"] == c.code].set_index("group")
        series[c.label] = [_pct(rows.loc[g], column) for g in groups]
    return categories, series


def _pct(row, column: str) -> float | None:
    if bool(row.get("suppressed", False)) or pd.isna(row[column]):
        return None
    return float(round_half_up(100 * float(row[column])))


def chart_slide(deck, analysis: Analysis, chart: SectionChart, *, weighted: bool) -> None:
    """The chart as a native chart of the paper's design (:func:`native_chart`), its notes under it."""
    from ppp_survey.outputs.deck_parts import MARGIN, inches, textbox, titled_slide

    slide = titled_slide(deck, chart.heading)
    box = (inches(MARGIN), inches(TOP), inches(deck.inner), inches(BOTTOM - TOP))
    native_chart(slide, box, chart, weighted=weighted)
    lines = chart_notes(analysis, chart, weighted=weighted)
    if weighted:
        lines.append("95%信頼区間は集計表にある。")
    textbox(slide, deck, BOTTOM + 0.05, 1.0, [*lines, f"※{deck.note}"], size=9, color="444444")


#: Excel number format of the bars' labels: one decimal, the left side's negative values shown
#: without their sign (they are shares), nothing hidden.
LABEL_FORMAT = "0.0;0.0;0.0"


def native_chart(slide, box, chart: SectionChart, *, weighted: bool) -> GraphicFrame:
    """A native PowerPoint chart of the paper's design holding its numbers (editable with データの
    編集): bars ranked by share with その他/特にない in grey (multi-select); for a single-answer
    question stacked bars of 全体 and each 職域, a Likert scale diverging around zero (the
    unfavourable half to the left, stored as negative values and labelled without sign) with the
    off-scale answers (わからない) as numbers in a column at the right, as the paper prints them.
    Every value is labelled (none hidden)."""
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_CHART_TYPE

    from ppp_survey.outputs.deck_data import TextChartData

    categories, series = chart_values(chart, weighted=weighted)
    data = TextChartData(number_format="0.0")
    data.categories = categories
    item = chart.item
    if not item.is_multi:
        return _stacked_chart(slide, box, data, diverging_series(item, series))
    ((name, values),) = series.items()
    data.add_series(name, values)
    shape = slide.shapes.add_chart(XL_CHART_TYPE.BAR_CLUSTERED, *box, data)
    style_bars(shape.chart, [BAR_COLOR], legend=False)
    special = {c.label for c in item.choices if c.other or c.exclusive}
    points = shape.chart.plots[0].series[0].points
    for k, label in enumerate(categories):
        if label in special:
            points[k].format.fill.solid()
            points[k].format.fill.fore_color.rgb = RGBColor.from_string(OFFSCALE_COLOR.lstrip("#").upper())
    return shape


def _stacked_chart(slide, box, data, layout: _Diverging) -> GraphicFrame:
    """The stacked (diverging) bars of :func:`native_chart`, series as :func:`diverging_series` lays them out."""
    from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION, XL_TICK_LABEL_POSITION

    for part in layout.series:
        data.add_series(part.name, part.values)
    shape = slide.shapes.add_chart(XL_CHART_TYPE.BAR_STACKED, *box, data)
    chart = shape.chart
    style_bars(chart, [part.color or "#FFFFFF" for part in layout.series], legend=True)
    chart.legend.position = XL_LEGEND_POSITION.TOP
    plot = chart.plots[0]
    plot.overlap = 100
    for s, part in zip(plot.series, layout.series):
        s.data_labels.position = XL_LABEL_POSITION.CENTER
        if part.color is None:  # the spacer and the off-scale column: no bar, the off-scale values as text
            s.format.fill.background()
            s.data_labels.position = XL_LABEL_POSITION.INSIDE_BASE
        if not part.shown:
            s.data_labels.show_value = False
        elif part.labels is not None:  # a neutral answer split across zero: its whole value on the right half
            for k, text in enumerate(part.labels):
                s.points[k].data_label.text_frame.text = text
        elif part.color is not None:
            for k, v in enumerate(part.values):
                if v == 0:  # no segment, no label, as the paper (a 0.0 would sit on zero)
                    s.points[k].data_label.text_frame.text = ""
    chart.category_axis.tick_label_position = XL_TICK_LABEL_POSITION.LOW  # the groups at the left, not at zero
    chart.value_axis.minimum_scale, chart.value_axis.maximum_scale = layout.lo, layout.hi
    return shape


UNNAMED = " "  # a series the legend need not name (a blank entry; "" would read 'Series5')


@dataclass(frozen=True)
class Part:
    """One series of a native chart: its name (:data:`UNNAMED`: a blank legend entry without a swatch),
    values, colour (``None``: no bar), labels (``None``: the values) and whether they are ``shown``."""

    name: str
    values: list[float | None]
    color: str | None
    labels: list[str] | None = None
    shown: bool = True


@dataclass(frozen=True)
class _Diverging:
    series: list[Part]
    lo: float
    hi: float


def diverging_series(item, series: dict[str, list[float | None]]) -> _Diverging:
    """The native chart's series of a single-answer question: (name, values, colour or None).

    A Likert scale: the unfavourable choices as negative values (weak next to zero, then strong),
    then the favourable ones, a spacer without name, bar or label up to the off-scale column, and
    the off-scale choices (わからない) as labels only. Other questions: the choices stacked from zero."""
    from ppp_survey.outputs.plots import LIKERT_NEGATIVE, LIKERT_POSITIVE, NEUTRAL_COLOR, STACK_COLORS
    from ppp_survey.survey.indicators import favourable_first

    def values(c, sign: float = 1.0) -> list[float | None]:
        return [None if v is None else sign * v + 0.0 for v in series[c.label]]

    if item.type != "likert":
        parts = [Part(c.label, values(c), STACK_COLORS[k % len(STACK_COLORS)]) for k, c in enumerate(item.choices)]
        return _Diverging(parts, 0.0, 100.0)
    ordered = favourable_first(item)
    half = len(ordered) // 2
    positive, negative = ordered[:half], ordered[len(ordered) - half :]
    neutral = ordered[half : len(ordered) - half]
    offscale = [c for c in item.choices if c.score is None]
    out: list[Part] = []
    for c in neutral:  # split across zero (next to it on both sides): labelled once, on the right half
        halves = [None if v is None else v / 2 for v in series[c.label]]
        out.append(Part(c.label, [None if v is None else -v for v in halves], NEUTRAL_COLOR, shown=False))
    for c, color in zip(negative, LIKERT_NEGATIVE):  # weak next to zero, then strong
        out.append(Part(c.label, values(c, -1.0), color))
    for c in neutral:
        texts = ["" if v is None else f"{v:.1f}" for v in series[c.label]]
        out.append(Part(UNNAMED, [None if v is None else v / 2 for v in series[c.label]], NEUTRAL_COLOR, texts))
    for c, color in zip(positive[::-1], LIKERT_POSITIVE[::-1]):  # weak next to zero, then strong
        out.append(Part(c.label, values(c), color))
    groups = len(next(iter(series.values()), []))
    right = [sum(v for p in out for v in [p.values[g] or 0.0] if v > 0) for g in range(groups)]
    left = [-sum(v for p in out for v in [p.values[g] or 0.0] if v < 0) for g in range(groups)]
    start = 10 * math.ceil((max(right, default=0.0) + 6) / 10)
    if offscale:
        out.append(Part(UNNAMED, [start - r for r in right], None, shown=False))  # a spacer up to the column
        out += [Part(c.label, values(c), None) for c in offscale]
    lo = -max(20.0, 10 * math.ceil((max(left, default=0.0) + 6) / 10))
    return _Diverging(out, lo, start + 12.0 * len(offscale))


def style_bars(chart, colors: list[str], *, legend: bool) -> None:
    """Bars with value labels (all of them, one decimal), categories top to bottom, no value axis."""
    from pptx.dml.color import RGBColor

    chart.font.size = pt(11)
    chart.has_legend = legend
    if legend:
        chart.legend.include_in_layout = False
        chart.legend.font.size = pt(10)
    chart.category_axis.reverse_order = True
    chart.category_axis.has_major_gridlines = False
    chart.value_axis.visible = False
    chart.value_axis.has_major_gridlines = False
    plot = chart.plots[0]
    plot.gap_width = 50
    for k, series in enumerate(plot.series):
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = RGBColor.from_string(colors[k % len(colors)].lstrip("#").upper())
        labels = series.data_labels
        labels.show_value = True
        labels.number_format = LABEL_FORMAT
        labels.number_format_is_linked = False
        labels.font.size = pt(10)


def pt(size: float) -> Length:
    from pptx.util import Pt

    return Pt(size)


def _align_numbers(table) -> None:
    from pptx.enum.text import PP_ALIGN

    for row in list(table.rows):
        for cell in list(row.cells)[1:]:
            cell.text_frame.paragraphs[0].alignment = PP_ALIGN.RIGHT


def heatmap_slide(deck, analysis: Analysis, chart: SectionChart, *, weighted: bool) -> None:
    """The table by 職域 as the paper's heatmap: a native table, a row per choice, 全体 and each
    職域 a column (its base under the name), each cell coloured by its value and its text white or
    black by the cell's luminance, with its mark."""
    from pptx.dml.color import RGBColor
    from pptx.util import Pt

    from ppp_survey.outputs.deck_parts import inches, native_table, textbox, titled_slide

    stratum = analysis.codebook.stratum
    crosstab = analysis.crosstabs[(chart.item.id, stratum.id)]
    grid = heatmap_grid(crosstab, weighted=weighted, overall=analysis.tally(chart.item.id))
    slide = titled_slide(deck, heatmap_heading(analysis, chart))
    labels = [c.label for c in chart.item.choices]
    header = ["選択肢", *(f"{c}\n{n}" for c, n in zip(grid.columns, grid.notes))]
    rows = [header, *([label, *grid.text[:, i]] for i, label in enumerate(labels))]
    first = min(3.0, deck.inner * 0.26)
    widths = [first, *[(deck.inner - first) / len(grid.columns)] * len(grid.columns)]
    size = 8 if len(labels) > 8 else 10
    table = native_table(slide, deck, [[str(x) for x in r] for r in rows], widths, top=TOP, size=size)
    pitch = min(0.6, (BOTTOM - TOP - 0.15) / len(rows))  # the rows fill the slide's body, as the cells the page
    for row in list(table.rows)[1:]:
        row.height = inches(max(0.28, pitch))
    for i in range(len(labels)):
        for j in range(len(grid.columns)):
            cell = table.cell(i + 1, j + 1)
            value = grid.data[j, i]
            if pd.isna(value):
                continue
            rgba = grid.color(value)
            fill = "".join(f"{round(255 * x):02X}" for x in rgba[:3])
            cell.fill.solid()
            cell.fill.fore_color.rgb = RGBColor.from_string(fill)
            run = cell.text_frame.paragraphs[0].runs[0]
            run.font.color.rgb = RGBColor.from_string(text_color_on(rgba).lstrip("#").upper())
            run.font.size = Pt(size)
    _align_numbers(table)
    held = bool((grid.text == "x").any())
    by = stratum.label
    lines = heatmap_notes(
        crosstab, by=by, base=base_text(analysis.tally(chart.item.id)), numbers=method_text(weighted), held=held
    )
    textbox(slide, deck, BOTTOM + 0.05, 1.1, lines, size=8, color="444444")
