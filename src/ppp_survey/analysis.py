"""One call that computes every table of a report: :func:`analyse`.

The report command, the notebooks and the Excel workbook all start from the same
:class:`Analysis`, so a number printed in a notebook is the number in the workbook and the chart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .codebook import Codebook, Item
from .design import StratifiedDesign
from .rates import response_rates
from .tables import Crosstab, crosstab, gt_table, likert_summary, make_design, tally, tally_by


@dataclass(frozen=True)
class Analysis:
    """Every table of one wave.

    Attributes
    ----------
    design : the post-stratified design (strata = 職域, FPC)
    rates : :func:`~ppp_survey.rates.response_rates`
    gt : :func:`~ppp_survey.tables.gt_table` (単純集計 of every question)
    crosstabs : {(question id, attribute id): Crosstab} for every question × attribute
    likert : :func:`~ppp_survey.tables.likert_summary` of every Likert question, 全体 and by each attribute
    """

    codebook: Codebook
    responses: pd.DataFrame
    design: StratifiedDesign
    rates: pd.DataFrame
    gt: pd.DataFrame
    crosstabs: dict[tuple[str, str], Crosstab]
    likert: pd.DataFrame

    @property
    def questions(self) -> list[Item]:
        """The questions that have tables (single answer, Likert, multi-select), in codebook order."""
        return self.codebook.questions_of_type("sa", "likert", "ma")

    def tally(self, question: str, *, by: str | None = None) -> pd.DataFrame:
        """:func:`~ppp_survey.tables.tally` of one question, 全体 then each group of ``by``."""
        item = self.codebook.item(question)
        if by is None:
            return tally(self.responses, self.design, item)
        return tally_by(self.responses, self.design, item, by=by)

    def tests(self) -> pd.DataFrame:
        """All Rao–Scott tests of the crosstabs, one row per test."""
        return pd.concat([ct.tests for ct in self.crosstabs.values()], ignore_index=True)

    def crosstab_cells(self) -> pd.DataFrame:
        """All crosstab cells stacked, with the attribute in column ``by``."""
        return pd.concat([ct.cells.assign(by=by) for (_, by), ct in self.crosstabs.items()], ignore_index=True)


def analyse(responses: pd.DataFrame, frame: pd.DataFrame, codebook: Codebook, *, progress=None) -> Analysis:
    """Compute the design, response rates, GT, every crosstab and the Likert summaries."""
    design = make_design(responses, frame, codebook)
    rates = response_rates(responses, frame, codebook)
    gt = gt_table(responses, design, codebook)
    questions = codebook.questions_of_type("sa", "likert", "ma")
    crosstabs = {}
    for attr in codebook.attributes:
        if progress:
            progress(f"        クロス集計: {attr.label}別")
        for q in questions:
            crosstabs[(q.id, attr.id)] = crosstab(responses, design, q, by=attr.id, by_label=attr.label)
    likert = []
    for q in codebook.questions_of_type("likert"):
        likert.append(likert_summary(responses, design, q).assign(by=""))
        for attr in codebook.attributes:
            likert.append(likert_summary(responses, design, q, by=attr.id).assign(by=attr.id))
    return Analysis(codebook=codebook, responses=responses, design=design, rates=rates, gt=gt,
                    crosstabs=crosstabs, likert=pd.concat(likert, ignore_index=True) if likert else pd.DataFrame())
