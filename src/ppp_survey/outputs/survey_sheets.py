"""The report's Excel workbook: which tables go on which sheet, with Japanese headers and notes.

:func:`report_sheets` lays an :class:`~ppp_survey.analysis.Analysis` out as sheets of
:class:`~ppp_survey.outputs.xlsx.Block`; :func:`ppp_survey.outputs.xlsx.write_workbook` writes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ppp_survey.analysis import Analysis
from ppp_survey.constants import ALL, MIN_BASE, NO_ANSWER
from ppp_survey.files import INTERNAL_FOLDER
from ppp_survey.ingest.load import ValidationReport
from ppp_survey.outputs.captions import design_note, mark_legend, table_notes, weights_label
from ppp_survey.outputs.xlsx import P_FORMAT, Block, Sheet, mark_format
from ppp_survey.survey.indicators import MEASURE_LABEL, Measure
from ppp_survey.text import ROUNDING_NOTE, round_half_up

PCT = "0.0"
SYNTHETIC_STATEMENT = (
    "【架空データ】この集計は架空のデータ（ppp_survey の合成データ、または例示の職員数で重み付けしたデータ）による"
    "もので、実際の調査結果ではない。回答者数と実施期間は「回答状況」のとおり。"
)
BASE_NOTE = "割合は各設問に回答した人を基数とする（無回答を除く）。複数回答の設問は回答者に占める割合のため、合計は100%を超える。"


def _pct(values) -> np.ndarray:
    return round_half_up(100 * np.asarray(values, dtype=float))


def report_sheets(
    analysis: Analysis, report: ValidationReport, *, synthetic: bool, source_note: str, matrix: bool = True
) -> list[Sheet]:
    """All sheets of the report workbook, in reading order (``matrix=False``: a run without the
    policy matrix, ``--no-matrix``, whose 説明 sheet does not mention it)."""
    cb = analysis.codebook
    sheets = [
        _explanation(analysis, synthetic=synthetic, source_note=source_note, matrix=matrix),
        Sheet("回答率", (_rates_block(analysis),)),
        Sheet("検証", _validation_blocks(report, analysis.source_codebook or cb)),
        Sheet("単純集計", tuple(_gt_block(analysis, q) for q in analysis.questions), widths={1: 48}),
    ]
    for attr in cb.attributes:
        blocks = tuple(_crosstab_block(analysis, q, attr) for q in analysis.questions)
        sheets.append(Sheet(f"クロス集計（{attr.label}）", blocks, widths={1: 22}))
    if len(analysis.likert):
        sheets.append(Sheet("肯定的回答", (_likert_block(analysis),), widths={1: 34}))
    sheets.append(Sheet("検定", (_tests_block(analysis),), widths={1: 10, 4: 40}))
    sheets.append(Sheet("秘匿", (_audit_block(analysis),), widths={1: 12, 4: 16, 7: 40}))
    return sheets


def _audit_block(analysis: Analysis) -> Block:
    a = analysis.audit
    source = analysis.source_codebook or analysis.codebook
    table = pd.DataFrame(
        {
            "表": a["table"],
            "設問": [_item_name(source, q) if q else "全設問" for q in a["question"]],
            "属性": [_item_name(source, b) for b in a["by"]],
            "区分": a["group"].astype(str),
            "基数": a["base_n"],
            "処理": a["action"],
            "理由": a["reason"],
        }
    )
    notes = (
        f"回答者が{analysis.min_group}人未満の集団（職域・職位・年代）は、集計の前にほかの集団と統合し（処理「統合」、"
        "基数は統合後の集団の人数）、推定・検定・比較のすべてで1つの集団として扱った。公表する数値から統合前の集団の回答を"
        "逆算できないことを開示監査で確認している。全員同一回答（単一回答で100%の選択肢、または複数回答で0%・100%の"
        "選択肢がある集団）は確認のため一覧に載せている（秘匿はしない）。",
        "自由記述・その他の記入内容は公表資料に含めていない。",
    )
    return Block("匿名性の確保（秘匿の記録）", table, notes=notes)


def _weights_line(analysis: Analysis, *, matrix: bool = True) -> str:
    """Which weights the estimates use (the 説明 sheet): 職域 weights, or the raked ones (``--calibrate``)."""
    line = weights_label(analysis.weights.method)
    if analysis.calibrated:
        evidence = "・政策マトリクスの根拠" if matrix else ""
        line += (
            f"。推定値・標準誤差・信頼区間・検定・有意差の記号{evidence}のすべてをこのウェイトで計算した"
            "（標準誤差はレイキングの残差による線形化、Rのcalibrateと同じ）。職域別ウェイトとの比較は「レイキング」シート"
        )
    elif analysis.calibration is not None:
        line += "。職位・年代などの職員数に合わせたウェイト（レイキング）での全体の推定は「レイキング」シートに並べた（--calibrate で全表に適用）"
    return line


def _explanation(analysis: Analysis, *, synthetic: bool, source_note: str, matrix: bool = True) -> Sheet:
    s = analysis.codebook.survey
    lines = [
        ("調査", s.title),
        ("実施期間", f"{s.fielded_from:%Y年%m月%d日}～{s.fielded_to:%Y年%m月%d日}"),
        ("回答状況", source_note),
        *([("出典", s.source)] if s.source.strip() else []),  # an optional field left empty: no row
        (
            "データ",
            SYNTHETIC_STATEMENT
            if synthetic
            else "回答データ（実データ）。外部に公表する前に個人が特定されないことを確認すること。",
        ),
        (
            "公開禁止",
            "公表用の出力は figures と data/processed にあるもの。除外した行の生の値（自由記述を含みうる）と"
            f"自由記述の書き出し（--export-free-text）は別のフォルダ「{INTERNAL_FOLDER}」に置き、"
            "ファイル名にも「公開禁止」と付けている。このフォルダのファイルは庁内の確認用で、公表・配布しない。",
        ),
        ("設問", s.reconstruction or "コードブックのとおり"),
        ("基数", BASE_NOTE),
        (
            "推定方法",
            design_note(analysis.weights.method)
            + f"信頼区間はロジット変換（Rのsvyciprop既定）、0%・100%・基数{MIN_BASE}未満はKorn–Graubard法による。",
        ),
        ("ウェイト", _weights_line(analysis, matrix=matrix)),
        ("有意差の記号", mark_legend(analysis.marks)),
        ("四捨五入", ROUNDING_NOTE),
        (
            "シート",
            "回答率／検証／単純集計／クロス集計（属性別）／肯定的回答／検定／秘匿"
            + ("／政策マトリクス／具体像と取組／KPI／所見から現状・取組へ" if matrix else "")
            + "（経年比較のときは 変化（全体）／変化（職域別）／比較対象外 も）",
        ),
    ]
    table = pd.DataFrame(lines, columns=["項目", "内容"])
    title = "官民連携に関する職員意識調査 集計表" + ("（架空データ）" if synthetic else "")
    return Sheet("説明", (Block(title, table),), widths={1: 16, 2: 120})


def _rates_block(analysis: Analysis) -> Block:
    r = analysis.rates
    table = pd.DataFrame(
        {
            "職域": r["domain"].astype(str),
            "職員数": r["population"],
            "回答者数": r["respondents"],
            "回答率(%)": _pct(r["rate"]),
        }
    )
    return Block("職域別の回答率", table, formats={"回答率(%)": PCT}, notes=(ROUNDING_NOTE,))


#: How the 検証 sheet names each column's role (ingest.columns).
COLUMN_ROLES = {
    "id": "回答ID",
    "started": "開始時刻",
    "completed": "完了時刻",
    "modified": "最終変更時刻",
    "identity": "個人情報（読み込み時に削除）",
    "item": "設問・属性",
    "option": "選択肢の列（複数回答）",
    "other_text": "その他の記入（公表しない）",
    "ignored": "対象外（読み込まない）",
}


def _item_name(codebook, item_id) -> str:
    """A question as people read it (2-(4) メリット) or an attribute's label; '' for none."""
    if not isinstance(item_id, str) or not item_id:
        return ""
    try:
        item = codebook.item(item_id)
    except KeyError:
        return item_id
    return f"{item.number} {item.label}" if item.role == "question" and item.number else item.label


