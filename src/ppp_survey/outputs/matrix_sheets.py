"""The policy matrix as people read it in tables: the workbook's sheets and the display tables
(evidence, KPIs, findings) the CSVs and notebooks show; value and CI text shared with the HTML page
(:mod:`ppp_survey.outputs.matrix_page`).

:mod:`ppp_survey.policy` computes; this module lays the results out. The report
(``python -m ppp_survey.report``) calls :func:`matrix_sheets` for the workbook.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ppp_survey.outputs.captions import DESIGN_WEIGHTS, design_note
from ppp_survey.outputs.xlsx import Block, Sheet
from ppp_survey.policy.evidence import NOT_SUPPORTED, SUPPORTED, UNDECIDED
from ppp_survey.spec.matrix import PolicyMatrix
from ppp_survey.text import ROUNDING_NOTE, WeightsMethod, p_text, round_half_up

#: Background colours of the verdicts (HTML page): light green / light orange / light grey.
VERDICT_COLORS = {SUPPORTED: "#d9ead3", NOT_SUPPORTED: "#fce5cd", UNDECIDED: "#eeeeee"}
FIT_LABELS = {"direct": "直接", "proxy": "間接"}
VERDICT_NOTE = (
    "判定：支持＝95%信頼区間の全体が規準の側、不支持＝全体が反対側、判定不能＝区間が閾値をまたぐ又は基数が不足。"
    "関連の規準はRao–Scott検定（p < α で支持）、調整した関連の規準はオッズ比の95%信頼区間と1の比較。"
    "規準（閾値）は分析者の設定（policy_matrix_r7.yaml）で、資料には数値がない。"
)
INTERPRETATION_NOTE = (
    "現状→めざす具体像の対応と、各現状の調査指標・規準は分析上の解釈（資料の表の並びによる）。"
    "具体像→取組の対応は資料のとおり（再掲は同じ取組への対応）。"
)


def value_text(statistic: str, value: float, *, p_value: bool = False) -> str:
    """A value as printed: % with one decimal (half up), points for a mean, p for an association."""
    if value is None or not np.isfinite(value):
        return "-"
    if statistic == "association":
        return p_text(value)
    if statistic == "adjusted":
        return f"オッズ比{round_half_up(value, 2):.2f}"
    if statistic == "mean":
        return f"{round_half_up(value, 2):.2f}点"
    return f"{round_half_up(100 * float(value)):.1f}%"


def ci_text(statistic: str, low: float, high: float) -> str:
    """A 95% interval as printed, '' where there is none (an association)."""
    if statistic == "association" or not (np.isfinite(low) and np.isfinite(high)):
        return ""
    if statistic in ("mean", "adjusted"):
        return f"{round_half_up(low, 2):.2f}–{round_half_up(high, 2):.2f}"
    return f"{round_half_up(100 * low):.1f}–{round_half_up(100 * high):.1f}%"


UNITS = {"association": "p値", "mean": "点", "adjusted": "オッズ比"}  # anything else: a share in %
#: The KPI table's column naming each 取組's lever (an adjusted association's term and odds ratio).
LEVER_HEADER = "てこ（関連要因）"
LEVER_NOTE = (
    "てこ（関連要因）：取組がめざす具体像の現状に「調整した関連」の規準があるとき、その要因のオッズ比"
    "（ほかの要因を調整、95%信頼区間）。関連であって因果ではない。"
)


def value_number(statistic: str, value: float) -> float | str:
    """A value as a number for sheets and CSVs: a share in % (one decimal, half up), a mean in
    points (two decimals), a p-value (three decimals; '<0.001' below); NaN where there is none."""
    if value is None or not np.isfinite(value):
        return np.nan
    if statistic == "association":
        return "<0.001" if value < 0.001 else round_half_up(value, 3)
    if statistic in ("mean", "adjusted"):
        return round_half_up(value, 2)
    return round_half_up(100 * float(value))


def bound_number(statistic: str, value: float) -> float:
    """A confidence bound in the unit of :func:`value_number` (NaN for an association)."""
    if statistic == "association" or value is None or not np.isfinite(value):
        return np.nan
    return round_half_up(value, 2) if statistic in ("mean", "adjusted") else round_half_up(100 * float(value))


def unit(statistic: str) -> str:
    return UNITS.get(statistic, "%")


def evidence_display(evidence: pd.DataFrame) -> pd.DataFrame:
    """The evidence table (:func:`ppp_survey.policy.evidence.evaluate`) with Japanese headers; values
    and 95% bounds as numbers in the unit named beside them (% / 点 / p値)."""
    e = evidence
    stats = e["statistic"].tolist()
    return pd.DataFrame(
        {
            "区分": e["区分"].to_numpy(),
            "現状ID": e["situation_id"].to_numpy(),
            "現状": e["現状"].to_numpy(),
            "調査指標": e["indicator"].to_numpy(),
            "集団": [g if g else "-" for g in e["group"]],
            "値": [value_number(s, v) for s, v in zip(stats, e["value"])],
            "単位": [unit(s) for s in stats],
            "95%CI下限": [bound_number(s, v) for s, v in zip(stats, e["ci_low"])],
            "95%CI上限": [bound_number(s, v) for s, v in zip(stats, e["ci_high"])],
            "基数": e["n"].astype(int).to_numpy(),
            "規準": e["rule"].to_numpy(),
            "判定": e["verdict"].to_numpy(),
            "理由": e["reason"].to_numpy(),
            "指標の適合": [FIT_LABELS.get(f, f) for f in e["fit"]],
        }
    )


def number_formats(table: pd.DataFrame, columns: list[str], units: list[str]) -> pd.DataFrame:
    """Per-cell Excel formats for value columns whose unit varies by row (% 0.0, 点 0.00, p 0.000)."""
    fmt = {"%": "0.0", "点": "0.00", "p値": "0.000", "オッズ比": "0.00"}
    out = pd.DataFrame("", index=table.index, columns=table.columns)
    for col in columns:
        out[col] = [fmt.get(u, "") for u in units]
    return out


def kpi_display(kpi: pd.DataFrame, *, base_label: str = "基準値", next_label: str = "次回値") -> pd.DataFrame:
    """The KPI table with Japanese headers and numeric values (unit beside them); the next-year
    columns stay empty (a place to fill) until a comparison fills them. 「てこ（関連要因）」 names the
    lever a 取組 pulls where the matrix has an adjusted association for it (``lever``)."""
    k = kpi
    stats = k["statistic"].tolist()
    out = pd.DataFrame(
        {
            "取組ID": k["initiative_id"].to_numpy(),
            "具体的な取組": k["取組"].to_numpy(),
            LEVER_HEADER: k["lever"].fillna("").to_numpy() if "lever" in k else "",
            "調査指標": k["indicator"].to_numpy(),
            "比較キー": k["indicator_key"].to_numpy(),
            "単位": [unit(s) for s in stats],
            base_label: [value_number(s, v) for s, v in zip(stats, k["baseline"])],
            f"{base_label}95%CI下限": [bound_number(s, v) for s, v in zip(stats, k["ci_low"])],
            f"{base_label}95%CI上限": [bound_number(s, v) for s, v in zip(stats, k["ci_high"])],
            f"{base_label}基数": [int(n) if np.isfinite(n) else np.nan for n in k["n"].astype(float)],
            next_label: [value_number(s, v) for s, v in zip(stats, k["next_value"].astype(float))],
        }
    )
    if "difference" in k:
        out["差(pt)"] = [round_half_up(100 * d) if np.isfinite(d) else np.nan for d in k["difference"].astype(float)]
    if "p_value" in k:
        out["p値"] = [value_number("association", p) for p in k["p_value"].astype(float)]
    if "verdict" in k:
        out["判定"] = k["verdict"].fillna("").to_numpy()
    return out


def reverse_display(reverse: pd.DataFrame) -> pd.DataFrame:
    """The reverse view (:func:`ppp_survey.policy.kpi.reverse_view`) with Japanese headers and numeric values."""
    r = reverse
    stats = ["association" if np.isfinite(p) else "share" for p in r["p_value"].astype(float)]
    values = [
        p if s == "association" else v for s, v, p in zip(stats, r["value"].astype(float), r["p_value"].astype(float))
    ]
    return pd.DataFrame(
        {
            "所見": r["finding"].to_numpy(),
            "順位": [int(x) if x else np.nan for x in r["rank"]],
            "選択肢・内容": r["label"].to_numpy(),
            "値": [value_number(s, v) for s, v in zip(stats, values)],
            "単位": [unit(s) for s in stats],
            "95%CI下限": [bound_number("share", v) for v in r["ci_low"].astype(float)],
            "95%CI上限": [bound_number("share", v) for v in r["ci_high"].astype(float)],
            "基数": r["n"].astype(int).to_numpy(),
            "対応": r["link"].to_numpy(),
            "ID": r["link_id"].to_numpy(),
            "現状・取組": r["link_text"].to_numpy(),
            "経路": r["via"].to_numpy(),
        }
    )


def matrix_sheets(
    matrix: PolicyMatrix,
    evidence: pd.DataFrame,
    kpi: pd.DataFrame,
    reverse: pd.DataFrame,
    *,
    source_note: str,
    kpi_labels: tuple[str, str] = ("基準値", "次回値"),
    weights: WeightsMethod = DESIGN_WEIGHTS,
) -> list[Sheet]:
    """Workbook sheets: 政策マトリクス (evidence), 取組と具体像 (links), KPI, 所見→現状・取組; ``weights``
    is how the estimates were made (:attr:`~ppp_survey.policy.assess.PolicyResult.weights`), said in
    the notes."""
    method = design_note(weights)
    notes = (source_note, VERDICT_NOTE, INTERPRETATION_NOTE, method, ROUNDING_NOTE)
    links = matrix.links()
    links = pd.DataFrame(
        {
            "対応": links["kind"].to_numpy(),
            "元ID": links["from_id"].to_numpy(),
            "元": links["from_text"].to_numpy(),
            "先ID": links["to_id"].to_numpy(),
            "先": links["to_text"].to_numpy(),
            "再掲": np.where(links["repost"], "再掲", ""),
            "根拠": links["basis"].map({"layout": "表の並び", "interpretation": "解釈", "document": "資料"}).to_numpy(),
            "備考": links["note"].to_numpy(),
        }
    )
    return [
        Sheet(
            "政策マトリクス",
            (
                _numeric_block(
                    f"2-(8) {matrix.title}：現状と調査結果",
                    evidence_display(evidence),
                    ["値", "95%CI下限", "95%CI上限"],
                    notes=notes,
                ),
            ),
            widths={1: 22, 3: 40, 4: 48, 13: 30},
        ),
        Sheet(
            "具体像と取組",
            (Block("現状→めざす具体像→具体的な取組の対応", links, notes=(INTERPRETATION_NOTE,)),),
            widths={3: 44, 5: 44},
        ),
        Sheet(
            "KPI",
            (
                _numeric_block(
                    "具体的な取組ごとの効果指標（KPI）",
                    kpi_display(kpi, base_label=kpi_labels[0], next_label=kpi_labels[1]),
                    [kpi_labels[0], f"{kpi_labels[0]}95%CI下限", f"{kpi_labels[0]}95%CI上限", kpi_labels[1]],
                    notes=(
                        source_note,
                        "比較キーのない指標（職域別・関連・調整した関連・平均）は経年比較の対象外。",
                        LEVER_NOTE,
                        method,
                        ROUNDING_NOTE,
                    ),
                ),
            ),
            widths={2: 30, 3: 30, 4: 48},
        ),
        Sheet(
            "所見から現状・取組へ",
            (
                _numeric_block(
                    "調査の所見が示す現状と取組",
                    reverse_display(reverse),
                    ["値", "95%CI下限", "95%CI上限"],
                    notes=(source_note, method, ROUNDING_NOTE),
                ),
            ),
            widths={1: 26, 3: 34, 11: 44},
        ),
    ]


# ------------------------------------------------------------------------------------- HTML


def _numeric_block(title: str, table: pd.DataFrame, values: list[str], *, notes: tuple[str, ...]) -> Block:
    """A block whose ``values`` columns carry the number format of each row's unit (単位)."""
    formats = number_formats(table, values, table["単位"].tolist())
    if "p値" in table.columns:
        formats["p値"] = "0.000"
    if "差(pt)" in table.columns:
        formats["差(pt)"] = "+0.0;-0.0;0.0"
    return Block(title, table, cell_formats=formats, notes=notes)
