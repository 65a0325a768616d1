"""The committee paper's section 2 as one page: ``報告書.html`` (:mod:`.committee_pdf` prints it).

The page follows section 2 of the committee document (「今後の官民連携の取組について」): the title
「2 職員意識調査の結果」, the survey note, the response rates by 職域, each chart under its heading
（1）…（7） (the codebook's number 2-(k) and label: the chart is the report's ``2-0k_….png``), the
2-(8) matrix with the survey evidence and its verdicts, and the method and anonymity notes; with a
:class:`~ppp_survey.compare.changes.ChangeTable`, a section on the changes since the baseline. Every
number comes from the :class:`~ppp_survey.analysis.Analysis` (groups already pooled for anonymity),
the :class:`~ppp_survey.policy.assess.PolicyResult` or the change table: nothing is estimated here.
The section's parts (charts and headings, notes, matrix rows) are shared with the deck
(:mod:`.committee_deck`), so both print the same words and numbers.

The page is one file: charts inline as SVG images (text drawn as outlines, so they need no font),
a subset of IPAexGothic embedded for the text (:func:`~.matrix_page.embedded_font_css`; DejaVu Sans
for the few characters it lacks), no script, no external resource; the same results give the same
bytes. Its print CSS lays it out on A4 portrait: each chart on a page of its own, table rows never
split, table headers repeated, page numbers and (for synthetic data) 架空データ in the margins of
every page (CSS margin boxes: Chromium / Edge 131 or later).
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ppp_survey.analysis import Analysis
from ppp_survey.compare.changes import ChangeTable
from ppp_survey.constants import ALL
from ppp_survey.files import atomic_output
from ppp_survey.outputs.change_charts import VERDICT_COLORS as CHANGE_COLORS
from ppp_survey.outputs.change_sheets import change_tables, method_note
from ppp_survey.outputs.chart_layout import WEIGHTED_NUMBERS
from ppp_survey.outputs.chart_layout import method_text as chart_method_text
from ppp_survey.outputs.matrix_page import MATRIX_NUMBERS_NOTE, embedded_font_css, font_face_css
from ppp_survey.outputs.matrix_sheets import INTERPRETATION_NOTE, VERDICT_COLORS, VERDICT_NOTE, ci_text, value_text
from ppp_survey.outputs.survey_sheets import BASE_NOTE
from ppp_survey.policy.assess import PolicyResult
from ppp_survey.spec.codebook import Item
from ppp_survey.spec.matrix import PolicyMatrix
from ppp_survey.survey.tables import design_note
from ppp_survey.text import ROUNDING_NOTE, pct, signed

__all__ = [
    "HTML_NAME",
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
SYNTHETIC_MARK = "架空データ"
SYNTHETIC_TEXT = (
    "【架空データ】この資料の数値は ppp_survey に同梱の合成データ（架空データ）によるもので、実際の調査結果ではない。"
)
_NUMBER = re.compile(r"\s*(\d+)\s*-\s*\(\s*(\d+)\s*\)\s*")


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
    """The charts of section 2 in the document's order: every question numbered ``S-(k)`` in the
    codebook (``number``), headed 「（k）label」."""
    stratum = analysis.codebook.stratum.id
    charts = []
    for q in analysis.questions:
        match = _NUMBER.fullmatch(q.number)
        if not match:
            continue
        table = analysis.tally(q.id) if q.is_multi else analysis.tally(q.id, by=stratum)
        k = int(match.group(2))
        charts.append(SectionChart(q, match.group(1), k, f"（{k}）{q.label}", table))
    return sorted(charts, key=lambda c: c.k)


def section_title(charts: list[SectionChart]) -> str:
    """「2 職員意識調査の結果」: the section number of the charts' numbering, then the title."""
    return f"{charts[0].section} {SECTION_TITLE}" if charts else SECTION_TITLE


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
        lines.append("複数回答：回答者に占める割合のため、合計は100%を超える。")
    else:
        lines.append(f"全体と{stratum}別（各行の n はその行の基数）。{ROUNDING_NOTE}")
        pooled = analysis.pools.note(analysis.codebook, analysis.min_group)
        if pooled:
            lines.append(pooled)
    return lines


def draw_chart(chart: SectionChart, *, weighted: bool, note: str):
    """The report's chart of this question (``2-0k_….png``): stacked bars by 職域, or ranked bars."""
    from ppp_survey.outputs import plots

    if chart.item.is_multi:
        return plots.plot_multi(chart.table, chart.item, weighted=weighted, note=note)
    return plots.plot_stacked(chart.table, chart.item, weighted=weighted, note=note)


