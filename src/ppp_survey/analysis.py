"""One call that computes every table of a report: :func:`analyse`.

The report command, the notebooks and the Excel workbook all start from the same
:class:`Analysis`, so a number printed in a notebook is the number in the workbook and the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ppp_survey.constants import DEFAULT_MIN_GROUP, NO_ANSWER, MarkRule
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.margins import Margins
from ppp_survey.survey.associations import (
    DEFAULT_RESPONSE,
    DEFAULT_TERMS,
    association_model,
    canonical_key,
    key_label,
)
from ppp_survey.survey.audit import AuditResult, audit_publication
from ppp_survey.survey.calibration import Calibration, rake
from ppp_survey.survey.design import StratifiedDesign, Weighting
from ppp_survey.survey.indicators import Measure
from ppp_survey.survey.privacy import AUDIT_COLUMNS, Pools, check_min_group, protect, suppress_cells
from ppp_survey.survey.rates import response_rates
from ppp_survey.survey.regression import RegressionError, RegressionResult
from ppp_survey.survey.tables import (
    Crosstab,
    crosstab,
    likert_summary,
    make_design,
    tally,
)
from ppp_survey.survey.weights_comparison import compare_weights
from ppp_survey.text import weights_text

if TYPE_CHECKING:  # for the annotation only: load_survey imports ingest where it runs
    from ppp_survey.ingest.load import LoadResult


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
    def weights_label(self) -> str:
        """Which weights the estimates use, for the 説明 sheet and the notes (text.weights_text)."""
        return weights_text(self.weights.method, "label")

    def term_labels(self) -> dict[str, str]:
        """Display names of the attributes and of the association model's terms (職位, 2-(6) 肯定的回答, …)."""
        labels = {a.id: a.label for a in self.codebook.attributes}
        if self.association is not None:
            labels |= {t.name: key_label(self.codebook, t.name) for t in self.association.terms}
        return labels

    @property
    def questions(self) -> list[Item]:
        """The questions that have tables (single answer, Likert, multi-select), in codebook order."""
        return self.codebook.questions_of_type("sa", "likert", "ma")

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

    def source_note(self, *, synthetic: bool, weights: bool = True) -> str:
        """The source note of this wave's outputs: period, staff, respondents, response rate, the
        strata without respondents (which the estimates then do not represent) and, with
        ``--calibrate``, the raked weights (``weights=False`` leaves them out: for a chart of plain
        shares of the respondents, which no weight touches)."""
        from ppp_survey.text import source_note

        total = self.rates.iloc[-1]
        return source_note(
            self.codebook,
            int(total["population"]),
            int(total["respondents"]),
            synthetic=synthetic,
            without=tuple(str(s) for s in self.design.empty_strata),
            covered=int(self.design.covered_population),
            weights=f"推定は{self.weights_label}" if self.calibrated and weights else "",
        )

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

    def _raked_cell_weights(self):
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


VALUE_COLUMNS = ("n", "share", "estimate", "se", "ci_low", "ci_high", "deff", "difference", "p_value", "unweighted")


