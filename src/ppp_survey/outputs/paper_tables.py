"""The committee paper's tables cut into pages: the 2-(8) matrix and the changes since the baseline.

Each table is cut into pages of rows before the browser prints (:func:`.paper_layout.paginate` on
each row's estimated height), so that no row is split, every page repeats the table's header, the
matrix's first row on a page names its 区分 (「（続き）」 where the 区分 began on an earlier page),
and the contents list knows each table's first page. Text in the cells breaks only between phrases
(:func:`.paper_layout.phrase_html`). The numbers and verdicts are said in plain words
(:mod:`.paper_text`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ppp_survey.compare.changes import ChangeTable
from ppp_survey.outputs.change_charts import VERDICT_COLORS as CHANGE_COLORS
from ppp_survey.outputs.change_sheets import change_tables
from ppp_survey.outputs.matrix_sheets import VERDICT_COLORS
from ppp_survey.outputs.paper_layout import (
    HEADING_MM,
    PAGE_BOX_MM,
    TEXT_WIDTH_MM,
    notes_height_mm,
    paginate,
    phrase_html,
    text_height_mm,
)
from ppp_survey.outputs.paper_text import change_verdict, evidence_lines, number_text
from ppp_survey.policy.assess import PolicyResult
from ppp_survey.text import ROUNDING_NOTE

__all__ = ["Pages", "change_pages", "matrix_pages"]

TABLE_PT = 8.5
CELL_PAD_MM = 2 * 2 * 25.4 / 72 + 0.6  # 2 pt padding each side and the borders
MATRIX_WIDTHS = (0.11, 0.19, 0.30, 0.20, 0.20)
MATRIX_HEADER = (
    "区分",
    "官民連携に対する職員意識等の現状",
    "調査結果（根拠と判定）",
    "本市がめざす官民連携の具体像",
    "（参考）具体的な取組",
)


@dataclass(frozen=True)
class Pages:
    """A part of the paper already cut into pages: its HTML and how many printed pages it takes."""

    html: str
    count: int


def _anchor(name: str, page: int) -> str:
    """The id of a table's first page (the contents list links to it)."""
    return f' id="{name}"' if page == 0 else ""


#: Estimated text heights times this: lines broken only between phrases end ragged, and a page that
#: holds fewer rows is better than a row the browser moves to a page the contents list does not know.
SAFETY = 1.2


def _row_height(cells: list[str], widths: list[float]) -> float:
    return SAFETY * max(text_height_mm(c, w - CELL_PAD_MM, TABLE_PT) for c, w in zip(cells, widths)) + CELL_PAD_MM + 0.8


def matrix_pages(policy: PolicyResult, heading: str, rows, notes: list[str]) -> Pages:
    """The 2-(8) matrix as pages (``rows``: :func:`.committee_page.matrix_rows`): 区分, 現状, the
    evidence with its verdict, めざす具体像, 取組; ``notes`` under the last page's table."""
    e = html.escape
    widths = [TEXT_WIDTH_MM * w for w in MATRIX_WIDTHS]
    category = ""
    cells, heights = [], []
    for row in rows:
        continued = not row.category
        category = row.category or category
        evidence = [evidence_lines(r) for r in row.evidence]
        texts = [
            f"{category}（続き）",
            row.situation,
            "\n".join(f"{r['verdict']} {a}\n{b}" for r, (a, b) in zip(row.evidence, evidence)),  # 3 pt less a side
            "\n".join(row.goals),
            "\n".join(row.actions) or "（前出の具体像の取組を参照）",
        ]
        heights.append(_row_height(texts, widths) + 2.5 * len(row.evidence))  # each piece's box
        ev = "".join(
            f'<div class="ev" style="background:{VERDICT_COLORS.get(r["verdict"], "#fff")}">'
            f'<span class="verdict">{e(r["verdict"])}</span> {phrase_html(a)}<br>{phrase_html(b)}</div>'
            for r, (a, b) in zip(row.evidence, evidence)
        )
        goals = "".join(f"<div>{phrase_html(g)}</div>" for g in row.goals)
        actions = "".join(f"<li>{phrase_html(a)}</li>" for a in row.actions) or "<li>（前出の具体像の取組を参照）</li>"
        cells.append(
            (
                category,
                continued,
                f"<td>{phrase_html(row.situation)}</td><td>{ev}</td><td>{goals}</td><td><ul>{actions}</ul></td>",
            )
        )
    legend = "".join(f'<span style="background:{c}">{e(v)}</span>' for v, c in VERDICT_COLORS.items())
    counts = policy.evidence["verdict"].value_counts()
    tally = "、".join(f"{v} {int(counts.get(v, 0))}" for v in VERDICT_COLORS)
    header_mm = max(text_height_mm(h, w - CELL_PAD_MM, TABLE_PT) for h, w in zip(MATRIX_HEADER, widths)) + CELL_PAD_MM
    budget = PAGE_BOX_MM - HEADING_MM - 7 - header_mm - 4
    pages = paginate(heights, budget, last=notes_height_mm(notes) + 3)
    cols = "".join(f'<col style="width:{100 * w:.0f}%">' for w in MATRIX_WIDTHS)
    head = "".join(f"<th>{phrase_html(h)}</th>" for h in MATRIX_HEADER)
    out = []
    for k, page in enumerate(pages):
        body = []
        for j, i in enumerate(page):
            label, continued, rest = cells[i]
            shown = label if not continued else (f"{label}（続き）" if j == 0 else "")
            css = "cat" if shown else "cat cont"
            body.append(f'<tr><td class="{css}">{phrase_html(shown)}</td>{rest}</tr>')
        title = heading if k == 0 else f"{heading}（続き）"
        tail = "".join(f'<p class="note">{e(n)}</p>' for n in notes) if k == len(pages) - 1 else ""
        out.append(
            f'<section class="page matrix"{_anchor("matrix", k)}>\n'
            f"<h2>{e(title)}</h2>\n"
            f'<p class="note legend">{legend}　調査指標 {len(policy.evidence)}件：{e(tally)}</p>\n'
            f'<table class="matrix paged">\n<colgroup>{cols}</colgroup>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(body)
            + f"\n</tbody>\n</table>\n{tail}\n</section>"
        )
    return Pages("\n".join(out), len(pages))


