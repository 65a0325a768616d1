"""The committee paper's section 2 as one page: ``報告書.html`` (:mod:`.committee_pdf` prints it).

The page follows section 2 of the committee document (「今後の官民連携の取組について」): the title
「2 職員意識調査の結果」, the survey note, a contents list with page numbers and the response rates
by 職域 on the first page; 「調査の方法と数字の読み方」 (what the percentages, the intervals, 参考値
and the marks mean, in plain words: :mod:`.paper_text`); each chart under its heading （1）…（7）
(the codebook's number 2-(k) and label), each on a page of its own and drawn to the height the page
leaves it, followed by its table by 職域 (the heatmap; or all of them in an appendix,
``heatmaps="appendix"``); the 2-(8) matrix with the survey evidence and its verdicts; with a
:class:`~ppp_survey.compare.changes.ChangeTable`, the changes since the baseline. A chart's title and
notes are printed once, on the page (the chart is drawn without them). Every number comes from the
:class:`~ppp_survey.analysis.Analysis` (groups already pooled for anonymity), the
:class:`~ppp_survey.policy.assess.PolicyResult` or the change table: nothing is estimated here. The
section's parts (charts and headings, notes, matrix rows) are shared with the deck
(:mod:`.committee_deck`), so both print the same words and numbers. Every part is cut into pages
before printing (:mod:`.paper_layout`, :mod:`.paper_tables`), so the contents list knows its pages.

The page is one file: charts inline as SVG images (text drawn as outlines, so they need no font),
a subset of IPAexGothic embedded for the text (:func:`~.matrix_page.embedded_font_css`; DejaVu Sans
for the few characters it lacks), no script, no external resource; the same results give the same
bytes. Its print CSS lays it out on A4 portrait: page numbers and (for synthetic data) 架空データ in
the margins of every page (CSS margin boxes: Chromium / Edge 131 or later).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ppp_survey.analysis import Analysis
from ppp_survey.compare.changes import ChangeTable
from ppp_survey.compare.trend import TrendTable
from ppp_survey.constants import ALL, Option
from ppp_survey.files import atomic_output
from ppp_survey.outputs.captions import pooling_note, source_note
from ppp_survey.outputs.chart_layout import method_text as chart_method_text
from ppp_survey.outputs.heatmaps import bracketed
from ppp_survey.outputs.matrix_page import MATRIX_NUMBERS_NOTE, embedded_font_css, font_face_css
from ppp_survey.outputs.paper_layout import CHART_PAGE_CSS, chart_page, figure_svg
from ppp_survey.outputs.paper_tables import Pages, change_notes, change_pages, matrix_pages
from ppp_survey.outputs.paper_text import (
    READING_TITLE,
    SYNTHETIC_MARK,
    evidence_lines,
    heatmap_notes,
    reading_notes,
)
from ppp_survey.outputs.trend_paper import trend_page
from ppp_survey.policy.assess import PolicyResult
from ppp_survey.spec.codebook import Item
from ppp_survey.spec.matrix import PolicyMatrix
from ppp_survey.text import ROUNDING_NOTE, pct

if TYPE_CHECKING:  # annotations only
    from matplotlib.axes import Axes

__all__ = [
    "HTML_NAME",
    "HeatmapPlace",
    "MatrixRow",
    "SectionChart",
    "committee_html",
    "matrix_rows",
    "section_charts",
    "write_committee_html",
]

HTML_NAME = "報告書.html"
SECTION_TITLE = "職員意識調査の結果"
FALLBACK_POSTSCRIPT = "PPP-DejaVuSans"  # the PostScript name of the embedded fallback font
SYNTHETIC_TEXT = (
    "【架空データ】この資料の数値は架空のデータ（ppp_survey の合成データ、または例示の職員数で重み付けしたデータ）"
    "によるもので、実際の調査結果ではない。"
)
_NUMBER = re.compile(r"\s*(\d+)\s*-\s*\(\s*(\d+)\s*\)\s*")


class HeatmapPlace(Option, option="heatmaps"):
    """Where the paper's tables by 職域 (heatmaps) go (``--heatmaps``)."""

    AFTER = "after"  # each after its chart
    APPENDIX = "appendix"  # all together in an appendix