def analyse(
    responses: pd.DataFrame,
    frame: pd.DataFrame,
    codebook: Codebook,
    *,
    min_group: int = DEFAULT_MIN_GROUP,
    marks: MarkRule | str = MarkRule.HOLM,
    margins: Margins | None = None,
    calibrate: bool = False,
    bounds: tuple[float, float] | None = None,
    model: tuple[str, Sequence[str]] = (DEFAULT_RESPONSE, DEFAULT_TERMS),
    tables: bool = True,
    keep_pools: dict[str, dict[str, tuple[str, ...]]] | None = None,
    progress=None,
) -> Analysis:
    """Compute the design, response rates, GT, every crosstab and the Likert summaries.

    First, groups of every attribute with fewer than ``min_group`` respondents answering some
    question are pooled with the smallest other groups (:func:`~ppp_survey.survey.privacy.protect`);
    every table is then computed on the published groups. With ``margins`` the design weights are
    raked to the 職域 totals and the margins (pooled as the respondents are) and the 全体 estimates are
    compared; ``calibrate`` puts every table, test and the association model on the raked weights
    (variances with the calibration residuals, the design's FPC and df); ``bounds`` ``(L, U)`` keeps
    every raked weight within L–U times its 職域 weight (``--rake-bounds``). ``model`` is the
    association model's (response, terms): willingness on 職域, 職位, 年代, 2-(3) and 2-(6) unless the
    policy matrix file names others. ``tables=False`` stops after the protected groups, the rates
    and the weights (no 単純集計, crosstab, Likert summary, weights comparison or association model:
    their tables are empty), for a simulation that needs only a wave's indicators
    (:func:`~ppp_survey.compare.wave.wave_indicators`). ``keep_pools`` pools groups as an earlier
    publication of the wave did (``Pools.by_attribute``; ``--publish-anyway``).
    """
    min_group = check_min_group(min_group)
    source_codebook = codebook
    responses, frame, codebook, pools = protect(responses, frame, codebook, min_group, keep=keep_pools)
    design = make_design(responses, frame, codebook)
    rates = response_rates(responses, frame, codebook)
    calibration = _raked(responses, design, codebook, pools, margins, bounds, progress)
    weights: Weighting = calibration if calibrate and calibration is not None else design
    if not tables:
        return Analysis(
            codebook=codebook,
            responses=responses,
            design=design,
            rates=rates,
            gt=pd.DataFrame(),
            crosstabs={},
            likert=pd.DataFrame(),
            audit=pools.audit(),
            min_group=min_group,
            pools=pools,
            source_codebook=source_codebook,
            marks=MarkRule(marks),
            calibration=calibration,
            calibrated=bool(calibrate and calibration is not None),
            process=_without_fpc(design, calibration if calibrate else None),
        )
    audits = [pools.audit()]
    gt_parts = []
    for q in codebook.questions_of_type("sa", "likert", "ma"):
        part, audit = suppress_cells(
            gt_table_of(responses, weights, q),
            min_group,
            table="単純集計",
            question=q.id,
            by="",
            value_columns=VALUE_COLUMNS,
            multi=q.is_multi,
        )
        gt_parts.append(part)
        audits.append(audit)
    gt = pd.concat(gt_parts, ignore_index=True)
    questions = codebook.questions_of_type("sa", "likert", "ma")
    crosstabs = {}
    for attr in codebook.attributes:
        if progress:
            progress(f"        クロス集計: {attr.label}別")
        for q in questions:
            ct = crosstab(responses, weights, q, by=attr.id, by_label=attr.label, marks=marks)
            cells, audit = suppress_cells(
                ct.cells,
                min_group,
                table="クロス集計",
                question=q.id,
                by=attr.id,
                value_columns=VALUE_COLUMNS,
                multi=q.is_multi,
            )
            crosstabs[(q.id, attr.id)] = replace(ct, cells=cells)
            audits.append(audit)
    likert = []
    for q in codebook.questions_of_type("likert"):
        likert.append(likert_summary(responses, weights, q).assign(by="", suppressed=False, suppression=""))
        for attr in codebook.attributes:
            part = likert_summary(responses, weights, q, by=attr.id)
            part, _ = suppress_cells(
                part, min_group, table="肯定的回答", question=q.id, by=attr.id, value_columns=VALUE_COLUMNS
            )
            likert.append(part.assign(by=attr.id))
    audit = pd.concat(audits, ignore_index=True) if audits else pd.DataFrame(columns=list(AUDIT_COLUMNS))
    comparison = None
    if calibration is not None:
        comparison = compare_weights(responses, calibration, codebook.questions_of_type("sa", "likert"))
    process, association = _association(
        responses, design, codebook, calibration if calibrate else None, model=model, progress=progress
    )
    return Analysis(
        codebook=codebook,
        responses=responses,
        design=design,
        rates=rates,
        gt=gt,
        crosstabs=crosstabs,
        likert=pd.concat(likert, ignore_index=True) if likert else pd.DataFrame(),
        audit=audit.reset_index(drop=True),
        min_group=min_group,
        pools=pools,
        source_codebook=source_codebook,
        marks=MarkRule(marks),
        calibration=calibration,
        weights_comparison=comparison,
        association=association,
        calibrated=bool(calibrate and calibration is not None),
        process=process,
    )


def _raked(responses, design, codebook, pools, margins, bounds, progress) -> Calibration | None:
    """Issue 19: the design weights raked to the 職域 totals and the margins file (pooled as the
    respondents are), or None without margins."""
    if margins is None:
        return None
    names = {a.id: a.label for a in codebook.attributes}
    calibration = rake(responses, design, margins.merged(pools.by_attribute).targets(), bounds=bounds, names=names)
    if progress:
        columns = "・".join(m.name for m in calibration.margins)
        limit = f"、調整係数 {bounds[0]:g}～{bounds[1]:g}倍" if bounds else ""
        progress(
            f"        レイキング: {columns}（{calibration.iterations}回、最大相対誤差 {calibration.max_error:.1e}{limit}）"
        )
    return calibration