CHANGE_WIDTHS = (0.36, 0.09, 0.09, 0.13, 0.17, 0.16)


def change_pages(changes: ChangeTable, title: str, notes: list[str]) -> Pages:
    """The changes since the baseline, 全体, as pages: a row per question, then a row per choice or
    indicator with both waves' %, the difference, its 95% interval and the verdict (coloured)."""

    e = html.escape
    overall, _ = change_tables(changes)
    base, new = changes.baseline_wave, changes.wave
    widths = [TEXT_WIDTH_MM * w for w in CHANGE_WIDTHS]
    rows, heights, question = [], [], None
    for r in overall.to_dict("records"):
        if r["設問"] != question:
            question = r["設問"]
            rows.append(f'<tr class="question"><td colspan="6">{phrase_html(str(question))}</td></tr>')
            heights.append(text_height_mm(str(question), TEXT_WIDTH_MM - CELL_PAD_MM, TABLE_PT) + CELL_PAD_MM + 0.8)
        verdict = change_verdict(str(r["判定"]))
        color = CHANGE_COLORS.get(verdict, "#222")
        interval = interval_text(r["95%CI下限"], r["95%CI上限"])
        numbers = [number_text(r[f"{base}(%)"]), number_text(r[f"{new}(%)"]), number_text(r["差(pt)"], "+.1f")]
        cells = "".join(f'<td class="num">{e(v)}</td>' for v in [*numbers, interval])
        rows.append(
            f"<tr><td>{phrase_html(str(r['選択肢']))}</td>{cells}"
            f'<td style="color:{color}; font-weight:bold">{phrase_html(verdict)}</td></tr>'
        )
        heights.append(_row_height([str(r["選択肢"]), "", "", "", interval, verdict], widths))
    header = ["選択肢・指標", f"{base}（%）", f"{new}（%）", "差（ポイント）", "差の95%の区間", "判定"]
    budget = PAGE_BOX_MM - HEADING_MM - 14
    pages = paginate(heights, budget, last=notes_height_mm(notes) + 3) if rows else [[]]
    cols = "".join(f'<col style="width:{100 * w:.0f}%">' for w in CHANGE_WIDTHS)
    head = "".join(f"<th{' class=num' if 0 < k < 5 else ''}>{phrase_html(h)}</th>" for k, h in enumerate(header))
    out = []
    for k, page in enumerate(pages):
        tail = "".join(f'<p class="note">{e(n)}</p>' for n in notes) if k == len(pages) - 1 else ""
        out.append(
            f'<section class="page changes"{_anchor("changes", k)}>\n'
            f"<h2>{e(title if k == 0 else title + '（続き）')}</h2>\n"
            f'<table class="changes paged">\n<colgroup>{cols}</colgroup>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(rows[i] for i in page)
            + f"\n</tbody>\n</table>\n{tail}\n</section>"
        )
    return Pages("\n".join(out), len(pages))


def interval_text(low, high) -> str:
    """A difference's 95% interval, '+8.1～+14.4'; '-' where there is none (a response rate: counted)."""

    a, b = number_text(low, "+.1f"), number_text(high, "+.1f")
    return "-" if a == b == "-" else f"{a}～{b}"


def change_notes(changes: ChangeTable) -> list[str]:
    """The notes under the changes' table, in plain words."""
    return [
        *changes.note.splitlines(),
        "判定の見方は「調査の方法と数字の読み方」にある。差の区間は、本当の差がほぼ確実に入る範囲。",
        "x：匿名性のため表示しない。" + ROUNDING_NOTE,
        f"{changes.wave}の職域別の変化は集計表（変化（職域別））にある。",
    ]