def _validation_blocks(report: ValidationReport, codebook) -> tuple[Block, ...]:
    summary = report.summary()
    summary = pd.DataFrame(
        {
            "区分": summary["status"].map({"read": "読み込み", "accepted": "採用", "rejected": "除外"}),
            "理由": summary["reason"],
            "件数": summary["count"],
        }
    )
    columns = pd.DataFrame(
        {
            "列名": report.columns["header"].to_numpy(),
            "扱い": report.columns["role"].map(lambda r: COLUMN_ROLES.get(r, r)).to_numpy(),
            "項目": report.columns["item"].map(lambda i: _item_name(codebook, i)).to_numpy(),
        }
    )
    info = pd.DataFrame(
        [
            # the export's name and SHA-256 (a function of every answer) are in the internal manifest only
            ("ファイル", "（名前とSHA-256は内部用マニフェストに記録）"),
            ("形式", report.format),
            ("文字コード", report.encoding or "-"),
        ],
        columns=["項目", "内容"],
    )
    return (
        Block("読み込んだファイル", info),
        Block("行の内訳（読み込み = 採用 + 除外）", summary),
        Block("列の扱い（個人情報の列は読み込み時に削除し、どの出力にも入らない）", columns),
    )


def _gt_block(analysis: Analysis, item) -> Block:
    t = analysis.gt[analysis.gt["question"] == item.id]
    table = pd.DataFrame(
        {
            "選択肢": t["label"].to_numpy(),
            "回答数": t["n"].to_numpy(),
            "%（回答者）": _pct(t["share"]),
            "推定値(%)": _pct(t["estimate"]),
            "95%信頼区間 下限": _pct(t["ci_low"]),
            "95%信頼区間 上限": _pct(t["ci_high"]),
            "標準誤差(pt)": round_half_up(100 * t["se"].to_numpy(float), 2),
        }
    )
    if t["suppressed"].any():  # fewer answers in all than the anonymity threshold
        table = table.assign(**{c: "x" for c in table.columns[1:]})
    base, missing = int(t["base_n"].iloc[0]), int(t["no_answer_n"].iloc[0])
    tail = pd.DataFrame(
        {
            "選択肢": ["M.T.（複数回答計）" if item.is_multi else "合計", f"基数（{NO_ANSWER}を除く）", NO_ANSWER],
            "回答数": [int(t["n"].sum()), base, missing],
            "%（回答者）": [float(table["%（回答者）"].sum()), np.nan, np.nan],
        }
    )
    table = pd.concat([table, tail], ignore_index=True)
    formats = {c: PCT for c in table.columns if "%" in c or "区間" in c}
    formats["標準誤差(pt)"] = "0.00"
    kind = {"sa": "単一回答", "likert": "単一回答", "ma": "複数回答"}[item.type]
    return Block(f"{item.heading}（{kind}）", table, formats=formats, notes=(BASE_NOTE, ROUNDING_NOTE))


