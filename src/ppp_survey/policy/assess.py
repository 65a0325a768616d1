"""The policy matrix judged on one wave, in one call: :func:`assess` → :class:`PolicyResult`."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ppp_survey.analysis import Analysis
from ppp_survey.policy.evidence import evaluate
from ppp_survey.policy.kpi import kpi_table, reverse_view
from ppp_survey.spec.matrix import PolicyMatrix
from ppp_survey.spec.matrix_file import check_codebook
from ppp_survey.text import WeightsMethod

__all__ = ["PolicyResult", "assess"]


@dataclass(frozen=True)
class PolicyResult:
    """What the report publishes of the policy matrix for one wave.

    ``evidence`` is :func:`~ppp_survey.policy.evidence.evaluate`'s table, ``kpi``
    :func:`~ppp_survey.policy.kpi.kpi_table`'s (built from that evidence, not judged again) and
    ``reverse`` :func:`~ppp_survey.policy.kpi.reverse_view`'s. A wave comparison replaces ``kpi``
    with the table that has both waves' values (``dataclasses.replace``).
    """

    matrix: PolicyMatrix
    evidence: pd.DataFrame
    kpi: pd.DataFrame
    reverse: pd.DataFrame
    #: headings of the KPI table's two value columns (a comparison sets the waves' names)
    kpi_labels: tuple[str, str] = ("基準値", "次回値")
    #: how the estimates behind the evidence were made (職域 weights or raking), for the notes
    weights: WeightsMethod = WeightsMethod()

    def verdict_counts(self) -> dict[str, int]:
        """How many indicators got each verdict (支持 / 不支持 / 判定不能), in order of frequency."""
        return {str(k): int(v) for k, v in self.evidence["verdict"].value_counts().items()}


def assess(matrix: PolicyMatrix, analysis: Analysis) -> PolicyResult:
    """Evidence, KPI table and reverse view of ``matrix`` on ``analysis`` (its tables, already
    suppressed for anonymity). The matrix is bound to the analysis' codebook first (its choices,
    named by label, resolved to that codebook's codes); ``PolicyResult.matrix`` is the bound one."""
    matrix = check_codebook(matrix, analysis.codebook)
    evidence = evaluate(matrix, analysis)
    return PolicyResult(
        matrix=matrix,
        evidence=evidence,
        kpi=kpi_table(matrix, evidence, analysis.codebook),
        reverse=reverse_view(matrix, analysis),
        weights=analysis.weights.method,
    )