APPENDIX_TITLE = "付録　職域別の表"


# ------------------------------------------------------------------------------- the section


@dataclass(frozen=True)
class SectionChart:
    """One chart of section 2: the question, its place ``k`` (2-(k)), its heading as the document
    prints it (「（1）官民連携の重要性」) and the tally the chart draws (全体 then each 職域 for a
    single-answer question; 全体 for a multi-select one)."""

    item: Item
    section: str
    k: int
    heading: str
    table: pd.DataFrame


def section_charts(analysis: Analysis) -> list[SectionChart]:
    """The charts of section 2, one per question, none left out: numbered as the document numbers
    them when every question's ``number`` reads ``S-(k)`` (headed 「（k）label」, in k's order);
    otherwise in the codebook's order, headed with the question's own number (「問3 label」) or,
    without one, its position (「（3）label」)."""
    stratum = analysis.codebook.stratum.id
    questions = analysis.questions
    matches = [_NUMBER.fullmatch(q.number) for q in questions]
    documented = bool(questions) and all(matches)
    charts = []
    for position, (q, match) in enumerate(zip(questions, matches), start=1):
        table = analysis.tally(q.id) if q.is_multi else analysis.tally(q.id, by=stratum)
        if documented and match:
            k = int(match.group(2))
            charts.append(SectionChart(q, match.group(1), k, f"（{k}）{q.label}", table))
            continue
        heading = f"{q.number.strip()} {q.label}" if q.number.strip() else f"（{position}）{q.label}"
        charts.append(SectionChart(q, "", position, heading, table))
    return sorted(charts, key=lambda c: c.k) if documented else charts


def section_title(charts: list[SectionChart]) -> str:
    """「2 職員意識調査の結果」: the section number of the charts' numbering, then the title."""
    return f"{charts[0].section} {SECTION_TITLE}" if charts and charts[0].section else SECTION_TITLE


def matrix_heading(charts: list[SectionChart], matrix: PolicyMatrix) -> str:
    """The matrix's heading, numbered after the last chart as the document does: 「（8）…」."""
    k = max((c.k for c in charts), default=0) + 1
    return f"（{k}）{matrix.title}"


def base_text(table: pd.DataFrame) -> str:
    """'n = 1,321（無回答19人を除く）': the base of the 全体 row of a tally."""
    first = table.iloc[0]
    text = f"n = {int(first['base_n']):,}"
    if int(first["no_answer_n"]):
        text += f"（無回答{int(first['no_answer_n']):,}人を除く）"
    return text


def method_text(weighted: bool, *, whiskers: bool = False) -> str:
    """What a chart's numbers are, as its footer says (:func:`.chart_layout.method_text`)."""
    return chart_method_text(weighted, whiskers=whiskers) + "。"


def chart_notes(analysis: Analysis, chart: SectionChart, *, weighted: bool) -> list[str]:
    """The lines under a chart: base, what the numbers are, how they add up, pooled groups (the
    source note is in the chart's own footer and at the head of the page)."""
    stratum = analysis.codebook.stratum.label
    lines = [f"{base_text(chart.table)}　{method_text(weighted, whiskers=chart.item.is_multi)}"]
    if chart.item.is_multi:
        lines.append("複数回答のため、合計は100%を超える。")
    else:
        lines.append(f"全体と{stratum}別（各行の n はその行の基数）。{ROUNDING_NOTE}")
        pooled = pooling_note(analysis.pools, analysis.codebook, analysis.min_group)
        if pooled:
            lines.append(pooled)
    return lines


def draw_chart(chart: SectionChart, *, weighted: bool, note: str = "", bare: bool = False, height=None) -> Axes:
    """The report's chart of this question (``2-0k_….png``): stacked bars by 職域, or ranked bars;
    ``bare`` and ``height`` as :func:`.plots.plot_stacked` has them (the paper's page)."""
    from ppp_survey.outputs import plots

    draw = plots.plot_multi if chart.item.is_multi else plots.plot_stacked
    return draw(chart.table, chart.item, weighted=weighted, note=note, bare=bare, height=height)