def _crosstab_block(analysis: Analysis, item, attr) -> Block:
    ct = analysis.crosstabs[(item.id, attr.id)]
    overall = analysis.gt[analysis.gt["question"] == item.id]
    cells = ct.cells
    labels = list(item.labels)
    # one pass over the tidy cells (a few hundred rows; pivots cost more than the table)
    share: dict[tuple[str, str], float] = {}
    marks: dict[tuple[str, str], str] = {}
    bases: dict[str, tuple[int, bool, bool]] = {}  # group: base n, 参考値, 秘匿
    held_col = cells["suppressed"].tolist() if "suppressed" in cells else [False] * len(cells)
    for g, lab, v, m, n, ref, h in zip(
        cells["group"].tolist(),
        cells["label"].tolist(),
        cells["share"].to_numpy(float),
        cells["mark"].tolist(),
        cells["base_n"].tolist(),
        cells["reference"].tolist(),
        held_col,
    ):
        share[g, lab] = v
        marks[g, lab] = m if isinstance(m, str) else ""
        bases.setdefault(g, (int(n), bool(ref), bool(h)))
    groups = list(bases)
    overall_share = dict(zip(overall["label"].tolist(), overall["share"].to_numpy(float)))
    rows = [[ALL, int(overall["base_n"].iloc[0]), "", *_pct([overall_share.get(lab, np.nan) for lab in labels])]]
    formats = [[""] * 3 + [PCT] * len(labels)]
    for g in groups:
        n, reference, held = bases[g]
        values = ["x"] * len(labels) if held else list(_pct([share.get((g, lab), np.nan) for lab in labels]))
        rows.append([g, n, "秘匿" if held else ("参考値" if reference else ""), *values])
        formats.append([""] * 3 + [mark_format(marks.get((g, lab), "")) for lab in labels])
    columns = [attr.label, "基数", "備考", *labels]
    table = pd.DataFrame(rows, columns=columns)
    fmt = pd.DataFrame(formats, columns=columns)
    return Block(f"{item.heading} ／ {attr.label}別（%）", table, cell_formats=fmt, notes=tuple(table_notes(ct)))


