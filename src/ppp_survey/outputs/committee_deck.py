"""The committee paper's section 2 as an editable PowerPoint deck: ``報告書.pptx``.

Slides: the title, the survey note, 「調査の方法と数字の読み方」, the response rates by 職域 (table
and bars), one slide per chart 2-(1)…(7) titled with the document's heading (the paper's chart
beside a native table of its numbers) and one per table by 職域 (the paper's heatmap as a native
coloured table: :mod:`.deck_charts`), the 2-(8) matrix as native tables split to fit, the changes
since the baseline (with a :class:`~ppp_survey.compare.changes.ChangeTable`). Every number is the
one the paper prints (Analysis, policy result, change table), in the paper's plain words.

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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ppp_survey.analysis import Analysis
from ppp_survey.compare.changes import DECREASED, IMPROVED, INCREASED, WORSENED, ChangeTable
from ppp_survey.compare.trend import TrendTable
from ppp_survey.constants import ALL, Option
from ppp_survey.files import atomic_output, pin_package
from ppp_survey.outputs.captions import source_note
from ppp_survey.outputs.change_sheets import change_tables
from ppp_survey.outputs.committee_page import (
    SYNTHETIC_TEXT,
    HeatmapPlace,
    MatrixRow,
    evidence_value,
    matrix_heading,
    matrix_rows,
    method_notes,
    section_charts,
    section_title,
)
from ppp_survey.outputs.deck_charts import chart_slide, chart_values, heatmap_slide, style_bars
from ppp_survey.outputs.deck_parts import EMU, MARGIN, Deck, inches, native_table, pt, set_text, textbox, titled_slide
from ppp_survey.outputs.paper_layout import paginate
from ppp_survey.outputs.paper_tables import interval_text
from ppp_survey.outputs.paper_text import READING_TITLE, SYNTHETIC_MARK, change_verdict, number_text, plain_indicator
from ppp_survey.outputs.plots import BAR_COLOR
from ppp_survey.outputs.trend_paper import trend_slides
from ppp_survey.policy.assess import PolicyResult
from ppp_survey.policy.evidence import NOT_SUPPORTED, SUPPORTED, UNDECIDED
from ppp_survey.text import ROUNDING_NOTE, pct, round_half_up

if TYPE_CHECKING:  # annotations only
    from pptx.shapes.graphfrm import GraphicFrame

__all__ = ["DECK_NAME", "LAYOUTS", "Layout", "chart_values", "write_committee_deck"]


DECK_NAME = "報告書.pptx"


class Layout(Option, option="layout"):
    """The slide size of the deck (:func:`write_committee_deck`, and through it :func:`~ppp_survey.outputs.committee_pdf.write_committee_paper`)."""

    WIDE = "16:9"  # widescreen
    A4 = "A4"  # PowerPoint's 「A4 (210×297 mm)」


#: Slide sizes in EMU (914,400 per inch).
LAYOUTS = {Layout.WIDE: (12192000, 6858000), Layout.A4: (9906000, 6858000)}
VERDICT_TEXT_COLORS = {SUPPORTED: "38761D", NOT_SUPPORTED: "B45F06", UNDECIDED: "666666"}
CHANGE_TEXT_COLORS = {IMPROVED: "1F5F99", WORSENED: "C4532B", INCREASED: "555555", DECREASED: "555555"}
SIGNIFICANT = (IMPROVED, WORSENED, INCREASED, DECREASED)
THEME = re.compile(r"ppt/theme/theme\d+\.xml")


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


def write_committee_deck(
    path: str | Path,
    analysis: Analysis,
    policy: PolicyResult | None,
    *,
    synthetic: bool,
    layout: Layout | str = Layout.WIDE,
    changes: ChangeTable | None = None,
    weighted: bool = False,
    font: str = "游ゴシック",
    heatmaps: HeatmapPlace | str = HeatmapPlace.AFTER,
    trends: TrendTable | None = None,
) -> Path:
    """Write the deck (see the module's docstring) to ``path`` atomically; return the path.

    ``layout`` is ``"16:9"`` or ``"A4"``; ``font`` the typeface the theme names for every text
    (Japanese and Latin). ``policy`` ``None`` leaves the matrix out. ``heatmaps``: each table by
    職域 after its chart (``"after"``) or all of them at the end (``"appendix"``), as the paper.
    """
    from pptx import Presentation

    layout, heatmaps = Layout(layout), HeatmapPlace(heatmaps)
    prs = Presentation()
    _resize(prs, *LAYOUTS[layout])
    note = source_note(analysis, synthetic=synthetic)
    deck = Deck(prs, LAYOUTS[layout][0] / EMU, synthetic, note, 20 if layout is Layout.A4 else 24)
    charts = section_charts(analysis)
    _title_slide(deck, analysis, section_title(charts))
    _survey_slide(deck, analysis)
    notes = method_notes(analysis, policy, note, synthetic=synthetic, weighted=weighted, changes=changes)
    _bullet_slides(deck, READING_TITLE, [f"{h}：{t}" for h, t in notes], size=12)
    _rates_slide(deck, analysis)
    for chart in charts:
        chart_slide(deck, analysis, chart, weighted=weighted)
        if heatmaps is HeatmapPlace.AFTER:
            heatmap_slide(deck, analysis, chart, weighted=weighted)
    if policy is not None:
        _matrix_slides(deck, policy, matrix_heading(charts, policy.matrix))
    if changes is not None:
        _change_slides(deck, changes)
    if trends is not None:
        trend_slides(deck, trends, analysis.source_codebook or analysis.codebook)
    if heatmaps is HeatmapPlace.APPENDIX:
        for chart in charts:
            heatmap_slide(deck, analysis, chart, weighted=weighted)
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


def _title_slide(deck: Deck, analysis: Analysis, title: str) -> None:
    slide = deck.prs.slides.add_slide(deck.prs.slide_layouts[0])
    head, sub = slide.placeholders[0], slide.placeholders[1]
    head.left, head.top, head.width, head.height = map(inches, (MARGIN, 1.9, deck.inner, 1.4))
    sub.left, sub.top, sub.width, sub.height = map(inches, (MARGIN, 3.5, deck.inner, 2.2))
    set_text(head.text_frame, [title], size=36, bold=True)
    lines = [analysis.codebook.survey.title, f"※{deck.note}"]
    set_text(sub.text_frame, lines, size=18, color="444444")
    if deck.synthetic:
        box = slide.shapes.add_textbox(*map(inches, (MARGIN, 5.9, deck.inner, 0.8)))
        set_text(box.text_frame, [SYNTHETIC_TEXT], size=14, bold=True, color="B00000")


def _survey_slide(deck: Deck, analysis: Analysis) -> None:
    s = analysis.codebook.survey
    lines = [f"調査：{s.title}", f"実施期間：{s.fielded_from:%Y年%m月%d日}～{s.fielded_to:%Y年%m月%d日}"]
    lines += [f"回答状況：※{deck.note}", f"設問：{s.reconstruction or '調査票のとおり'}"]
    lines += [f"出典：{s.source}"] * bool(s.source)  # optional in the codebook: no empty 出典
    textbox(titled_slide(deck, "調査の概要"), deck, 1.3, 5.6, lines + [SYNTHETIC_TEXT] * deck.synthetic, size=16)


def _rates_slide(deck: Deck, analysis: Analysis) -> None:
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.enum.text import PP_ALIGN

    from ppp_survey.outputs.deck_data import TextChartData

    stratum = analysis.codebook.stratum.label
    slide = titled_slide(deck, f"{stratum}別の回答率")
    r = analysis.rates
    rows = [[stratum, "職員数", "回答者数", "回答率（%）"]]
    rows += [[str(x.domain), f"{x.population:,}", f"{x.respondents:,}", pct(x.rate)] for x in r.itertuples()]
    table = native_table(slide, deck, rows, [1.9, 1.0, 1.0, 1.1], top=1.3, size=12)
    for row in list(table.rows):
        for cell in list(row.cells)[1:]:
            cell.text_frame.paragraphs[0].alignment = PP_ALIGN.RIGHT
    data = TextChartData(number_format="0.0")
    body = r[r["domain"].astype(str) != ALL]
    data.categories = [str(d) for d in body["domain"]]
    data.add_series("回答率（%）", [float(round_half_up(100 * float(x))) for x in body["rate"]])
    left = MARGIN + 5.3
    # python-pptx's annotation of add_chart names ChartData (it takes any chart data) and returns a
    # Chart (it returns the GraphicFrame that holds the chart)
    add_chart = cast("Callable[..., GraphicFrame]", slide.shapes.add_chart)
    frame = add_chart(XL_CHART_TYPE.BAR_CLUSTERED, *map(inches, (left, 1.2, deck.width - MARGIN - left, 5.2)), data)
    style_bars(frame.chart, [BAR_COLOR], legend=False)
    textbox(slide, deck, 6.55, 0.7, [f"回答率＝回答者数／職員数。※{deck.note}"], size=10, color="444444")


def _matrix_cells(row: MatrixRow) -> list:
    """A matrix row's cells: the evidence as paragraphs, verdict (coloured) and indicator, then the value."""
    evidence: list = []
    for r in row.evidence:
        color = VERDICT_TEXT_COLORS.get(str(r["verdict"]), "222222")
        evidence += [
            [(f"【{r['verdict']}】", {"bold": True, "color": color}), (plain_indicator(str(r["indicator"])), {})]
        ]
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
    footer = (
        f"調査指標{len(policy.evidence)}件：{tally}（判定の見方は「{READING_TITLE}」）。出典：{policy.matrix.source}"
    )
    for k, page in enumerate(paginate(heights, 5.45)):
        title = heading if k == 0 else f"{heading}（続き）"
        slide = titled_slide(deck, title)
        body = [rows[i] for i in page]
        if k and not body[0][0]:  # a 区分 continued from the previous slide
            label = next(rows[i][0] for i in range(page[0], -1, -1) if rows[i][0])
            body[0] = [f"{label}（続き）", *body[0][1:]]
        native_table(slide, deck, [header, *body], widths, top=1.15, size=size)
        textbox(slide, deck, 6.85, 0.5, [footer], size=8, color="444444")


def _plain(cell) -> str:
    """A cell's text for measuring: paragraphs joined by line ends."""
    if isinstance(cell, str):
        return cell
    return "\n".join(p if isinstance(p, str) else "".join(t for t, _ in p) for p in cell)


def _change_slides(deck: Deck, changes: ChangeTable) -> None:
    """The significant changes (全体) as tables; how many indicators did not change."""
    overall, _ = change_tables(changes)
    base, new = changes.baseline_wave, changes.wave
    descriptive = overall["判定"].astype(str).map(change_verdict) != overall["判定"].astype(str)  # 回答率: counted
    moved = overall[
        overall["判定"].isin(SIGNIFICANT) | (descriptive & ~overall["判定"].astype(str).str.startswith("変化なし"))
    ]
    header = ["設問", "選択肢・指標", f"{base}（%）", f"{new}（%）", "差（ポイント）", "差の95%の区間", "判定"]
    widths = [w * deck.inner / 12.5 for w in (3.4, 3.9, 0.9, 0.9, 0.9, 1.3, 1.2)]
    rows = [
        [
            str(r["設問"]),
            str(r["選択肢"]),
            number_text(r[f"{base}(%)"]),
            number_text(r[f"{new}(%)"]),
            number_text(r["差(pt)"], "+.1f"),
            interval_text(r["95%CI下限"], r["95%CI上限"]),
            [
                [
                    (
                        change_verdict(str(r["判定"])),
                        {"bold": True, "color": CHANGE_TEXT_COLORS.get(change_verdict(str(r["判定"])), "222222")},
                    )
                ]
            ],
        ]
        for r in moved.to_dict("records")
    ]
    heights = [max(text_height(_plain(c), w - 0.1, 10) for c, w in zip(row, widths)) + 0.08 for row in rows]
    title = f"経年比較（{base}→{new}、全体）"
    same = int((overall["判定"] == "有意な変化なし").sum())
    for k, page in enumerate(paginate(heights, 4.6) if rows else [[]]):
        slide = titled_slide(deck, title if k == 0 else f"{title}（続き）")
        if page:
            native_table(slide, deck, [header, *(rows[i] for i in page)], widths, top=1.15, size=10)
        lines = [
            f"有意な変化なし：{same}指標。判定の見方は「{READING_TITLE}」。{ROUNDING_NOTE}",
            *changes.note.splitlines(),
        ]
        textbox(slide, deck, 6.2, 1.1, lines, size=9, color="444444")


def _bullet_slides(deck: Deck, title: str, items: list[str], *, size: float = 14) -> None:
    """Paragraphs under ``title``, on as many slides as they need."""
    heights = [text_height(t, deck.inner - 0.2, size) + size / 72 * 0.6 for t in items]
    for k, page in enumerate(paginate(heights, 5.6)):
        slide = titled_slide(deck, title if k == 0 else f"{title}（続き）")
        box = textbox(slide, deck, 1.25, 5.8, [items[i] for i in page], size=size)
        for p in box.text_frame.paragraphs:
            p.space_after = pt(size * 0.6)


def _properties(prs, title: str, analysis: Analysis, *, synthetic: bool, when: dt.date) -> None:
    """Document properties dated the survey's last day, named for the package (not a user)."""
    core, stamp = prs.core_properties, dt.datetime(when.year, when.month, when.day)
    core.title = title + (f"（{SYNTHETIC_MARK}）" if synthetic else "")
    core.subject, core.comments = analysis.codebook.survey.title, source_note(analysis, synthetic=synthetic)
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