def draw_heatmap(analysis: Analysis, chart: SectionChart, *, weighted: bool, bare: bool = False, height=None) -> Axes:
    """The chart's table by 職域 (``2-0k_…_職域別.png``): a row per choice, 全体 and each 職域."""
    from ppp_survey.outputs.heatmaps import plot_heatmap

    crosstab = analysis.crosstabs[(chart.item.id, analysis.codebook.stratum.id)]
    overall = analysis.tally(chart.item.id)
    return plot_heatmap(crosstab, weighted=weighted, overall=overall, bare=bare, height=height)


def heatmap_heading(analysis: Analysis, chart: SectionChart) -> str:
    """「（5）連携するにあたって難しいと思う点（複数選択可、職域別）」: one pair of brackets."""
    return bracketed(chart.heading, f"{analysis.codebook.stratum.label}別")


def heatmap_page_notes(analysis: Analysis, chart: SectionChart, *, weighted: bool, note: str) -> list[str]:
    """The lines under a heatmap in plain words (:func:`.paper_text.heatmap_notes`) and the source."""
    crosstab = analysis.crosstabs[(chart.item.id, analysis.codebook.stratum.id)]
    held = bool(crosstab.cells.get("suppressed", pd.Series(dtype=bool)).any())
    by = analysis.codebook.stratum.label
    lines = heatmap_notes(
        crosstab, by=by, base=base_text(analysis.tally(chart.item.id)), numbers=method_text(weighted), held=held
    )
    return [*lines, f"※{note}"]


# ----------------------------------------------------------------------------------- the page

_CSS = """
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
html { font-family: "PPP IPAexGothic", "PPP DejaVu Sans", "IPAexGothic", "Yu Gothic", "Meiryo", sans-serif; font-size: 10.5pt;
  line-height: 1.5; color: #222; }
body { margin: 0 auto; padding: 12mm 14mm; max-width: 210mm; }
h1 { font-size: 16pt; margin: 0 0 8pt; padding-bottom: 3pt; border-bottom: 2px solid #1f5f99; }
h2 { font-size: 12.5pt; margin: 0 0 6pt; break-after: avoid; }
section { margin-top: 9mm; }
.note { font-size: 8.5pt; color: #444; margin: 2pt 0; }
.survey { font-size: 10.5pt; margin: 4pt 0 8pt; }
.synthetic { color: #b00; font-weight: bold; border: 1px solid #b00; padding: 3pt 6pt; margin: 6pt 0; }
figure { margin: 0; break-inside: avoid; }
figure img { display: block; width: 100%; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; max-width: 100%; table-layout: fixed; font-size: 8.5pt; }
table.rates { width: 70%; font-size: 9.5pt; }
th, td { border: 1px solid #999; padding: 2pt 4pt; vertical-align: top; text-align: left; word-break: keep-all; overflow-wrap: anywhere; }
th { background: #ddebf7; } td.cat { background: #f3f3f3; font-weight: bold; }
tr:has(+ tr > td.cont) > td.cat { border-bottom-color: #f3f3f3; }
td.num, th.num { text-align: right; } tr.total td { font-weight: bold; background: #f7f7f7; }
tr.question td { background: #f3f3f3; font-weight: bold; }
thead { display: table-header-group; } tr { break-inside: avoid; }
td ul { margin: 0; padding-left: 1.1em; } td li { margin: 0; }
.ev { margin: 0 0 2pt; padding: 2pt 3pt; border-radius: 2pt; }
.verdict { font-weight: bold; } .legend span { padding: 1pt 6pt; margin-right: 4pt; border-radius: 2pt; }
ul.notes { padding-left: 1.2em; font-size: 9pt; } ul.notes li { margin-bottom: 3pt; break-inside: avoid; }
ol.contents { list-style: none; padding: 0; margin: 0 0 6pt; font-size: 9.5pt; }
ol.contents li { display: flex; gap: 4pt; } ol.contents li .dots { flex: 1; border-bottom: 1px dotted #999; margin-bottom: 4pt; }
ol.contents li.sub { padding-left: 1.5em; font-size: 9pt; color: #444; }
ol.contents a { color: inherit; text-decoration: none; }
@media print {
  body { padding: 0; max-width: none; }
  section { margin-top: 6mm; }
}
""".strip()


