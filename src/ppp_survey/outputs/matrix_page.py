"""The policy matrix as one HTML page (``figures/2-08_政策マトリクス.html``).

区分 → 現状 → 調査結果（根拠と判定、verdict colours） → めざす具体像 → 具体的な取組, each 取組 printed
under every 具体像 it serves (（再掲） after the first, as the document prints it). The page is one
self-contained file (no scripts, no external resources), the same bytes for the same results.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ppp_survey.constants import ALL
from ppp_survey.files import atomic_output
from ppp_survey.outputs.captions import DESIGN_WEIGHTS, design_note
from ppp_survey.outputs.matrix_sheets import INTERPRETATION_NOTE, VERDICT_COLORS, VERDICT_NOTE, ci_text, value_text
from ppp_survey.spec.matrix import PolicyMatrix
from ppp_survey.text import ROUNDING_NOTE, WeightsMethod

# One number per page, named: what the matrix's numbers are beside the charts'.
MATRIX_NUMBERS_NOTE = (
    "マトリクスの数値は職員全体の推定値（職員数で重み付け、95%信頼区間）で、回答率の違いを職員数で補正して"
    "いるため、図の「回答者に占める割合」とはわずかに異なることがある。"
)

_CSS = """
body { font-family: "PPP IPAexGothic", "IPAexGothic", "Yu Gothic", "Meiryo", sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } .note { font-size: 0.85em; color: #444; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #ddebf7; } td.cat { background: #f3f3f3; font-weight: bold; }
.ev { margin: 2px 0; padding: 3px 5px; border-radius: 3px; }
.verdict { font-weight: bold; } .legend span { padding: 2px 8px; margin-right: 6px; border-radius: 3px; }
.synthetic { color: #b00; font-weight: bold; }
""".strip()


def matrix_html(
    matrix: PolicyMatrix,
    evidence: pd.DataFrame,
    *,
    source_note: str,
    synthetic: bool,
    weights: WeightsMethod = DESIGN_WEIGHTS,
) -> str:
    """The matrix as one HTML page: 区分 → 現状 → evidence (coloured by verdict) → 具体像 → 取組; ``weights``
    is how the estimates were made (:attr:`~ppp_survey.policy.assess.PolicyResult.weights`), said in
    the notes."""
    e = html.escape
    rows = []
    printed: set[str] = set()
    by_situation = {sid: t for sid, t in evidence.groupby("situation_id", sort=False)}
    for cat in matrix.categories:
        sits = [s for s in matrix.situation_list if s.category == cat.id]
        for k, s in enumerate(sits):
            cells = []
            if k == 0:
                cells.append(f'<td class="cat" rowspan="{len(sits)}">{e(cat.label)}</td>')
            cells.append(f"<td>{e(s.text)}</td>")
            items = []
            for r in by_situation.get(s.id, pd.DataFrame()).to_dict("records"):
                group = "" if r["group"] in (ALL, "") else f"{r['group']}："
                ci = ci_text(r["statistic"], r["ci_low"], r["ci_high"])
                value = f"{group}{value_text(r['statistic'], r['value'])}" + (f"（95%CI {ci}）" if ci else "")
                items.append(
                    f'<div class="ev" style="background:{VERDICT_COLORS.get(r["verdict"], "#fff")}">'
                    f'<span class="verdict">{e(r["verdict"])}</span> {e(r["indicator"])}<br>'
                    f"{e(value)}、n={int(r['n']):,}　規準 {e(r['rule'])}</div>"
                )
            cells.append(f"<td>{''.join(items)}</td>")
            goals, actions = [], []
            for gid in s.goals:
                goal = matrix.goal(gid)
                if gid in printed:  # a 具体像 that answers two 現状: its 取組 are listed the first time
                    goals.append(f"<div>{e(goal.text)}（前出）</div>")
                    continue
                printed.add(gid)
                goals.append(f"<div>{e(goal.text)}</div>")
                for x in matrix.initiative_list:
                    if gid in x.goals:
                        actions.append(f"<li>{e(x.text)}{'（再掲）' if x.goals[0] != gid else ''}</li>")
            cells.append(f"<td>{''.join(goals)}</td>")
            listed = "".join(dict.fromkeys(actions)) or "<li>（前出の具体像の取組を参照）</li>"
            cells.append(f"<td><ul>{listed}</ul></td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
    legend = "".join(f'<span style="background:{c}">{e(v)}</span>' for v, c in VERDICT_COLORS.items())
    counts = evidence["verdict"].value_counts()
    tally = "、".join(f"{v} {int(counts.get(v, 0))}" for v in VERDICT_COLORS)
    synth = '<p class="synthetic">※架空データ（合成データ）による。実際の調査結果ではない。</p>' if synthetic else ""
    notes = "".join(
        f'<p class="note">{e(n)}</p>'
        for n in (
            source_note,
            MATRIX_NUMBERS_NOTE,
            VERDICT_NOTE,
            INTERPRETATION_NOTE,
            design_note(weights),
            ROUNDING_NOTE,
            f"出典：{matrix.source}",
        )
    )
    title = f"2-(8) {e(matrix.title)}"
    body = (
        f"<h1>2-(8) {e(matrix.title)}：現状と調査結果</h1>\n{synth}\n"
        f'<p class="legend">{legend}　指標 {len(evidence)}件：{e(tally)}</p>\n'
        "<table>\n<thead><tr><th>区分</th><th>現状</th><th>調査結果（根拠と判定）</th><th>めざす具体像</th>"
        "<th>具体的な取組</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"
        f"{notes}\n"
    )
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>\n{embedded_font_css(html.unescape(title + body))}\n{_CSS}\n</style>\n"
        f"</head>\n<body>\n{body}</body>\n</html>\n"
    )


def embedded_font_css(text: str) -> str:
    """An ``@font-face`` rule carrying the glyphs of ``text`` from IPAexGothic (the font the charts
    use, bundled by matplotlib-fontja), subset with fontTools and inlined, so that the page renders
    in Japanese on a machine without a Japanese font (a browser shows boxes for a font it is only
    named). The same text gives the same bytes. IPAexGothic: IPA Font License Agreement v1.0,
    which permits embedding the font in documents."""
    from ppp_survey.outputs.plots import font_path

    return font_face_css(
        font_path(),
        "".join(sorted(set(text))),
        family="PPP IPAexGothic",
        licence="IPAexGothic (subset), IPA Font License Agreement v1.0: https://moji.or.jp/ipafont/license/",
        notdef_outline=True,
    )


def font_face_css(
    path: Path,
    text: str,
    *,
    family: str,
    licence: str,
    notdef_outline: bool = False,
    drop_tables: tuple[str, ...] = (),
    postscript_name: str | None = None,
) -> str:
    """One inlined ``@font-face`` rule (no line end): the font at ``path`` subset to ``text`` with
    fontTools (timestamps kept, every name kept: copyright and licence), base64 in a data URL,
    under ``family``; ``postscript_name`` renames it (nameID 6) so that a PDF never names the
    machine's own copy. The same inputs give the same bytes."""
    import base64
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.recalc_timestamp = False
    options.name_IDs = ["*"]
    options.notdef_outline = notdef_outline
    options.drop_tables += list(drop_tables)
    font = TTFont(str(path), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    if postscript_name is not None:
        for record in font["name"].names:
            if record.nameID == 6:
                record.string = postscript_name
    data = io.BytesIO()
    font.save(data)
    encoded = base64.b64encode(data.getvalue()).decode("ascii")
    return (
        f"/* {licence} */\n"
        f'@font-face {{ font-family: "{family}"; src: url(data:font/ttf;base64,{encoded}) format("truetype"); }}'
    )


def write_matrix_html(
    path: str | Path,
    matrix: PolicyMatrix,
    evidence: pd.DataFrame,
    *,
    source_note: str,
    synthetic: bool,
    weights: WeightsMethod = DESIGN_WEIGHTS,
) -> Path:
    """Write :func:`matrix_html` to ``path`` (UTF-8, atomically); return the path."""
    path = Path(path)
    page = matrix_html(matrix, evidence, source_note=source_note, synthetic=synthetic, weights=weights)
    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8", newline="\n")
    return path
