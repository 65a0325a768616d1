"""The result of :func:`~ppp_survey.analysis.run.analyse`: every table of one wave, on its protected
groups and its weights, with typed accessors in place of string filters on its DataFrames."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ppp_survey.constants import DEFAULT_MIN_GROUP, NO_ANSWER, MarkRule
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.survey.associations import (
    association_model,
    canonical_key,
    key_label,
)
from ppp_survey.survey.audit import AuditResult, audit_publication
from ppp_survey.survey.calibration import Calibration
from ppp_survey.survey.design import StratifiedDesign, Weighting
from ppp_survey.survey.indicators import Measure
from ppp_survey.survey.privacy import Pools, suppress_cells
from ppp_survey.survey.regression import RegressionResult
from ppp_survey.survey.tables import (
    Crosstab,
)
from ppp_survey.text import Coverage


@dataclass(frozen=True)
class Analysis:
    """Every table of one wave.

    Attributes
    ----------
    design : the post-stratified design (strata = 職域, FPC)
    rates : :func:`~ppp_survey.survey.rates.response_rates`
    gt : :func:`~ppp_survey.survey.tables.gt_table` (単純集計 of every question)
    crosstabs : {(question id, attribute id): Crosstab} for every question × attribute
    likert : :func:`~ppp_survey.survey.tables.likert_summary` of every Likert question, 全体 and by each attribute
    audit : what was pooled or suppressed for anonymity and why (:mod:`ppp_survey.survey.privacy`)
    min_group : the anonymity threshold applied
    pools : the groups merged for anonymity before anything was estimated
    calibration : the weights raked to the 職域 totals and the margins file (``--margins``), or None
    weights_comparison : 全体 estimates of the single-answer/Likert questions with 職域 weights and with
        the raked weights (:func:`~ppp_survey.survey.weights_comparison.compare_weights`), or None
    association : willingness (2-(2) 肯定的回答) on 職域, 職位, 年代, 2-(3) and 2-(6)
        (:func:`~ppp_survey.survey.associations.association_model`), on the raked weights when
        ``calibrated``; None when the codebook lacks those items or the model cannot be fitted
    calibrated : whether every estimate, interval, test, mark, matrix evidence and association uses
        the raked weights (``--calibrate``; :attr:`weights`)
    process : the weights of the association models: the design without its finite population
        correction (an association is a question about the process that produces the answers, as a
        change between waves is), raked to the margins when ``calibrated``

    Anonymity is by design: a group of any attribute with fewer than ``min_group`` respondents
    answering some question is merged with the smallest other groups into one published group
    (for 職域 the strata are collapsed too, so weights are equal inside a pool) before any estimate,
    test or base is computed; ``codebook`` and ``responses`` are the pooled ones. Suppression
    (NaN values, ``suppressed=True``) remains as a safety net and does not occur after pooling.
    """

    codebook: Codebook
    responses: pd.DataFrame
    design: StratifiedDesign
    rates: pd.DataFrame
    gt: pd.DataFrame
    crosstabs: dict[tuple[str, str], Crosstab]
    likert: pd.DataFrame
    audit: pd.DataFrame
    min_group: int = DEFAULT_MIN_GROUP
    pools: Pools = Pools({}, {})
    source_codebook: Codebook | None = None  # the codebook as read (before pooling); None: ``codebook``
    marks: MarkRule = MarkRule.HOLM
    calibration: Calibration | None = None
    weights_comparison: pd.DataFrame | None = None
    association: RegressionResult | None = None
    calibrated: bool = False
    process: StratifiedDesign | Calibration | None = None
    models: dict[tuple[str, tuple[str, ...]], RegressionResult] = field(default_factory=dict, repr=False, compare=False)

    def association_for(self, response: str, terms: Sequence[str]) -> RegressionResult:
        """The logistic model of the indicator ``response`` on ``terms`` (attributes and indicator
        keys, :func:`~ppp_survey.survey.associations.association_model`) on :attr:`process`: fitted
        once per (response, terms) and kept, :attr:`association` when they are the default model's.

        Raises ``ValueError`` (:class:`~ppp_survey.survey.regression.RegressionError`) when the model
        cannot be fitted, ``KeyError`` for a key the codebook lacks.
        """
        key = (canonical_key(self.codebook, response), tuple(canonical_key(self.codebook, t) for t in terms))
        if key not in self.models:
            if self.association is not None and key == (self.association.response, self.association_terms):
                self.models[key] = self.association
            else:
                weights = self.process if self.process is not None else replace(self.design, fpc=False)
                self.models[key] = association_model(
                    self.responses, weights, self.codebook, response=response, terms=terms
                )
        return self.models[key]

    @property
    def association_terms(self) -> tuple[str, ...]:
        """The terms of :attr:`association` as given (attributes and indicator keys), () without it."""
        return tuple(t.name for t in self.association.terms) if self.association is not None else ()

    @property
    def weights(self) -> Weighting:
        """The weights every estimate of this analysis uses: the raked ones with ``--calibrate``
        (:attr:`calibration`), else the design's ``N_h/n_h``."""
        if self.calibrated and self.calibration is not None:
            return self.calibration
        return self.design

    @property
    def without_fpc(self) -> Weighting:
        """:attr:`weights` without the finite population correction (the same weights): for
        questions about the process behind the answers, a change between waves or an association."""
        return self.process if self.process is not None else self.weights.without_fpc()

    @property
    def raked_to(self) -> tuple[str, ...]:
        """The margins (attribute ids) every estimate is raked to besides 職域; () for 職域 weights."""
        if not (self.calibrated and self.calibration is not None):
            return ()
        stratum = self.codebook.stratum.id
        return tuple(m.column for m in self.calibration.margins if m.column != stratum)

    @property
    def rake_bounds(self) -> tuple[float, float] | None:
        """The limits of the raking factors (``--rake-bounds``) of raked estimates, else None."""
        return self.calibration.bounds if self.raked_to and self.calibration is not None else None

    @property
    def coverage(self) -> Coverage:
        """Whom the estimates speak for (what a source note states): staff and respondents, the strata
        without respondents and the staff the estimates then represent, and how the weights were made
        when every estimate uses the raked ones (``--calibrate``)."""
        total = self.rates.iloc[-1]
        return Coverage(
            population=int(total["population"]),
            respondents=int(total["respondents"]),
            without=tuple(str(s) for s in self.design.empty_strata),
            covered=int(self.design.covered_population),
            calibrated=self.weights.method if self.calibrated else None,
        )

    def term_labels(self) -> dict[str, str]:
        """Display names of the attributes and of the association model's terms (職位, 2-(6) 肯定的回答, …)."""
        labels = {a.id: a.label for a in self.codebook.attributes}
        if self.association is not None:
            labels |= {t.name: key_label(self.codebook, t.name) for t in self.association.terms}
        return labels

    @property
    def questions(self) -> list[Item]:
        """The questions that have tables (single answer, Likert, multi-select), in codebook order."""
        return self.codebook.tabulated

    def tally(self, question: str, *, by: str | None = None) -> pd.DataFrame:
        """One question's tally, 全体 then each group of ``by``: the rows of :attr:`gt` and of the
        crosstab by ``by`` (already suppressed), not a new computation."""
        overall = self.gt[self.gt["question"] == question]
        if overall.empty:
            raise KeyError(f"{question} has no tally (not a single-answer, Likert or multi-select question)")
        overall = overall.reset_index(drop=True)
        if by is None:
            return overall
        groups = self.crosstabs[(question, by)].cells[list(overall.columns)]
        return pd.concat([overall, groups], ignore_index=True)

    def likert_for(self, question: str, measure: Measure | str, *, by: str | None = None) -> pd.DataFrame:
        """One summary of a Likert question (:class:`~ppp_survey.survey.indicators.Measure`: top-2,
        bottom-2 or the mean score) for 全体 (``by=None``, the one marker of all respondents) or one row
        per published group of the attribute ``by``, already suppressed: the rows of :attr:`likert`
        (``group, measure, base_n, unweighted, estimate, se, ci_low, ci_high, deff, suppressed, …``)."""
        t = self.likert
        if t.empty:
            raise KeyError(f"{question} has no Likert summary (not a Likert question, or tables=False)")
        rows = t[(t["question"] == question) & (t["by"] == (by or "")) & (t["measure"] == Measure(measure))]
        if rows.empty:
            raise KeyError(f"{question} has no Likert summary by {by!r}")
        return rows.reset_index(drop=True)

    def share_of_any(self, question: str, codes: tuple[int, ...], *, by: str | None = None) -> pd.DataFrame:
        """The share choosing any of ``codes`` of one question, 全体 (``by=None``) or by group: the
        estimator of :func:`~ppp_survey.survey.tables.tally`, suppressed as every by-group table.

        Returns ``group, base_n, estimate, se, ci_low, ci_high, suppressed, suppression``.
        """
        from ppp_survey.survey.estimate import survey_mean
        from ppp_survey.survey.item_sums import indicators

        item = self.codebook.item(question)
        cols = [item.option_column(item.choice(c)) for c in codes]
        data = pd.DataFrame(
            {"chosen": indicators(self.responses, item)[cols].max(axis=1, skipna=False)}, index=self.responses.index
        )
        if by is not None:
            data[by] = self.responses[by]
        t = survey_mean(data, self.weights, "chosen", by=by).rename(columns={"n": "base_n"})
        t = t[["group", "base_n", "estimate", "se", "ci_low", "ci_high"]]
        if by is None:
            return t.assign(suppressed=False, suppression="")
        t, _ = suppress_cells(
            t,
            self.min_group,
            table="マトリクス",
            question=question,
            by=by,
            value_columns=("estimate", "se", "ci_low", "ci_high"),
        )
        return t

    def audit_disclosure(self) -> AuditResult:
        """What an attacker holding every published table can derive about each protected group
        (:func:`~ppp_survey.survey.audit.audit_publication`)."""
        return audit_publication(
            self.source_codebook or self.codebook,
            self.rates,
            self.crosstab_cells(),
            self.gt,
            self.pools.by_attribute,
            list(self.pools.protected),
            cell_weights=self._raked_cell_weights() if self.calibrated else None,
        )

    def _raked_cell_weights(self) -> Callable[[pd.DataFrame], np.ndarray] | None:
        """For the audit of raked estimates: the raked weight of any combination of original groups
        (pools mapped to their published label, NaN to 無回答), from :meth:`Calibration.weights_for`."""
        cal = self.calibration
        if cal is None:
            return None
        stratum = self.codebook.stratum.id

        def weights(combos: pd.DataFrame) -> np.ndarray:
            table = pd.DataFrame(index=combos.index)
            for m in cal.margins:
                pooled = {v: k for k, members in self.pools.by_attribute.get(m.column, {}).items() for v in members}
                source = combos["stratum" if m.column == stratum else m.column]
                labels = (NO_ANSWER if pd.isna(v) else str(v) for v in source)  # a blank is the group 無回答
                table[m.column] = [pooled.get(v, v) for v in labels]
            return cal.weights_for(table)

        return weights

    def tests(self) -> pd.DataFrame:
        """All Rao–Scott tests of the crosstabs, one row per test."""
        return pd.concat([ct.tests for ct in self.crosstabs.values()], ignore_index=True)

    def crosstab_cells(self) -> pd.DataFrame:
        """All crosstab cells stacked, with the attribute in column ``by``."""
        return pd.concat([ct.cells.assign(by=by) for (_, by), ct in self.crosstabs.items()], ignore_index=True)
