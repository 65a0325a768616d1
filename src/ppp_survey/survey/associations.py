"""Adjusted associations: what goes with willingness when 職域, 職位 and 年代 are held fixed.

A model is written with the keys the comparison and the KPI table use for indicators
(:class:`~ppp_survey.survey.indicators.IndicatorKey`): the response is a 0/1 indicator such as
``q2:top2`` (肯定的回答 of 2-(2), 意欲がある＋どちらかといえば意欲がある); a term is a respondent
attribute (``domain``, ``position``, ``age``: a factor against its first category) or a 0/1
indicator (``q3:choice:1``: handled a proposal (ある); ``q6:top2``: finds consulting easy). A
respondent who did not answer the question of the response or of a term is left out of the model
(R's ``na.omit``); わからない and other off-scale answers count as "not top-2", as in the tables.

:func:`association_model` fits the logistic model on the stratified design or on raked weights
(:func:`~ppp_survey.survey.regression.survey_glm`); :func:`adjusted_association` reads one 0/1 term's
adjusted odds ratio, its 95% interval and its design-based test, the quantity a policy-matrix rule
"association with control" judges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ppp_survey.constants import NO_ANSWER
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.normalize import normalize_key
from ppp_survey.survey.calibration import Calibration
from ppp_survey.survey.design import StratifiedDesign
from ppp_survey.survey.indicators import MEASURE_LABEL, Measure, bottom2, top2
from ppp_survey.survey.regression import Family, RegressionResult, survey_glm

__all__ = [
    "DEFAULT_QUESTIONS",
    "DEFAULT_RESPONSE",
    "DEFAULT_TERMS",
    "AdjustedAssociation",
    "adjusted_association",
    "association_model",
    "canonical_key",
    "default_model_misfit",
    "indicator",
    "key_label",
]

#: 2-(2) 肯定的回答 (意欲がある＋どちらかといえば意欲がある).
DEFAULT_RESPONSE = "q2:top2"
#: 職域, 職位, 年代, 2-(3) experience of handling a proposal (ある), 2-(6) ease of consulting (肯定的回答).
DEFAULT_TERMS = ("domain", "position", "age", "q3:choice:ある", "q6:top2")
#: The questions the default model names by id, as the packaged questionnaire has them: (label, text).
DEFAULT_QUESTIONS = {
    "q2": ("官民連携に対する意欲の有無", "あなたは、官民連携に取り組む意欲がありますか。"),
    "q3": (
        "民間企業等との連携の相談・提案対応経験の有無",
        "これまでに、民間企業等からの連携の相談や提案に対応した経験がありますか。",
    ),
    "q6": (
        "庁内で官民連携を相談しやすい雰囲気・仕組みがあると感じるか",
        "庁内で官民連携について相談しやすい雰囲気や仕組みがあると感じますか。",
    ),
}


def default_model_misfit(codebook: Codebook) -> str | None:
    """Why the default model (:data:`DEFAULT_RESPONSE` on :data:`DEFAULT_TERMS`) is not this
    codebook's: an item of one of its ids is another question, its label and its text both other
    than the packaged question's (an own questionnaire numbered otherwise: its model is named in the
    policy matrix file's ``associations``); None when every item it names that the codebook has is
    the packaged question (text compared as the loader compares it; a codebook drafted from the
    export keeps the question's text). An item the codebook lacks is the fit's to report."""
    ids = {item.id: item for item in codebook.items}
    for item_id, (label, text) in DEFAULT_QUESTIONS.items():
        item = ids.get(item_id)
        if item is None:
            continue
        if normalize_key(item.label) != normalize_key(label) and normalize_key(item.text) != normalize_key(text):
            return (
                f"コードブックの {item_id} は「{item.label}」で、既定のモデルの設問「{label}」ではない"
                "（モデルは政策マトリクスのファイルの associations で指定する）"
            )
    return None


def _parse(key: str, codebook: Codebook) -> tuple[Item, str, int | None]:
    parts = key.split(":")
    try:
        item = codebook.item(parts[0])
    except KeyError:
        raise KeyError(f"指標「{key}」: 「{parts[0]}」はコードブックにない設問") from None
    if len(parts) == 2 and parts[1] in ("top2", "bottom2"):
        if item.type != "likert":
            raise ValueError(
                f"指標「{key}」: {parts[1]} は尺度の設問（likert）にだけ使える（{item.id} は {item.type}）"
            )
        return item, parts[1], None
    if len(parts) == 3 and parts[1] in ("choice", "opt") and parts[2].lstrip("-").isdigit():
        item.choice(int(parts[2]))  # KeyError for an unknown code
        return item, parts[1], int(parts[2])
    if len(parts) == 3 and parts[1] in ("choice", "opt"):  # a choice by its label (or alias), never its position
        wanted = normalize_key(parts[2])
        for choice in item.choices:
            if wanted in choice.keys():
                return item, parts[1], choice.code
        raise KeyError(f"指標「{key}」: {item.id} に選択肢「{parts[2]}」がない（選択肢: {'、'.join(item.labels)}）")
    raise ValueError(f"「{key}」は指標の書き方ではない。'q2:top2'、'q3:choice:ある'、'q5:opt:<選択肢>' の形で書く")


def canonical_key(codebook: Codebook, key: str) -> str:
    """A term as the model names it: an attribute id as it is, an indicator key with the choice's code
    of this codebook (``q3:choice:ある`` → ``q3:choice:1``), so a model named by labels and the same
    model named by codes are one model.

    >>> from ppp_survey.spec.resources import packaged_codebook
    >>> canonical_key(packaged_codebook("codebook_r7.yaml"), "q3:choice:ある")
    'q3:choice:1'
    """
    if ":" not in key:
        return key
    item, kind, code = _parse(key, codebook)
    return f"{item.id}:{kind}" if code is None else f"{item.id}:{kind}:{code}"


def indicator(responses: pd.DataFrame, codebook: Codebook, key: str) -> pd.Series:
    """The 0/1 column of an indicator key (float; NaN where the question was not answered)."""
    item, kind, code = _parse(key, codebook)
    if kind == "opt":
        column = responses[item.option_column(item.choice(code))]  # type: ignore[arg-type]
        return pd.Series(column.to_numpy(dtype=float, na_value=np.nan), index=responses.index, name=key)
    values = responses[item.id]
    if kind == "choice":
        labels = [item.choice(code).label]  # type: ignore[arg-type]
    else:
        labels = [c.label for c in (top2(item) if kind == "top2" else bottom2(item))]
    out = np.where(values.isna().to_numpy(), np.nan, values.isin(labels).to_numpy(dtype=float))
    return pd.Series(out, index=responses.index, name=key)


def key_label(codebook: Codebook, key: str) -> str:
    """A display name: the attribute's label (職位), or 「2-(6) 肯定的回答」 / 「2-(3) ある」."""
    if ":" not in key:
        return codebook.item(key).label
    item, kind, code = _parse(key, codebook)
    head = item.number or item.id
    if kind in ("top2", "bottom2"):
        return f"{head} {MEASURE_LABEL[Measure(kind)]}"
    return f"{head} {item.choice(code).label}"  # type: ignore[arg-type]


def association_model(
    responses: pd.DataFrame,
    design: StratifiedDesign | Calibration,
    codebook: Codebook,
    *,
    response: str = DEFAULT_RESPONSE,
    terms: Sequence[str] = DEFAULT_TERMS,
    reference: Mapping[str, str] | None = None,
    level: float = 0.95,
) -> RegressionResult:
    """Logistic regression of the indicator `response` on `terms` with design-based standard errors.

    Attributes enter as factors (reference: their first category, or ``reference[attribute]``);
    indicator keys as 0/1 columns named by the key. Rows are the respondents of `design`.
    """
    response, terms = canonical_key(codebook, response), [canonical_key(codebook, t) for t in terms]
    data = pd.DataFrame(index=responses.index)
    data[response] = indicator(responses, codebook, response)
    for term in terms:
        data[term] = indicator(responses, codebook, term) if ":" in term else _stated(responses[term])
    return survey_glm(data, design, response, list(terms), family=Family.BINOMIAL, reference=reference, level=level)


@dataclass(frozen=True)
class AdjustedAssociation:
    """One 0/1 term's adjusted association with the response: odds ratio, 95% interval, Wald test."""

    term: str
    odds_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    controls: tuple[str, ...]


def adjusted_association(result: RegressionResult, term: str) -> AdjustedAssociation:
    """The odds ratio of a one-coefficient term of a logistic model, adjusted for the model's other terms."""
    if result.family != Family.BINOMIAL:
        raise ValueError("an adjusted association is read from a logistic model (family='binomial')")
    rows = result.table[result.table["term"] == term]
    if len(rows) != 1:
        raise KeyError(f"{term!r} is not a one-coefficient term of the model (terms: {[t.name for t in result.terms]})")
    row = rows.iloc[0]
    return AdjustedAssociation(
        term=term,
        odds_ratio=float(row["odds_ratio"]),
        ci_low=float(row["or_ci_low"]),
        ci_high=float(row["or_ci_high"]),
        p_value=float(row["p_value"]),
        n=result.n,
        controls=tuple(t.name for t in result.terms if t.name != term),
    )


def _stated(values: pd.Series) -> pd.Series:
    """An attribute as a factor of the model: its blank (the group 無回答, privacy.with_blank_groups)
    left out as a blank answer is, so a model's levels are the stated categories (a pool that
    includes the blank stays one level)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and NO_ANSWER in values.cat.categories:
        # set_categories, not remove_categories: pandas 3.1's remove_categories sorts the rest
        return values.cat.set_categories([c for c in values.cat.categories if c != NO_ANSWER])
    return values.where(values.astype(object) != NO_ANSWER)
