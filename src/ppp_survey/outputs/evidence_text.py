"""The policy matrix's evidence as plain text for terminals and notebooks (:func:`format_evidence`).

:func:`~ppp_survey.policy.evidence.evaluate` judges; this module prints its table with the verdicts'
legend, the method sentence of the weights the estimates used and the rounding note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ppp_survey.constants import ALL, MIN_BASE
from ppp_survey.outputs.captions import DESIGN_WEIGHTS, design_note
from ppp_survey.text import ROUNDING_NOTE, WeightsMethod, p_text, round_half_up

__all__ = ["format_evidence"]

_VERDICT_NOTE = (
    "判定：支持＝95%信頼区間の全体が規準の側、不支持＝全体が反対側、判定不能＝区間が閾値をまたぐ又は基数{m}未満"
    "（全職域の規準は基数{m}以上の職域で判定）。関連の規準はRao–Scott検定（p < α で支持）、"
    "調整した関連の規準はロジスティック回帰のオッズ比の95%信頼区間と1の比較。"
)


def format_evidence(
    table: pd.DataFrame,
    *,
    synthetic: bool = False,
    min_base: int = MIN_BASE,
    weights: WeightsMethod = DESIGN_WEIGHTS,
) -> str:
    """The evidence table as plain text for terminals and notes (% rounded half up to one decimal).

    Parameters
    ----------
    table
        From :func:`~ppp_survey.policy.evidence.evaluate`.
    synthetic
        Say 架空データ in the heading (for the bundled synthetic data).
    min_base
        The base below which rules were not judged (for the legend).
    weights
        How the estimates were made (:attr:`~ppp_survey.policy.assess.PolicyResult.weights`: 職域
        weights or raking), said in the method sentence.
    """
    lines = ["2-(8) 官民連携に対する職員意識等の現状と調査結果" + ("　※架空データ" if synthetic else "")]
    category = situation = None
    for row in table.to_dict("records"):
        if row["区分"] != category:
            category = row["区分"]
            lines += ["", f"■ {category}"]
        if row["situation_id"] != situation:
            situation = row["situation_id"]
            lines.append(f"[{situation}] {row['現状']}")
        lines.append(f"  {row['verdict'].ljust(4, chr(0x3000))} {row['indicator']}")
        lines.append(" " * 11 + f"{_value_text(row)}　規準 {row['rule']}　{row['reason']}")
    lines += ["", _VERDICT_NOTE.format(m=min_base), design_note(weights), ROUNDING_NOTE]
    return "\n".join(lines) + "\n"


def _value_text(row: dict) -> str:
    n = f"n={int(row['n']):,}"
    group = "" if row["group"] in (ALL, "") else f"{row['group']}："
    v = row["value"]
    if not np.isfinite(v):
        return f"{group}-（{n}）"
    if row["statistic"] == "association":
        return f"{p_text(v)}（{n}）"
    if row["statistic"] == "adjusted":
        r = round_half_up
        return f"オッズ比 {r(v, 2):.2f}（95%CI {r(row['ci_low'], 2):.2f}–{r(row['ci_high'], 2):.2f}、{n}）"
    if row["statistic"] == "mean":
        return (
            f"{group}{round_half_up(v, 2):.2f}点（95%CI {round_half_up(row['ci_low'], 2):.2f}–"
            f"{round_half_up(row['ci_high'], 2):.2f}、{n}）"
        )
    return f"{group}{_pct(v)}（95%CI {_pct(row['ci_low'], sign=False)}–{_pct(row['ci_high'])}、{n}）"


def _pct(x: float, *, sign: bool = True) -> str:
    return f"{round_half_up(100 * float(x)):.1f}" + ("%" if sign else "")