def chart_svg(chart: SectionChart, *, weighted: bool, note: str) -> bytes:
    """The chart as SVG bytes: text as outlines, no date, ids salted by the theme (same bytes)."""
    import matplotlib.pyplot as plt

    from ppp_survey.outputs.plots import theme

    with theme():
        fig = draw_chart(chart, weighted=weighted, note=note).figure
        buffer = io.BytesIO()
        try:
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    return buffer.getvalue()


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
th, td { border: 1px solid #999; padding: 2pt 4pt; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
th { background: #ddebf7; } td.cat { background: #f3f3f3; font-weight: bold; }
tr:has(+ tr > td.cont) > td.cat { border-bottom-color: #f3f3f3; }
td.num, th.num { text-align: right; } tr.total td { font-weight: bold; background: #f7f7f7; }
tr.question td { background: #f3f3f3; font-weight: bold; }
thead { display: table-header-group; } tr { break-inside: avoid; }
td ul { margin: 0; padding-left: 1.1em; } td li { margin: 0; }
.ev { margin: 0 0 2pt; padding: 2pt 3pt; border-radius: 2pt; }
.verdict { font-weight: bold; } .legend span { padding: 1pt 6pt; margin-right: 4pt; border-radius: 2pt; }
ul.notes { padding-left: 1.2em; font-size: 9pt; } ul.notes li { margin-bottom: 3pt; break-inside: avoid; }
@media print {
  body { padding: 0; max-width: none; }
  section { margin-top: 6mm; }
  section.newpage { break-before: page; margin-top: 0; }
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
) -> str:
    """Section 2 of the committee paper as one self-contained HTML page (see the module's docstring).

    ``policy`` ``None`` leaves the matrix out (a codebook the packaged matrix does not fit);
    ``weighted`` draws the design-based estimates, as the report's ``--weighted``.
    """
    note = analysis.source_note(synthetic=synthetic)
    charts = section_charts(analysis)
    title = section_title(charts)
    parts = [_front(analysis, title, note, synthetic=synthetic)]
    parts += [_chart_section(analysis, c, weighted=weighted, note=note) for c in charts]
    if policy is not None:
        parts.append(_matrix_section(policy, matrix_heading(charts, policy.matrix)))
    if changes is not None:
        parts.append(_changes_section(changes))
    parts.append(_method_section(analysis, policy, note, synthetic=synthetic, weighted=weighted))
    body = "\n".join(parts) + "\n"
    page_css = _page_css(title, synthetic=synthetic)
    shown = html.unescape(title + body) + SYNTHETIC_MARK + "0123456789 /"
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{embedded_font_css(shown)}\n{fallback_font_css(shown)}"
        f"{page_css}\n{_CSS}\n</style>\n"
        f"</head>\n<body>\n{body}</body>\n</html>\n"
    )


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


def _front(analysis: Analysis, title: str, note: str, *, synthetic: bool) -> str:
    """The title, the survey note (as the document prints it, 「※R7.7.18～31実施 …」) and the
    response rates by 職域."""
    e = html.escape
    stratum = analysis.codebook.stratum.label
    rows = []
    for r in analysis.rates.itertuples():
        css = ' class="total"' if str(r.domain) == ALL else ""
        rows.append(
            f'<tr{css}><td>{e(str(r.domain))}</td><td class="num">{int(r.population):,}</td>'
            f'<td class="num">{int(r.respondents):,}</td><td class="num">{pct(r.rate)}</td></tr>'
        )
    synth = f'<p class="synthetic">{e(SYNTHETIC_TEXT)}</p>\n' if synthetic else ""
    return (
        f"<header>\n<h1>{e(title)}</h1>\n{synth}"
        f'<p class="survey">※{e(note)}</p>\n</header>\n'
        f"<section>\n<h2>{e(stratum)}別の回答率</h2>\n"
        f'<table class="rates">\n<thead><tr><th>{e(stratum)}</th><th class="num">職員数</th>'
        '<th class="num">回答者数</th><th class="num">回答率（%）</th></tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + f'\n</tbody>\n</table>\n<p class="note">回答率＝回答者数／職員数。{e(ROUNDING_NOTE)}</p>\n</section>'
    )


def _chart_section(analysis: Analysis, chart: SectionChart, *, weighted: bool, note: str) -> str:
    e = html.escape
    svg = base64.b64encode(chart_svg(chart, weighted=weighted, note=note)).decode("ascii")
    kind = "複数回答の横棒グラフ" if chart.item.is_multi else "全体と職域別の100%積み上げ横棒グラフ"
    notes = "".join(f'<p class="note">{e(line)}</p>' for line in chart_notes(analysis, chart, weighted=weighted))
    return (
        f'<section class="chart newpage" id="chart-{chart.k}">\n<h2>{e(chart.heading)}</h2>\n'
        f'<figure><img alt="{e(chart.heading)}（{kind}）" src="data:image/svg+xml;base64,{svg}">\n'
        f"<figcaption>{notes}</figcaption></figure>\n</section>"
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
    """An indicator's value line: '39.2%（95%CI 37.0–41.3%）、n=1,326　規準 ≧30%' (a group first
    where an every-group rule names it)."""
    group = "" if r["group"] in (ALL, "") else f"{r['group']}："
    ci = ci_text(r["statistic"], r["ci_low"], r["ci_high"])
    value = f"{group}{value_text(r['statistic'], r['value'])}" + (f"（95%CI {ci}）" if ci else "")
    return f"{value}、n={int(r['n']):,}　規準 {r['rule']}"


def number_text(value, spec: str = ".1f") -> str:
    """A published number as printed: '-' where there is none, text ('x', '<0.001') as it is; a
    signed spec ('+.1f') as :func:`ppp_survey.text.signed` prints differences (no change: '0.0')."""
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return "-"
    if spec.startswith("+"):
        return signed(value, int(spec.strip("+.f")))
    text = format(float(value), spec)
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # -0.04 → '0.0', not '-0.0'


def _matrix_cells(row: MatrixRow) -> str:
    e = html.escape
    # no rowspan: rows of one 区分 may then break across pages (the label is on the first row)
    head = f'<td class="cat">{e(row.category)}</td>' if row.category else '<td class="cat cont"></td>'
    evidence = "".join(
        f'<div class="ev" style="background:{VERDICT_COLORS.get(r["verdict"], "#fff")}">'
        f'<span class="verdict">{e(r["verdict"])}</span> {e(r["indicator"])}<br>{e(evidence_value(r))}</div>'
        for r in row.evidence
    )
    goals = "".join(f"<div>{e(g)}</div>" for g in row.goals)
    actions = "".join(f"<li>{e(a)}</li>" for a in row.actions) or "<li>（前出の具体像の取組を参照）</li>"
    return f"<tr>{head}<td>{e(row.situation)}</td><td>{evidence}</td><td>{goals}</td><td><ul>{actions}</ul></td></tr>"


def _matrix_section(policy: PolicyResult, heading: str) -> str:
    """2-(8) as a table: 区分, 現状, 調査結果（根拠と判定）, めざす具体像, 具体的な取組."""
    e = html.escape
    matrix, evidence = policy.matrix, policy.evidence
    rows = [_matrix_cells(r) for r in matrix_rows(policy)]
    legend = "".join(f'<span style="background:{c}">{e(v)}</span>' for v, c in VERDICT_COLORS.items())
    counts = evidence["verdict"].value_counts()
    tally = "、".join(f"{v} {int(counts.get(v, 0))}" for v in VERDICT_COLORS)
    return (
        f'<section class="matrix newpage" id="matrix">\n<h2>{e(heading)}</h2>\n'
        f'<p class="note legend">{legend}　調査指標 {len(evidence)}件：{e(tally)}</p>\n'
        '<table class="matrix">\n<colgroup><col style="width:10%"><col style="width:20%"><col style="width:30%">'
        '<col style="width:20%"><col style="width:20%"></colgroup>\n'
        "<thead><tr><th>区分</th><th>官民連携に対する職員意識等の現状</th><th>調査結果（根拠と判定）</th>"
        "<th>本市がめざす官民連携の具体像</th><th>（参考）具体的な取組</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n"
        + "".join(
            f'<p class="note">{e(n)}</p>'
            for n in (MATRIX_NUMBERS_NOTE, VERDICT_NOTE, INTERPRETATION_NOTE, f"出典：{matrix.source}")
        )
        + "\n</section>"
    )


def _changes_section(changes: ChangeTable) -> str:
    """The changes since the baseline, 全体: one block of rows per question, verdict coloured."""
    e = html.escape
    overall, _ = change_tables(changes)
    base, new = changes.baseline_wave, changes.wave
    rows, question = [], None
    for r in overall.to_dict("records"):
        if r["設問"] != question:
            question = r["設問"]
            rows.append(f'<tr class="question"><td colspan="8">{e(str(question))}</td></tr>')
        verdict = str(r["判定"])
        color = CHANGE_COLORS.get(verdict, "#222")
        cells = [(r[f"{base}(%)"], ".1f"), (r[f"{new}(%)"], ".1f"), (r["差(pt)"], "+.1f")]
        cells += [(r["95%CI下限"], "+.1f"), (r["95%CI上限"], "+.1f"), (r["p値"], ".3f")]
        numbers = "".join(f'<td class="num">{e(number_text(v, f))}</td>' for v, f in cells)
        rows.append(
            f"<tr><td>{e(str(r['選択肢']))}</td>{numbers}"
            f'<td style="color:{color}; font-weight:bold">{e(verdict)}</td></tr>'
        )
    notes = [*changes.note.splitlines(), method_note(changes), "x：匿名性のため秘匿。" + ROUNDING_NOTE]
    return (
        f'<section class="changes newpage" id="changes">\n<h2>経年比較（{e(base)}→{e(new)}、全体）</h2>\n'
        '<table class="changes">\n<colgroup><col style="width:31%"><col span="6" style="width:8.5%">'
        '<col style="width:18%"></colgroup>\n'
        f'<thead><tr><th>選択肢・指標</th><th class="num">{e(base)}（%）</th><th class="num">{e(new)}（%）</th>'
        '<th class="num">差（pt）</th><th class="num">95%CI下限</th><th class="num">95%CI上限</th>'
        '<th class="num">p値</th><th>判定</th></tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n"
        + "".join(f'<p class="note">{e(n)}</p>' for n in notes)
        + f'\n<p class="note">{e(changes.wave)}の職域別の変化は集計表（変化（職域別））にある。</p>\n</section>'
    )


def method_notes(analysis: Analysis, policy: PolicyResult | None, note: str, *, synthetic: bool, weighted: bool):
    """(heading, text) of the method and anonymity notes."""
    s = analysis.codebook.survey
    pooled = analysis.pools.note(analysis.codebook, analysis.min_group)
    notes = [
        ("調査", f"{s.title}（{s.fielded_from:%Y年%m月%d日}～{s.fielded_to:%Y年%m月%d日}）。{note}"),
        ("設問", s.reconstruction or "調査票のとおり。"),
        ("基数", BASE_NOTE),
        (
            "図の数値",
            (
                f"数値は{WEIGHTED_NUMBERS}。複数回答の図はひげが区間、積み上げ棒の区間は集計表（単純集計・クロス集計）に記載。"
                if weighted
                else method_text(False)
            )
            + ROUNDING_NOTE,
        ),
        ("推定方法", design_note(analysis.weights) + "政策マトリクスの判定はこの推定値と95%信頼区間による。"),
        (
            "匿名性の確保",
            f"回答者が{analysis.min_group}人未満の区分は、推定の前にほかの区分と統合し、すべての図表で一つの区分として"
            "公表している（個人の回答が推測されないため）。自由記述・「その他」の記入内容は掲載していない。"
            + (pooled and f"{pooled}。"),
        ),
    ]
    if policy is not None:
        notes.append(("政策マトリクス", f"{VERDICT_NOTE}{INTERPRETATION_NOTE}"))
    if s.source:  # optional in the codebook (the draft leaves it ""): no empty 出典
        notes.append(("出典", s.source))
    if synthetic:
        notes.append(("データ", SYNTHETIC_TEXT))
    return notes


def _method_section(
    analysis: Analysis, policy: PolicyResult | None, note: str, *, synthetic: bool, weighted: bool
) -> str:
    e = html.escape
    items = "".join(
        f"<li><b>{e(h)}</b>：{e(t)}</li>"
        for h, t in method_notes(analysis, policy, note, synthetic=synthetic, weighted=weighted)
    )
    return f'<section class="method" id="method">\n<h2>調査の方法と匿名性の確保</h2>\n<ul class="notes">{items}</ul>\n</section>'


def write_committee_html(
    path: str | Path,
    analysis: Analysis,
    policy: PolicyResult | None,
    *,
    synthetic: bool,
    changes: ChangeTable | None = None,
    weighted: bool = False,
) -> Path:
    """Write :func:`committee_html` to ``path`` (UTF-8, LF, atomically); return the path."""
    path = Path(path)
    page = committee_html(analysis, policy, synthetic=synthetic, changes=changes, weighted=weighted)
    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8", newline="\n")
    return path