def _page_css(title: str, *, synthetic: bool) -> str:
    """A4 portrait; page number at the foot and 架空データ at the head of every printed page."""
    font = 'font-family: "PPP IPAexGothic", "PPP DejaVu Sans", sans-serif; font-size: 8.5pt; color: #555;'
    mark = (
        f'  @top-right {{ content: "{SYNTHETIC_MARK}"; {font} color: #b00; font-weight: bold; }}\n' if synthetic else ""
    )
    return (
        "@page {\n  size: A4 portrait; margin: 15mm 14mm 15mm 14mm;\n"
        f'  @top-left {{ content: "{title}"; {font} }}\n{mark}'
        f'  @bottom-center {{ content: counter(page) " / " counter(pages); {font} }}\n}}'
    )


def committee_html(
    analysis: Analysis,
    policy: PolicyResult | None,
    *,
    synthetic: bool,
    changes: ChangeTable | None = None,
    weighted: bool = False,
    heatmaps: HeatmapPlace | str = HeatmapPlace.AFTER,
    trends: TrendTable | None = None,
) -> str:
    """Section 2 of the committee paper as one self-contained HTML page (see the module's docstring).

    ``policy`` ``None`` leaves the matrix out (a codebook the packaged matrix does not fit);
    ``weighted`` draws the design-based estimates, as the report's ``--weighted``; ``heatmaps``
    puts each table by 職域 after its chart (``"after"``) or all of them in an appendix; ``trends`` (a
    run with ``--history``) adds the 経年変化 page.
    """
    heatmaps = HeatmapPlace(heatmaps)
    note = source_note(analysis, synthetic=synthetic)
    charts = section_charts(analysis)
    title = section_title(charts)
    parts: list[tuple[str, str, Pages, bool]] = []  # (anchor, contents entry, pages, indented)
    reading = _reading_section(analysis, policy, changes, note, synthetic=synthetic, weighted=weighted)
    parts.append(("reading", READING_TITLE, Pages(reading, 1), False))
    tables = []
    for c in charts:
        parts.append((f"chart-{c.k}", c.heading, Pages(_chart_page(analysis, c, weighted, note), 1), False))
        table = (f"heatmap-{c.k}", heatmap_heading(analysis, c), Pages(_heatmap_page(analysis, c, weighted, note), 1))
        if heatmaps is HeatmapPlace.AFTER:
            parts.append((*table, True))
        else:
            tables.append((*table, True))
    if policy is not None:
        heading = matrix_heading(charts, policy.matrix)
        notes = [
            MATRIX_NUMBERS_NOTE,
            "判定の見方は「調査の方法と数字の読み方」にある。",
            f"出典：{policy.matrix.source}",
        ]
        parts.append(("matrix", heading, matrix_pages(policy, heading, matrix_rows(policy), notes), False))
    if changes is not None:
        heading = f"経年比較（{changes.baseline_wave}→{changes.wave}、全体）"
        parts.append(("changes", heading, change_pages(changes, heading, change_notes(changes)), False))
    if trends is not None:
        anchor, heading, page = trend_page(trends, analysis.source_codebook or analysis.codebook)
        parts.append((anchor, heading, Pages(page, 1), False))
    if tables:  # a page naming the appendix, then the tables
        lead = f'<section class="page appendix" id="appendix"><h2>{html.escape(APPENDIX_TITLE)}</h2></section>'
        parts.append(("appendix", APPENDIX_TITLE, Pages(lead, 1), False))
        parts += tables
    body = "\n".join(
        [_front(analysis, title, note, parts, synthetic=synthetic), *(p.html for _, _, p, _ in parts if p.html)]
    )
    body += "\n"
    page_css = _page_css(title, synthetic=synthetic)
    shown = html.unescape(title + re.sub(r"<[^>]+>", "", body)) + SYNTHETIC_MARK + "0123456789 /"
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{embedded_font_css(shown)}\n{fallback_font_css(shown)}"
        f"{page_css}\n{_CSS}\n{CHART_PAGE_CSS}\n</style>\n"
        f"</head>\n<body>\n{body}</body>\n</html>\n"
    )


