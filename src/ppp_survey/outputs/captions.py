"""The words printed under tables and beside charts: legends, notes, method sentences, source notes.

The estimation layers (:mod:`ppp_survey.survey`, :mod:`ppp_survey.analysis`, :mod:`ppp_survey.policy`)
return typed facts only — how the weights were made (:class:`~ppp_survey.text.WeightsMethod`), the
minimum base, the mark rule (:class:`~ppp_survey.constants.MarkRule`), whom the estimates cover
(:class:`~ppp_survey.text.Coverage`). This module turns those facts into the sentences printed under
tables and charts, calling :mod:`ppp_survey.text` where a rule has one wording (the weights, the
minimum base, the source note).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ppp_survey.constants import MARK_RULE_TEXT, MIN_BASE, MarkRule
from ppp_survey.text import ROUNDING_NOTE, WeightsForm, WeightsMethod, p_text, reference_note, weights_text
from ppp_survey.text import source_note as coverage_note

if TYPE_CHECKING:  # annotations only: the captions need no estimator loaded
    from ppp_survey.analysis import Analysis
    from ppp_survey.spec.codebook import Codebook
    from ppp_survey.survey.privacy import Pools
    from ppp_survey.survey.tables import Crosstab

__all__ = [
    "DESIGN_NOTE",
    "DESIGN_WEIGHTS",
    "design_note",
    "mark_legend",
    "pooling_note",
    "source_note",
    "table_notes",
    "weights_label",
]

#: The design's 職域 weights (職員数÷回答者数): what estimates use unless raked (``--calibrate``).
DESIGN_WEIGHTS = WeightsMethod()


def pooling_note(pools: Pools, codebook: Codebook, min_group: int) -> str:
    """One line for the outputs' notes naming every pooled group, e.g.
    '匿名性のため統合した区分（回答者10人未満の区分を含む）：職域「技能労務＋教育・保育」'; empty without pools."""
    parts = [
        f"{codebook.item(attr).label}「{label}」" for attr, groups in pools.by_attribute.items() for label in groups
    ]
    return f"匿名性のため統合した区分（回答者{min_group}人未満の区分を含む）：{'、'.join(parts)}" if parts else ""


def mark_legend(rule: MarkRule = MarkRule.HOLM, min_base: int = MIN_BASE) -> str:
    """The legend of the marks under ``rule``, for tables and sheets."""
    return (
        "▲/▼：その他の回答者と比べて有意に高い/低い（1%水準）、△/▽：同（5%水準）。"
        f"{MARK_RULE_TEXT[MarkRule(rule)]}。{reference_note(min_base)}。"
    )


def design_note(method: WeightsMethod = DESIGN_WEIGHTS) -> str:
    """How the estimates of a table were made, the method sentence under it: the 職域 weights or the
    raked ones (a result's ``weights``, a design's ``method``)."""
    return weights_text(method, WeightsForm.NOTE)


#: The method sentence of tables estimated with the 職域 weights.
DESIGN_NOTE = design_note()


def weights_label(method: WeightsMethod) -> str:
    """Which weights the estimates use, for the 説明 sheet, the model notes and the forest plot."""
    return weights_text(method, WeightsForm.LABEL)


def table_notes(ct: Crosstab | None = None) -> list[str]:
    """The notes printed under a table: test result, legend, method (the crosstab's weights; the
    design's 職域 weights without one), rounding."""
    notes = []
    if ct is not None:
        for row in ct.tests.itertuples():
            head = f"{row.label}：" if row.label else ""
            if not np.isfinite(row.p_value):
                notes.append(f"{head}Rao–Scott検定：回答が1区分のみのため検定できない")
                continue
            notes.append(
                f"{head}Rao–Scott検定 F({row.df_num:.2f}, {row.df_den:.1f}) = {row.f:.2f}, {p_text(row.p_value)}"
            )
        notes.append(mark_legend(ct.marks, ct.min_base))
    return [*notes, design_note(ct.weights) if ct is not None else DESIGN_NOTE, ROUNDING_NOTE]


def source_note(analysis: Analysis, *, synthetic: bool, weights: bool = True) -> str:
    """The source note of a wave's outputs: period, staff, respondents, response rate, the strata
    without respondents (which the estimates then do not represent) and, with ``--calibrate``, the
    raked weights (``weights=False`` leaves them out: for a chart of plain shares of the respondents,
    which no weight touches)."""
    return coverage_note(analysis.codebook, analysis.coverage, synthetic=synthetic, weights=weights)
