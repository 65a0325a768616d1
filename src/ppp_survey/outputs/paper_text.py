"""The committee paper's words: plain Japanese for a committee, no formula or test name.

The paper (:mod:`.committee_page`) and the deck (:mod:`.committee_deck`) print what is here: the
page 「調査の方法と数字の読み方」 (:func:`reading_notes`: what the percentages, the intervals,
参考値 and the marks mean, in plain words), the notes under each chart, the matrix's evidence and
the changes' verdicts said without symbols. The technical description (weights, standard errors,
the tests and their names) stays in the workbook's 説明 sheet and README.en.md; the paper points
there. :data:`TECHNICAL_TOKENS` are the words the paper and the deck never print.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ppp_survey.constants import ALL, MIN_BASE
from ppp_survey.text import ROUNDING_NOTE, round_half_up, signed

__all__ = [
    "READING_TITLE",
    "SYNTHETIC_MARK",
    "TECHNICAL_TOKENS",
    "change_verdict",
    "evidence_lines",
    "heatmap_notes",
    "number_text",
    "plain_indicator",
    "reading_notes",
]

READING_TITLE = "調査の方法と数字の読み方"
#: The mark on every page and slide of a paper made from synthetic data.
SYNTHETIC_MARK = "架空データ"
#: Formula symbols and English test names a committee page never prints (checked by the tests).
TECHNICAL_TOKENS = (
    "N_h",
    "n_h",
    "デザインベース",
    "標準誤差",
    "Rao",
    "Scott",
    "α",
    "MDD",
    "（記述）",
    "CI",
    "p <",
    "p =",
    "p値",
    "OR >",
    "ロジスティック",
    "√",
    "SE",
)
MARKS_TEXT = (
    "▲▼：その職域の割合がほかの職員より高い（▲）・低い（▼）差で、偶然では説明しにくいもの"
    "（偶然で生じる見込みが1%未満）。△▽：同じく見込みが5%未満のもの。"
)
REFERENCE_TEXT = f"※：回答者が{MIN_BASE}人未満の職域の数値は参考値（少しの回答の違いで大きく動くため、印は付けない）。"
SUPPRESSED_TEXT = "x：回答者が少なく個人が推測されるおそれがあるため表示しない。"


def reading_notes(
    *,
    survey: str,
    note: str,
    weighted: bool,
    min_group: int,
    pooled: str,
    matrix: bool,
    changes: bool,
    source: str,
    synthetic_text: str,
) -> list[tuple[str, str]]:
    """(heading, text) of the page 「調査の方法と数字の読み方」, in plain words."""
    if weighted:
        percent = (
            "グラフと表の％は、職員全体の推定値。職域によって回答した人の割合が違うため、各職域の職員数に"
            "合わせて回答の重みを調整して計算している。"
        )
    else:
        percent = "グラフと表の％は、その設問に答えた職員（無回答を除く）に占める割合。"
    notes = [
        ("調査", f"{survey}。{note}。"),
        (
            "割合（％）",
            percent + "「n」はその割合のもとになった回答者の数。複数回答の設問は、その選択肢を選んだ人の割合の"
            "ため、合計は100%を超える。" + ROUNDING_NOTE.lstrip("※"),
        ),
        (
            "区間",
            "回答したのは職員の一部なので、職員全体の本当の値とは少しずれることがある。「95%の区間」は、"
            "本当の値がほぼ確実に入る範囲（同じ調査を100回繰り返すと95回はこの範囲に入る）。区間が狭いほど"
            "数値は確か。"
            + (
                "政策マトリクスの数値は区間を添え、職員数で重みを調整した推定値のため、グラフの割合と"
                "わずかに異なることがある。"
                if matrix
                else ""
            ),
        ),
        ("参考値（※）", REFERENCE_TEXT.removeprefix("※：")),
        ("印（▲▼△▽）", MARKS_TEXT + "印は職域別の表（各設問の次のページ）にある。"),
    ]
    if matrix:
        notes.append(
            (
                "政策マトリクスの判定",
                "各現状について調査の数字を目安と比べた。支持：区間の全体が目安を満たす側にある。不支持：区間の"
                "全体が反対側にある。判定不能：区間が目安をまたぐ、または回答者が足りない。目安の値は分析担当が"
                "決めたもので、委員会資料に数値はない。「関連の強さ」は、ほかの条件（職域・職位など）が同じ人どうし"
                "で比べて、一方に当てはまる人がもう一方にも当てはまりやすい度合い（1より大きいほど強い。関連で"
                "あって原因とは限らない）。",
            )
        )
    if changes:
        notes.append(
            (
                "経年比較",
                "前回と今回の差が、回答者が一部であることによるずれでは説明しにくい（偶然で生じる見込みが5%未満）"
                "ときだけ「改善」「悪化」（よし悪しの向きのない項目は「増加」「減少」）とし、それ以外は"
                "「有意な変化なし」とした。回答率は職員全員を数えた値なので、差をそのまま示す。",
            )
        )
    notes.append(
        (
            "匿名性の確保",
            f"回答者が{min_group}人未満の区分は、ほかの区分とまとめて一つの区分として集計している（個人の回答が"
            "推測されないため）。自由記述・「その他」の記入内容は掲載していない。" + (f"{pooled}。" if pooled else ""),
        )
    )
    notes.append(("詳しい説明", "推定と検定の方法は、集計表の「説明」シートに記載している。"))
    if source:
        notes.append(("出典", source))
    if synthetic_text:
        notes.append(("データ", synthetic_text))
    return notes


def heatmap_notes(crosstab, *, by: str, base: str, numbers: str, held: bool, key: str = "") -> list[str]:
    """The lines under a heatmap by 職域 on the committee page: bases, whether the groups differ
    (single-answer questions), the marks, 参考値 and x, said in plain words."""
    lines = [f"{base}　列見出しの下の数は各{by}の回答者数。{numbers}"]
    if key:
        lines.append(key)
    if not crosstab.item.is_multi:
        p = float(crosstab.tests["p_value"].iloc[0])
        if np.isfinite(p):
            differ = (
                "偶然では説明しにくい違いがある（偶然で生じる見込みが5%未満）"
                if p < 0.05
                else "偶然のばらつきを超える違いは見られない"
            )
            lines.append(f"{by}による回答の違い：{differ}。")
    lines.append(MARKS_TEXT)
    lines.append(REFERENCE_TEXT + (SUPPRESSED_TEXT if held else ""))
    return lines


_INDICATOR = (
    (re.compile(r"（Rao[–-]Scott検定）"), ""),
    (re.compile(r"（(.+?)を調整したオッズ比、ロジスティック回帰）"), r"（\1が同じ人どうしで比べた関連の強さ）"),
    (re.compile(r"［間接指標］"), "（間接的な指標）"),
    (re.compile(rf"基数{MIN_BASE}未満"), f"回答者{MIN_BASE}人未満"),
)


def plain_indicator(text: str) -> str:
    """An indicator's name without test names: 「…の職域による違い」, 「…関連の強さ」."""
    for pattern, plain in _INDICATOR:
        text = pattern.sub(plain, text)
    return text


