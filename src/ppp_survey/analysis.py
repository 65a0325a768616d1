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


@dataclass(frozen=True)
class Survey:
    """A loaded and analysed wave, as notebooks use it.

    ``loaded`` is the :class:`~ppp_survey.load.LoadResult` (responses, free text, validation
    report), ``analysis`` every table, ``note`` the source note every chart carries, and
    ``synthetic`` whether the data are the bundled 架空データ.
    """

    loaded: object
    analysis: Analysis
    note: str
    synthetic: bool

    @property
    def responses(self) -> pd.DataFrame:
        return self.loaded.responses

    @property
    def codebook(self) -> Codebook:
        return self.analysis.codebook


def load_survey(data, frame, *, codebook=None, on_invalid: str = "error", synthetic: bool | None = None) -> Survey:
    """Load an export with its staff frame and compute every table (what the report does first).

    Parameters
    ----------
    data, frame
        Paths of the response export and the staff frame.
    codebook
        A codebook path or :class:`~ppp_survey.codebook.Codebook`; ``None`` for the packaged R7 one.
    synthetic
        Label outputs 架空データ; ``None`` decides from the file name (``synthetic``/``架空``).
    """
    import re
    from pathlib import Path

    from .codebook import load_codebook
    from .fmt import source_note
    from .frame import load_frame
    from .load import load_responses

    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    loaded = load_responses(data, cb, on_invalid=on_invalid)
    staff = load_frame(frame, cb)
    analysis = analyse(loaded.responses, staff, cb)
    if synthetic is None:
        synthetic = bool(re.search(r"synthetic|架空", Path(data).name, re.IGNORECASE))
    total = analysis.rates.iloc[-1]
    note = source_note(cb, int(total["population"]), int(total["respondents"]), synthetic=synthetic)
    return Survey(loaded=loaded, analysis=analysis, note=note, synthetic=synthetic)