def _association(responses, design, codebook, calibration, *, model, progress):
    """The weights of the association models and the default model (issue 19), on the raked weights
    of ``calibration`` when given (``--calibrate``)."""
    # The association is a question about the process that produces the answers (as a change between
    # waves is), so its standard errors have no finite population correction: on the generator's waves
    # the 95% intervals then hold the built-in effects 93-96% of the time (82-91% with the correction).
    # The raked weights are the same without it (raking uses the design weights only): not raked again.
    process = _without_fpc(design, calibration)
    association = None
    response, terms = model
    try:
        association = association_model(responses, process, codebook, response=response, terms=terms)
    except (KeyError, ValueError) as exc:  # RegressionError is a ValueError
        if progress:
            reason = str(exc) if isinstance(exc, RegressionError) else f"コードブックにない項目がある（{exc}）"
            progress(f"        関連要因の回帰は省略: {reason}")
    return process, association


def _without_fpc(design: StratifiedDesign, calibration: Calibration | None) -> StratifiedDesign | Calibration:
    """The design's weights, raked when ``calibration`` is given, without the finite population
    correction. The raked weights are the same without it (raking uses the design weights only):
    not raked again."""
    return (design if calibration is None else calibration).without_fpc()


def gt_table_of(responses: pd.DataFrame, design: Weighting, item: Item) -> pd.DataFrame:
    """単純集計 of one question (the rows :func:`~ppp_survey.survey.tables.gt_table` stacks)."""
    return tally(responses, design, item)


@dataclass(frozen=True)
class Survey:
    """A loaded and analysed wave, as notebooks use it.

    ``loaded`` is the :class:`~ppp_survey.ingest.load.LoadResult` (responses, free text, validation
    report), ``analysis`` every table, ``note`` the source note every chart carries,
    ``synthetic`` whether the data are the bundled 架空データ and ``frame`` the staff frame as read
    (before small 職域 were pooled; ``analysis`` holds only published groups).
    """

    loaded: LoadResult
    analysis: Analysis
    note: str
    synthetic: bool
    frame: pd.DataFrame

    @property
    def responses(self) -> pd.DataFrame:
        """The respondents as every table sees them (small groups pooled); ``loaded.responses`` as read."""
        return self.analysis.responses

    @property
    def codebook(self) -> Codebook:
        return self.analysis.codebook


def load_survey(
    data,
    frame,
    *,
    codebook=None,
    on_invalid: str = "error",
    synthetic: bool | None = None,
    min_group: int = DEFAULT_MIN_GROUP,
    margins=None,
    calibrate: bool = False,
    bounds: tuple[float, float] | None = None,
) -> Survey:
    """Load an export with its staff frame and compute every table (what the report does first).

    Parameters
    ----------
    data, frame
        Paths of the response export and the staff frame.
    codebook
        A codebook path or :class:`~ppp_survey.spec.codebook.Codebook`; ``None`` for the packaged R7 one.
    synthetic
        Label outputs 架空データ; ``None`` decides from the file name (``synthetic``/``架空``).
    margins, calibrate, bounds
        A margins file (職位別・年代別の職員数) to rake the weights to, whether every estimate
        uses the raked weights and the raking factors' limits (the report's ``--margins``,
        ``--calibrate`` and ``--rake-bounds``).
    """
    import re
    from pathlib import Path

    from ppp_survey.ingest.load import load_responses
    from ppp_survey.spec.codebook import load_codebook
    from ppp_survey.spec.frame import load_frame

    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    loaded = load_responses(data, cb, on_invalid=on_invalid)
    staff = load_frame(frame, cb)
    staff_margins = None
    if margins is not None:
        from ppp_survey.spec.margins import load_margins

        staff_margins = load_margins(margins, cb)
    analysis = analyse(
        loaded.responses, staff, cb, min_group=min_group, margins=staff_margins, calibrate=calibrate, bounds=bounds
    )
    if synthetic is None:
        synthetic = bool(re.search(r"synthetic|架空", Path(data).name, re.IGNORECASE))
    note = analysis.source_note(synthetic=synthetic)
    return Survey(loaded=loaded, analysis=analysis, note=note, synthetic=synthetic, frame=staff)
