"""Computing every table of a wave once: :func:`analyse` (pooling, the design, the raking, the tables,
the association model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from ppp_survey.analysis.result import Analysis
from ppp_survey.constants import DEFAULT_MIN_GROUP, MarkRule
from ppp_survey.errors import RegressionError
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.margins import Margins
from ppp_survey.survey.associations import (
    DEFAULT_RESPONSE,
    DEFAULT_TERMS,
    association_model,
    default_model_misfit,
)
from ppp_survey.survey.calibration import Calibration, rake
from ppp_survey.survey.design import StratifiedDesign, Weighting
from ppp_survey.survey.privacy import AUDIT_COLUMNS, check_min_group, protect, suppress_cells
from ppp_survey.survey.rates import response_rates
from ppp_survey.survey.regression import RegressionResult
from ppp_survey.survey.tables import (
    crosstab,
    likert_summary,
    make_design,
    tally,
)
from ppp_survey.survey.weights_comparison import compare_weights

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
    response_rates(responses, frame, codebook)  # each 職域 as answered, before pooling: no more respondents than staff
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
    for q in codebook.tabulated:
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
    questions = codebook.tabulated
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
    """the design weights raked to the 職域 totals and the margins file (pooled as the
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


def _association(
    responses, design, codebook, calibration, *, model, progress
) -> tuple[StratifiedDesign | Calibration, RegressionResult | None]:
    """The weights of the association models and the default model, on the raked weights
    of ``calibration`` when given (``--calibrate``)."""
    # The association is a question about the process that produces the answers (as a change between
    # waves is), so its standard errors have no finite population correction: on the generator's waves
    # the 95% intervals then hold the built-in effects 93-96% of the time (82-91% with the correction).
    # The raked weights are the same without it (raking uses the design weights only): not raked again.
    process = _without_fpc(design, calibration)
    association = None
    response, terms = model
    misfit = default_model_misfit(codebook) if (response, tuple(terms)) == (DEFAULT_RESPONSE, DEFAULT_TERMS) else None
    if misfit:  # the packaged questionnaire's model names its questions by id: not another questionnaire's
        if progress:
            progress(f"        関連要因の回帰は省略: {misfit}")
        return process, None
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