def _chart_page(analysis: Analysis, chart: SectionChart, weighted: bool, note: str) -> str:
    """A chart's page: its heading, the chart (no title, no footer) filling the page, its notes."""
    notes = [*chart_notes(analysis, chart, weighted=weighted), f"※{note}"]
    svg = figure_svg(lambda h: draw_chart(chart, weighted=weighted, bare=True, height=h), notes)
    kind = "複数回答の横棒グラフ" if chart.item.is_multi else "全体と職域別の100%積み上げ横棒グラフ"
    return chart_page(f"chart-{chart.k}", chart.heading, f"{chart.heading}（{kind}）", svg, notes)


def _heatmap_page(analysis: Analysis, chart: SectionChart, weighted: bool, note: str) -> str:
    heading = heatmap_heading(analysis, chart)
    notes = heatmap_page_notes(analysis, chart, weighted=weighted, note=note)
    svg = figure_svg(lambda h: draw_heatmap(analysis, chart, weighted=weighted, bare=True, height=h), notes)
    return chart_page(f"heatmap-{chart.k}", heading, f"{heading}（表）", svg, notes)


def fallback_font_css(text: str) -> str:
    """An ``@font-face`` rule (and a line end) carrying, from DejaVu Sans (bundled with matplotlib),
    the characters of ``text`` that IPAexGothic lacks (subscript digits of a formula, say), so that
    no character of the page depends on the fonts of the machine that shows it; '' when there are
    none. DejaVu Sans: Bitstream Vera licence, which permits embedding."""
    import matplotlib
    from fontTools.ttLib import TTFont

    from ppp_survey.outputs.plots import font_path

    have = TTFont(str(font_path()), lazy=True).getBestCmap()
    lacking = "".join(sorted({ch for ch in text if ord(ch) not in have and not ch.isspace()}))
    if not lacking:
        return ""
    rule = font_face_css(
        Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf",
        lacking,
        family="PPP DejaVu Sans",
        licence="DejaVu Sans (subset), Bitstream Vera Fonts licence: https://dejavu-fonts.github.io/License.html",
        drop_tables=("FFTM",),  # FontForge's timestamps
        postscript_name=FALLBACK_POSTSCRIPT,  # a PDF names it PPP-DejaVuSans: never the machine's DejaVu Sans
    )
    return rule + "\n"


def _front(analysis: Analysis, title: str, note: str, parts, *, synthetic: bool) -> str:
    """The first page: the title, the survey note (as the document prints it, 「※R7.7.18～31実施 …」),
    the contents list (each part's first page: the parts follow this page, one after the other)
    and the response rates by 職域."""
    e = html.escape
    stratum = analysis.codebook.stratum.label
    rows = []
    for r in analysis.rates.itertuples():
        css = ' class="total"' if str(r.domain) == ALL else ""
        rows.append(
            f'<tr{css}><td>{e(str(r.domain))}</td><td class="num">{int(r.population):,}</td>'
            f'<td class="num">{int(r.respondents):,}</td><td class="num">{pct(r.rate)}</td></tr>'
        )
    entries, page = [], 2
    for anchor, entry, pages, indented in parts:
        css = ' class="sub"' if indented else ""
        entries.append(f'<li{css}><a href="#{anchor}">{e(entry)}</a><span class="dots"></span><span>{page}</span></li>')
        page += pages.count
    synth = f'<p class="synthetic">{e(SYNTHETIC_TEXT)}</p>\n' if synthetic else ""
    return (
        f"<header>\n<h1>{e(title)}</h1>\n{synth}"
        f'<p class="survey">※{e(note)}</p>\n</header>\n'
        f'<nav>\n<h2>目次</h2>\n<ol class="contents">\n' + "\n".join(entries) + "\n</ol>\n</nav>\n"
        f"<section>\n<h2>{e(stratum)}別の回答率</h2>\n"
        f'<table class="rates">\n<thead><tr><th>{e(stratum)}</th><th class="num">職員数</th>'
        '<th class="num">回答者数</th><th class="num">回答率（%）</th></tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + f'\n</tbody>\n</table>\n<p class="note">回答率＝回答者数／職員数。{e(ROUNDING_NOTE)}</p>\n</section>'
    )