def plain_rule(rule: str) -> str:
    """A rule as words: '≧ 30%' → '30%以上', 'p < 0.05' → '偶然では説明しにくい違い', 'OR > 1' → '関連の強さが1より大きい'."""
    r = rule.replace(" ", "")
    if r.startswith("p<"):
        return "偶然では説明しにくい違いがある"
    if r.startswith("OR>"):
        return f"関連の強さが{r[3:]}より大きい"
    if r.startswith("OR<"):
        return f"関連の強さが{r[3:]}より小さい"
    for symbol, words in (("≧", "以上"), ("≥", "以上"), ("≦", "以下"), ("≤", "以下"), (">", "を超える"), ("<", "未満")):
        if r.startswith(symbol):
            return f"{r[len(symbol) :]}{words}"
    return rule


def _number(statistic: str, value: float) -> str:
    if statistic == "adjusted":
        return f"関連の強さ{round_half_up(value, 2):.2f}"
    if statistic == "mean":
        return f"{round_half_up(value, 2):.2f}点"
    return f"{round_half_up(100 * float(value)):.1f}%"


def evidence_lines(r: dict) -> tuple[str, str]:
    """(indicator, value line) of one piece of the matrix's evidence in plain words:
    ('2-(5) …を選んだ割合', '39.2%（95%の区間 37.0～41.3%）、回答者1,326人　目安：30%以上')."""
    group = "" if r["group"] in (ALL, "") else f"{r['group']}："
    statistic, value = r["statistic"], r["value"]
    if value is None or not np.isfinite(value):
        shown = "-"
    elif statistic == "association":
        shown = "偶然では説明しにくい違いがある" if value < 0.05 else "偶然のばらつきを超える違いは見られない"
    else:
        shown = _number(statistic, value)
        low, high = r["ci_low"], r["ci_high"]
        if np.isfinite(low) and np.isfinite(high):
            unit = "" if statistic in ("adjusted", "mean") else "%"
            a, b = (_number(statistic, x).removeprefix("関連の強さ").rstrip("%点") for x in (low, high))
            shown += f"（95%の区間 {a}～{b}{unit}）"
    return plain_indicator(
        str(r["indicator"])
    ), f"{group}{shown}、回答者{int(r['n']):,}人　目安：{plain_rule(str(r['rule']))}"


def change_verdict(verdict: str) -> str:
    """A change's verdict as the paper prints it: 「増加（記述）」 → 「増加」 (回答率: counted, not tested)."""
    return verdict.replace("（記述）", "")


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