def _likert_block(analysis: Analysis) -> Block:
    from ppp_survey.survey.privacy import publish

    lk = analysis.likert
    cb = analysis.codebook
    attr_label = {a.id: a.label for a in cb.attributes}
    table = pd.DataFrame(
        {
            "設問": lk["question"].map(lambda q: cb.item(q).heading),
            "属性": lk["by"].map(lambda b: attr_label.get(b, ALL)),
            "区分": lk["group"].astype(str),
            "指標": lk["measure"].map(MEASURE_LABEL),
            "基数": lk["base_n"],
            "回答者の値": np.where(
                lk["measure"] == Measure.MEAN,
                round_half_up(lk["unweighted"].to_numpy(float), 2),
                _pct(lk["unweighted"]),
            ),
            "推定値": np.where(
                lk["measure"] == Measure.MEAN, round_half_up(lk["estimate"].to_numpy(float), 2), _pct(lk["estimate"])
            ),
            "95%信頼区間 下限": np.where(
                lk["measure"] == Measure.MEAN, round_half_up(lk["ci_low"].to_numpy(float), 2), _pct(lk["ci_low"])
            ),
            "95%信頼区間 上限": np.where(
                lk["measure"] == Measure.MEAN, round_half_up(lk["ci_high"].to_numpy(float), 2), _pct(lk["ci_high"])
            ),
        }
    )
    table = publish(table.assign(suppressed=lk["suppressed"].fillna(False).astype(bool).to_numpy())).drop(
        columns="suppressed"
    )
    table["基数"] = lk["base_n"].to_numpy()
    notes = (
        "肯定的回答＝上位2区分、否定的回答＝下位2区分の割合（%、わからないを含む回答者が基数）。平均点は4点尺度（わからないを除く）。",
        design_note(analysis.weights.method),
        ROUNDING_NOTE,
    )
    return Block("肯定的回答・否定的回答・平均点", table, formats={c: "0.0#" for c in table.columns[5:]}, notes=notes)


def _tests_block(analysis: Analysis) -> Block:
    t = analysis.tests()
    cb = analysis.codebook
    attr_label = {a.id: a.label for a in cb.attributes}
    table = pd.DataFrame(
        {
            "設問": t["question"].map(lambda q: cb.item(q).number),
            "属性": t["by"].map(attr_label),
            "選択肢（複数回答）": t["label"],
            "基数": t["n"],
            "F": round_half_up(t["f"].to_numpy(float), 3),
            "自由度1": round_half_up(t["df_num"].to_numpy(float), 2),
            "自由度2": round_half_up(t["df_den"].to_numpy(float), 1),
            "p値": t["p_value"].to_numpy(float),
        }
    )
    table = table[["設問", "属性", "基数", "選択肢（複数回答）", "F", "自由度1", "自由度2", "p値"]]
    return Block(
        "Rao–Scott検定（2次補正F、設問×属性の関連）",
        table,
        formats={"p値": P_FORMAT},
        notes=(
            "属性と回答の関連の有無を、層化・有限母集団修正を考慮したRao–Scott検定で判定（Rのsvychisq既定と同じ）。",
        ),
    )