@dataclass(frozen=True)
class MatrixRow:
    """One 現状 of the 2-(8) matrix as the page and the deck print it: its 区分 (on the first row of
    each 区分 only, as the document prints it), the evidence (rows of the evidence table), the
    具体像 it leads to (「（前出）」 after one shown above) and their 取組 (「（再掲）」 where the
    document repeats one; none when every 具体像 was shown above)."""

    category: str
    situation: str
    evidence: list[dict]
    goals: list[str]
    actions: list[str]


def matrix_rows(policy: PolicyResult) -> list[MatrixRow]:
    """The matrix's rows in the document's order (see :class:`MatrixRow`)."""
    matrix = policy.matrix
    by_situation = {sid: t.to_dict("records") for sid, t in policy.evidence.groupby("situation_id", sort=False)}
    printed: set[str] = set()
    rows = []
    for cat in matrix.categories:
        for k, s in enumerate(x for x in matrix.situation_list if x.category == cat.id):
            goals, actions = [], []
            for gid in s.goals:
                text = matrix.goal(gid).text
                goals.append(f"{text}（前出）" if gid in printed else text)
                if gid not in printed:
                    printed.add(gid)
                    listed = [x for x in matrix.initiative_list if gid in x.goals]
                    actions += [f"{x.text}{'（再掲）' if x.goals[0] != gid else ''}" for x in listed]
            evidence = by_situation.get(s.id, [])
            rows.append(MatrixRow(cat.label if k == 0 else "", s.text, evidence, goals, list(dict.fromkeys(actions))))
    return rows


def evidence_value(r: dict) -> str:
    """An indicator's value line in plain words: '39.2%（95%の区間 37.0～41.3%）、回答者1,326人　目安：30%以上'
    (a group first where an every-group rule names it: :func:`.paper_text.evidence_lines`)."""
    return evidence_lines(r)[1]


def method_notes(
    analysis: Analysis,
    policy: PolicyResult | None,
    note: str,
    *,
    synthetic: bool,
    weighted: bool,
    changes: ChangeTable | None = None,
) -> list[tuple[str, str]]:
    """(heading, text) of 「調査の方法と数字の読み方」 in plain words (:func:`.paper_text.reading_notes`)."""
    s = analysis.codebook.survey
    return reading_notes(
        survey=f"{s.title}（{s.fielded_from:%Y年%m月%d日}～{s.fielded_to:%Y年%m月%d日}）",
        note=note,
        weighted=weighted,
        min_group=analysis.min_group,
        pooled=pooling_note(analysis.pools, analysis.codebook, analysis.min_group),
        matrix=policy is not None,
        changes=changes is not None,
        source=s.source,  # optional in the codebook (the draft leaves it ""): no empty 出典
        synthetic_text=SYNTHETIC_TEXT if synthetic else "",
    )


def _reading_section(analysis, policy, changes, note: str, *, synthetic: bool, weighted: bool) -> str:
    e = html.escape
    notes = method_notes(analysis, policy, note, synthetic=synthetic, weighted=weighted, changes=changes)
    items = "".join(f"<li><b>{e(h)}</b>：{e(t)}</li>" for h, t in notes)
    return f'<section class="page method" id="reading">\n<h2>{e(READING_TITLE)}</h2>\n<ul class="notes">{items}</ul>\n</section>'


def write_committee_html(
    path: str | Path,
    analysis: Analysis,
    policy: PolicyResult | None,
    *,
    synthetic: bool,
    changes: ChangeTable | None = None,
    weighted: bool = False,
    heatmaps: HeatmapPlace | str = HeatmapPlace.AFTER,
    trends: TrendTable | None = None,
) -> Path:
    """Write :func:`committee_html` to ``path`` (UTF-8, LF, atomically); return the path."""
    path = Path(path)
    page = committee_html(
        analysis, policy, synthetic=synthetic, changes=changes, weighted=weighted, heatmaps=heatmaps, trends=trends
    )
    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8", newline="\n")
    return path
