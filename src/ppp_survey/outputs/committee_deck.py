"""The committee paper's section 2 as an editable PowerPoint deck: ``報告書.pptx``.

Slides: the title, the survey note, the response rates by 職域 (table and bars), one slide per chart
2-(1)…(7) titled with the document's heading and drawn as a native chart holding its data (100%
stacked bars of 全体 and each 職域 for a single-answer question, bars ranked by share for a
multi-select one), the 2-(8) matrix as native tables split to fit, the changes since the baseline
(with a :class:`~ppp_survey.compare.changes.ChangeTable`), the method and anonymity notes. Every
number is the one the page and the workbook print (Analysis, policy result, change table).

The theme names 游ゴシック for every text (``font="メイリオ"`` for PCs without it); slides are 16:9
or PowerPoint's A4 size (``layout="A4"``). python-pptx is imported only where a deck is written.
The same results give the same bytes: document dates and zip entries (also those of the charts'
embedded workbooks) carry the survey's last fielding day. A chart's data hold every label as text,
never a formula (:mod:`ppp_survey.outputs.deck_data`).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ppp_survey.analysis import Analysis
from ppp_survey.compare.changes import DECREASED, IMPROVED, INCREASED, WORSENED, ChangeTable
from ppp_survey.constants import ALL
from ppp_survey.files import atomic_output
from ppp_survey.outputs.change_sheets import change_tables, method_note
from ppp_survey.outputs.committee_page import (
    SYNTHETIC_MARK,
    SYNTHETIC_TEXT,
    MatrixRow,
    SectionChart,
    chart_notes,
    evidence_value,
    matrix_heading,
    matrix_rows,
    method_notes,
    number_text,
    section_charts,
    section_title,
)
from ppp_survey.outputs.committee_pdf import pin_package
from ppp_survey.outputs.plots import BAR_COLOR, LIKERT_NEGATIVE, LIKERT_POSITIVE, OFFSCALE_COLOR, STACK_COLORS
from ppp_survey.policy.assess import PolicyResult
from ppp_survey.policy.evidence import NOT_SUPPORTED, SUPPORTED, UNDECIDED
from ppp_survey.spec.codebook import Item
from ppp_survey.survey.indicators import favourable_first
from ppp_survey.text import ROUNDING_NOTE, pct, round_half_up

__all__ = ["DECK_NAME", "LAYOUTS", "chart_values", "write_committee_deck"]

DECK_NAME = "報告書.pptx"
#: Slide sizes in EMU (914,400 per inch): 16:9 widescreen and PowerPoint's 「A4 (210×297 mm)」.
LAYOUTS = {"16:9": (12192000, 6858000), "A4": (9906000, 6858000)}
EMU = 914400
MARGIN = 0.4  # inches left and right
VERDICT_TEXT_COLORS = {SUPPORTED: "38761D", NOT_SUPPORTED: "B45F06", UNDECIDED: "666666"}
CHANGE_TEXT_COLORS = {IMPROVED: "1F5F99", WORSENED: "C4532B", INCREASED: "555555", DECREASED: "555555"}
SIGNIFICANT = (IMPROVED, WORSENED, INCREASED, DECREASED)
# Excel number format of the stacked bars' labels: one decimal, nothing under 4% (too narrow to read)
STACK_LABEL_FORMAT = '[<4]"";0.0'
THEME = re.compile(r"ppt/theme/theme\d+\.xml")


# ---------------------------------------------------------------------------- the charts' data


def chart_values(chart: SectionChart, *, weighted: bool = False) -> tuple[list[str], dict[str, list[float | None]]]:
    """(categories, {series: values}) of a chart's native PowerPoint chart, values in % rounded
    half up to one decimal as every table prints them (``None`` for a group held for anonymity).

    A single-answer question: categories 全体 then each 職域 (「全体（n=1,321）」), one series per
    choice in codebook order. A multi-select question: categories the options ranked by share
    (その他 and 特にない last, as the report's chart), one series.
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


def choice_colors(item: Item) -> dict[int, str]:
    """Colours of a single-answer question's choices, as the report's chart: a Likert scale blue
    (favourable) to orange (unfavourable), grey in the middle and off the scale."""
    if item.type != "likert":
        return {c.code: STACK_COLORS[k % len(STACK_COLORS)] for k, c in enumerate(item.choices)}
    ordered = [c.code for c in favourable_first(item)]
    half, neg = len(ordered) // 2, len(ordered) - len(ordered) // 2
    colors = {c.code: OFFSCALE_COLOR for c in item.choices} | dict.fromkeys(ordered[half:neg], "#d9d9d9")
    return colors | dict(zip(ordered[:half], LIKERT_POSITIVE)) | dict(zip(ordered[neg:], LIKERT_NEGATIVE))


# ------------------------------------------------------------------------------- text fitting


def text_width(text: str) -> float:
    """Width of a line in ems: full-width characters 1, others about 0.55."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.55 for ch in text)


def text_height(text: str, width_in: float, size_pt: float, *, spacing: float = 1.5) -> float:
    """Estimated height in inches of ``text`` wrapped in a box ``width_in`` wide at ``size_pt``."""
    em = size_pt / 72
    per_line = max(1.0, width_in / em)
    lines = sum(max(1, math.ceil(text_width(p) / per_line)) for p in text.split("\n"))
    return lines * em * spacing


def pack(heights: list[float], budget: float) -> list[list[int]]:
    """Indices of consecutive rows packed into pages whose heights add up to at most ``budget``
    (a row taller than the budget gets a page of its own)."""
    pages: list[list[int]] = [[]]
    used = 0.0
    for k, h in enumerate(heights):
        if pages[-1] and used + h > budget:
            pages.append([])
            used = 0.0
        pages[-1].append(k)
        used += h
    return pages


# --------------------------------------------------------------------------------- the deck


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


def write_committee_deck(
    path: str | Path,
    analysis: Analysis,
    policy: PolicyResult | None,
    *,
    synthetic: bool,
    layout: str = "16:9",
    changes: ChangeTable | None = None,
    weighted: bool = False,
    font: str = "游ゴシック",
) -> Path:
    """Write the deck (see the module's docstring) to ``path`` atomically; return the path.

    ``layout`` is ``"16:9"`` or ``"A4"``; ``font`` the typeface the theme names for every text
    (Japanese and Latin). ``policy`` ``None`` leaves the matrix out.
    """
    from pptx import Presentation

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(LAYOUTS)}, got {layout!r}")
    prs = Presentation()
    _resize(prs, *LAYOUTS[layout])
    note = analysis.source_note(synthetic=synthetic)
    deck = Deck(prs, LAYOUTS[layout][0] / EMU, synthetic, note, 20 if layout == "A4" else 24)
    charts = section_charts(analysis)
    _title_slide(deck, analysis, section_title(charts))
    _survey_slide(deck, analysis)
    _rates_slide(deck, analysis)
    for chart in charts:
        _chart_slide(deck, analysis, chart, weighted=weighted)
    if policy is not None:
        _matrix_slides(deck, policy, matrix_heading(charts, policy.matrix))
    if changes is not None:
        _change_slides(deck, changes)
    notes = method_notes(analysis, policy, note, synthetic=synthetic, weighted=weighted)
    _bullet_slides(deck, "調査の方法と匿名性の確保", [f"{h}：{t}" for h, t in notes])
    fielded = analysis.codebook.survey.fielded_to
    _properties(prs, section_title(charts), analysis, synthetic=synthetic, when=fielded)
    buffer = io.BytesIO()
    prs.save(buffer)
    data = pin_package(buffer.getvalue(), fielded, transform=lambda name, body: theme_fonts(name, body, font))
    with atomic_output(Path(path)) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def _resize(prs, width: int, height: int) -> None:
    """Set the slide size and move the master's and layouts' placeholders with it (so a slide the
    user adds in PowerPoint is laid out for the new width)."""
    ratio = width / prs.slide_width
    prs.slide_width, prs.slide_height = width, height
    shapes = [*prs.slide_master.shapes, *(s for layout in prs.slide_layouts for s in layout.placeholders)]
    for s in shapes:
        box = (s.left, s.top, s.width, s.height)
        if None not in box:  # all four: an inherited position becomes a complete one
            s.left, s.top, s.width, s.height = round(box[0] * ratio), box[1], round(box[2] * ratio), box[3]


def _inches(x: float) -> int:
    return round(x * EMU)


def _set_text(frame, paragraphs: Iterable[str | list[tuple[str, dict]]], *, size: float, **style) -> None:
    """Fill a text frame: one paragraph per item, each a string or runs ``(text, style)``."""
    from pptx.enum.lang import MSO_LANGUAGE_ID

    frame.word_wrap = True
    for k, para in enumerate(paragraphs):
        p = frame.paragraphs[0] if k == 0 else frame.add_paragraph()
        for text, own in [(para, {})] if isinstance(para, str) else para:
            run = p.add_run()
            run.text = text
            run.font.size = _pt(size)
            run.font.language_id = MSO_LANGUAGE_ID.JAPANESE
            _style(run.font, {**style, **own})


def _pt(size: float):
    from pptx.util import Pt

    return Pt(size)


def _style(font, style: dict) -> None:
    from pptx.dml.color import RGBColor

    if style.get("bold"):
        font.bold = True
    if style.get("color"):
        font.color.rgb = RGBColor.from_string(style["color"].lstrip("#").upper())
    if style.get("size"):
        font.size = _pt(style["size"])


def _slide(deck: Deck, title: str):
    """A Title Only slide with ``title`` across the top and, for synthetic data, 架空データ in the corner."""
    slide = deck.prs.slides.add_slide(deck.prs.slide_layouts[5])
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = map(_inches, (MARGIN, 0.25, deck.inner - 1.3, 0.85))
    _set_text(shape.text_frame, [title], size=deck.font_size, bold=True)
    if deck.synthetic:
        box = slide.shapes.add_textbox(*map(_inches, (deck.width - MARGIN - 1.25, 0.2, 1.25, 0.4)))
        _set_text(box.text_frame, [SYNTHETIC_MARK], size=12, bold=True, color="B00000")
    return slide


def _textbox(slide, deck: Deck, top: float, height: float, lines: list[str], *, size: float = 10, **style) -> None:
    box = slide.shapes.add_textbox(*map(_inches, (MARGIN, top, deck.inner, height)))
    _set_text(box.text_frame, lines, size=size, **style)


def _title_slide(deck: Deck, analysis: Analysis, title: str) -> None:
    slide = deck.prs.slides.add_slide(deck.prs.slide_layouts[0])
    head, sub = slide.placeholders[0], slide.placeholders[1]
    head.left, head.top, head.width, head.height = map(_inches, (MARGIN, 1.9, deck.inner, 1.4))
    sub.left, sub.top, sub.width, sub.height = map(_inches, (MARGIN, 3.5, deck.inner, 2.2))
    _set_text(head.text_frame, [title], size=36, bold=True)
    lines = [analysis.codebook.survey.title, f"※{deck.note}"]
    _set_text(sub.text_frame, lines, size=18, color="444444")
    if deck.synthetic:
        box = slide.shapes.add_textbox(*map(_inches, (MARGIN, 5.9, deck.inner, 0.8)))
        _set_text(box.text_frame, [SYNTHETIC_TEXT], size=14, bold=True, color="B00000")


def _survey_slide(deck: Deck, analysis: Analysis) -> None:
    s = analysis.codebook.survey
    lines = [f"調査：{s.title}", f"実施期間：{s.fielded_from:%Y年%m月%d日}～{s.fielded_to:%Y年%m月%d日}"]
    lines += [f"回答状況：※{deck.note}", f"設問：{s.reconstruction or '調査票のとおり'}"]
    lines += [f"出典：{s.source}"] * bool(s.source)  # optional in the codebook: no empty 出典
    _textbox(_slide(deck, "調査の概要"), deck, 1.3, 5.6, lines + [SYNTHETIC_TEXT] * deck.synthetic, size=16)


def _table(slide, deck: Deck, rows: list[list], widths: list[float], *, top: float, size: float, left: float = MARGIN):
    """A native table: the first row is the header; ``widths`` in inches; cells strings or runs."""
    from pptx.util import Inches

    shape = slide.shapes.add_table(
        len(rows), len(widths), _inches(left), _inches(top), _inches(sum(widths)), _inches(0.3 * len(rows))
    )
    table = shape.table
    for k, w in enumerate(widths):
        table.columns[k].width = _inches(w)
    for i, row in enumerate(rows):
        table.rows[i].height = _inches(0.28)
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.margin_left = cell.margin_right = Inches(0.05)
            cell.margin_top = cell.margin_bottom = Inches(0.03)
            paragraphs = value if isinstance(value, list) else [str(value)]
            _set_text(cell.text_frame, paragraphs, size=size, bold=(i == 0))
    return table


def _rates_slide(deck: Deck, analysis: Analysis) -> None:
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.enum.text import PP_ALIGN

    from ppp_survey.outputs.deck_data import TextChartData

    stratum = analysis.codebook.stratum.label
    slide = _slide(deck, f"{stratum}別の回答率")
    r = analysis.rates
    rows = [[stratum, "職員数", "回答者数", "回答率（%）"]]
    rows += [[str(x.domain), f"{x.population:,}", f"{x.respondents:,}", pct(x.rate)] for x in r.itertuples()]
    table = _table(slide, deck, rows, [1.9, 1.0, 1.0, 1.1], top=1.3, size=12)
    for row in list(table.rows):
        for cell in list(row.cells)[1:]:
            cell.text_frame.paragraphs[0].alignment = PP_ALIGN.RIGHT
    data = TextChartData(number_format="0.0")
    body = r[r["domain"].astype(str) != ALL]
    data.categories = [str(d) for d in body["domain"]]
    data.add_series("回答率（%）", [float(round_half_up(100 * float(x))) for x in body["rate"]])
    left = MARGIN + 5.3
    shape = slide.shapes.add_chart(
        XL_CHART_TYPE.BAR_CLUSTERED, *map(_inches, (left, 1.2, deck.width - MARGIN - left, 5.2)), data
    )
    _bar_style(shape.chart, [BAR_COLOR], label_format="0.0", size=11)
    _textbox(slide, deck, 6.55, 0.7, [f"回答率＝回答者数／職員数。※{deck.note}"], size=10, color="444444")


def _bar_style(chart, colors: list[str], *, label_format: str, size: float, legend: bool = False) -> None:
    """Bars with value labels, categories top to bottom, no value axis or gridlines."""
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_LEGEND_POSITION

    chart.font.size = _pt(size)
    chart.has_legend = legend
    if legend:
        chart.legend.position = XL_LEGEND_POSITION.TOP
        chart.legend.include_in_layout = False
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
        labels.number_format = label_format
        labels.number_format_is_linked = False
        labels.font.size = _pt(size - 1)


def _chart_slide(deck: Deck, analysis: Analysis, chart: SectionChart, *, weighted: bool) -> None:
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION

    from ppp_survey.outputs.deck_data import TextChartData

    slide = _slide(deck, chart.heading)
    categories, series = chart_values(chart, weighted=weighted)
    data = TextChartData(number_format="0.0")
    data.categories = categories
    for name, values in series.items():
        data.add_series(name, values)
    multi = chart.item.is_multi
    kind = XL_CHART_TYPE.BAR_CLUSTERED if multi else XL_CHART_TYPE.BAR_STACKED_100
    shape = slide.shapes.add_chart(kind, *map(_inches, (MARGIN, 1.15, deck.inner, 5.25)), data)
    if multi:
        _bar_style(shape.chart, [BAR_COLOR], label_format="0.0", size=11)
        special = {c.label for c in chart.item.choices if c.other or c.exclusive}
        points = shape.chart.plots[0].series[0].points
        for k, label in enumerate(categories):
            if label in special:
                points[k].format.fill.solid()
                points[k].format.fill.fore_color.rgb = RGBColor.from_string(OFFSCALE_COLOR.lstrip("#").upper())
    else:
        colors = choice_colors(chart.item)
        _bar_style(
            shape.chart,
            [colors[c.code] for c in chart.item.choices],
            label_format=STACK_LABEL_FORMAT,
            size=11,
            legend=True,
        )
        plot = shape.chart.plots[0]
        plot.overlap = 100
        for s in plot.series:
            s.data_labels.position = XL_LABEL_POSITION.CENTER
    lines = chart_notes(analysis, chart, weighted=weighted)
    if weighted:
        lines.append("95%信頼区間は 報告書.html と集計表にある。")
    _textbox(slide, deck, 6.4, 1.0, [*lines, f"※{deck.note}"], size=9, color="444444")


def _matrix_cells(row: MatrixRow) -> list:
    """A matrix row's cells: the evidence as paragraphs, verdict (coloured) and indicator, then the value."""
    evidence: list = []
    for r in row.evidence:
        color = VERDICT_TEXT_COLORS.get(str(r["verdict"]), "222222")
        evidence += [[(f"【{r['verdict']}】", {"bold": True, "color": color}), (str(r["indicator"]), {})]]
        evidence.append(evidence_value(r))
    actions = [f"・{a}" for a in row.actions] or ["（前出の具体像の取組を参照）"]
    return [row.category, row.situation, evidence or ["-"], row.goals, actions]


def _matrix_slides(deck: Deck, policy: PolicyResult, heading: str) -> None:
    header = ["区分", "現状", "調査結果（根拠と判定）", "めざす具体像", "（参考）具体的な取組"]
    widths = [deck.inner * share for share in (0.1, 0.2, 0.3, 0.2, 0.2)]
    size = 9.0
    rows = [_matrix_cells(r) for r in matrix_rows(policy)]
    heights = [max(text_height(_plain(c), w - 0.1, size) for c, w in zip(row, widths)) + 0.08 for row in rows]
    counts = policy.evidence["verdict"].value_counts()
    tally = "、".join(f"{v}{int(counts.get(v, 0))}" for v in (SUPPORTED, NOT_SUPPORTED, UNDECIDED))
    footer = f"調査指標{len(policy.evidence)}件：{tally}（判定の見方は「調査の方法」）。出典：{policy.matrix.source}"
    for k, page in enumerate(pack(heights, 5.45)):
        title = heading if k == 0 else f"{heading}（続き）"
        slide = _slide(deck, title)
        body = [rows[i] for i in page]
        if k and not body[0][0]:  # a 区分 continued from the previous slide
            label = next(rows[i][0] for i in range(page[0], -1, -1) if rows[i][0])
            body[0] = [f"{label}（続き）", *body[0][1:]]
        _table(slide, deck, [header, *body], widths, top=1.15, size=size)
        _textbox(slide, deck, 6.85, 0.5, [footer], size=8, color="444444")


def _plain(cell) -> str:
    """A cell's text for measuring: paragraphs joined by line ends."""
    if isinstance(cell, str):
        return cell
    return "\n".join(p if isinstance(p, str) else "".join(t for t, _ in p) for p in cell)


def _change_slides(deck: Deck, changes: ChangeTable) -> None:
    """The significant changes (全体) as tables; how many indicators did not change."""
    overall, _ = change_tables(changes)
    base, new = changes.baseline_wave, changes.wave
    moved = overall[overall["判定"].isin(SIGNIFICANT) | overall["判定"].astype(str).str.endswith("（記述）")]
    header = ["設問", "選択肢・指標", f"{base}（%）", f"{new}（%）", "差（pt）", "95%信頼区間", "判定"]
    widths = [w * deck.inner / 12.5 for w in (3.4, 3.9, 0.9, 0.9, 0.9, 1.3, 1.2)]
    rows = [
        [
            str(r["設問"]),
            str(r["選択肢"]),
            number_text(r[f"{base}(%)"]),
            number_text(r[f"{new}(%)"]),
            number_text(r["差(pt)"], "+.1f"),
            f"{number_text(r['95%CI下限'], '+.1f')}～{number_text(r['95%CI上限'], '+.1f')}",
            [[(str(r["判定"]), {"bold": True, "color": CHANGE_TEXT_COLORS.get(str(r["判定"]), "222222")})]],
        ]
        for r in moved.to_dict("records")
    ]
    heights = [max(text_height(_plain(c), w - 0.1, 10) for c, w in zip(row, widths)) + 0.08 for row in rows]
    title = f"経年比較（{base}→{new}、全体）"
    same = int((overall["判定"] == "有意な変化なし").sum())
    for k, page in enumerate(pack(heights, 4.6) if rows else [[]]):
        slide = _slide(deck, title if k == 0 else f"{title}（続き）")
        if page:
            _table(slide, deck, [header, *(rows[i] for i in page)], widths, top=1.15, size=10)
        lines = [f"有意な変化なし：{same}指標。{ROUNDING_NOTE}", *changes.note.splitlines()]
        _textbox(slide, deck, 6.2, 1.1, lines, size=9, color="444444")
    _bullet_slides(deck, f"{title}（比較の方法）", [method_note(changes)])


def _bullet_slides(deck: Deck, title: str, items: list[str], *, size: float = 14) -> None:
    """Paragraphs under ``title``, on as many slides as they need."""
    heights = [text_height(t, deck.inner - 0.2, size) + size / 72 * 0.6 for t in items]
    for k, page in enumerate(pack(heights, 5.6)):
        slide = _slide(deck, title if k == 0 else f"{title}（続き）")
        _textbox(slide, deck, 1.25, 5.8, [items[i] for i in page], size=size)
        for p in slide.shapes[-1].text_frame.paragraphs:
            p.space_after = _pt(size * 0.6)


def _properties(prs, title: str, analysis: Analysis, *, synthetic: bool, when: dt.date) -> None:
    """Document properties dated the survey's last day, named for the package (not a user)."""
    core, stamp = prs.core_properties, dt.datetime(when.year, when.month, when.day)
    core.title = title + (f"（{SYNTHETIC_MARK}）" if synthetic else "")
    core.subject, core.comments = analysis.codebook.survey.title, analysis.source_note(synthetic=synthetic)
    core.author = core.last_modified_by = "ppp_survey"
    core.keywords, core.language, core.revision = (SYNTHETIC_MARK if synthetic else ""), "ja-JP", 1
    core.created = core.modified = core.last_printed = stamp


_THEME_FONTS = re.compile(r"<a:(majorFont|minorFont)>(.*?)</a:\1>", re.S)


def theme_fonts(name: str, body: bytes, font: str) -> bytes:
    """A theme part (``ppt/theme/theme1.xml``) with ``font`` for Latin, East Asian and Japanese text,
    headings and body; any other part of the package as it is."""
    if not THEME.fullmatch(name):
        return body

    def one(match: re.Match) -> str:
        body = re.sub(r'<a:latin typeface="[^"]*"', f'<a:latin typeface="{font}"', match.group(2), count=1)
        body = re.sub(r'<a:ea typeface="[^"]*"', f'<a:ea typeface="{font}"', body, count=1)
        body = re.sub(r'<a:font script="Jpan" typeface="[^"]*"', f'<a:font script="Jpan" typeface="{font}"', body)
        return f"<a:{match.group(1)}>{body}</a:{match.group(1)}>"

    return _THEME_FONTS.sub(one, body.decode("utf-8")).encode("utf-8")
