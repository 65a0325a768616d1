"""Survey tables from the codebook: 単純集計 (GT), クロス集計 with significance marks, Likert summaries.

Each function takes the typed respondent table, the stratified design and a codebook item, turns
the item into 0/1 indicator columns, and calls the design-based estimators of
:mod:`ppp_survey.survey.estimate` and :mod:`ppp_survey.survey.significance`. Results are tidy DataFrames with the
columns listed in each docstring, and typed facts (the weights' :class:`~ppp_survey.text.WeightsMethod`,
the minimum base, the mark rule) in place of text: the wide, rounded tables people read and the notes
under them are made in :mod:`ppp_survey.outputs` (:mod:`~ppp_survey.outputs.display_tables`,
:mod:`~ppp_survey.outputs.captions`).

Conventions (stated on every published table):

* **Base.** Shares are of the respondents who answered the question (無回答 excluded; its count is
  shown beside the base n). For multi-select questions that is "% of respondents", so the options
  add up to more than 100 (the M.T., multiple total, is shown).
* **Two kinds of share.** ``share`` is the plain share of respondents (the committee document's
  convention). ``estimate`` is the design-based estimate for all staff: respondents in each 職域
  are treated as a simple random sample of that 職域's staff (missing at random within 職域),
  weighted N_h/n_h, with finite population correction; ``se``, ``ci_low``/``ci_high`` (95%, logit)
  and ``deff`` belong to it.
* **Marks (全体との差).** In a crosstab, a cell is marked when its group differs from the rest of the
  respondents (design-based t test of the difference): ▲/▼ higher/lower at the 1% level, △/▽ at the
  5% level. Multiple comparisons: marks are *protected* — a table's cells are marked only when the
  table's Rao–Scott test of association is significant at 5% (for multi-select questions, option by
  option); within a table, tests are not further adjusted. Rows whose base n is below 30 are 参考値
  and are not tested.
* **Rounding.** Percentages are rounded half up to one decimal; totals are not forced to 100.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ppp_survey.constants import MIN_BASE, MarkRule
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.survey.design import StratifiedDesign, Weighting, stratified_design
from ppp_survey.survey.estimate import survey_difference, survey_mean
from ppp_survey.survey.indicators import Measure, bottom2, top2
from ppp_survey.survey.item_sums import ItemSums, indicators, item_sums
from ppp_survey.survey.kernels import (
    Interval,
    check_level,
    mean_arrays,
)
from ppp_survey.survey.multiplicity import Adjust, adjust_p_values
from ppp_survey.survey.significance import (
    RaoScottTest,
    rao_scott,
    rao_scott_counts,
    versus_rest_score_arrays,
)
from ppp_survey.text import WeightsMethod

PROTECT_ALPHA = 0.05
MARKS = {("high", 0.01): "▲", ("high", 0.05): "△", ("low", 0.01): "▼", ("low", 0.05): "▽"}


TALLY_COLUMNS = (
    "question",
    "group",
    "base_n",
    "no_answer_n",
    "code",
    "label",
    "n",
    "share",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
)


def make_design(
    responses: pd.DataFrame, frame: pd.DataFrame, codebook: Codebook, *, fpc: bool = True
) -> StratifiedDesign:
    """The post-stratified design: strata = the codebook's stratum (職域), N_h from the frame."""
    population = pd.Series(frame["population"].to_numpy(), index=frame["domain"].astype(str))
    return stratified_design(responses, population, strata=codebook.stratum.id, fpc=fpc)


def _tally_columns(item: Item, parts: ItemSums, design: Weighting, level: float) -> dict:
    """tally()'s columns from the question's sums: rows group-major, choices within."""
    n_groups, k = parts.groups.size, len(item.choices)
    base = np.repeat(parts.base, k).astype(int)
    n = parts.chosen.ravel().round().astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(base > 0, n / np.where(base > 0, base, 1), np.nan)
    est = mean_arrays(design, parts.sums, level=level, ci=Interval.AUTO, df=None)  # (G, K) arrays
    return {
        "question": item.id,
        # group labels keep their own type (an object column, not pandas' str dtype)
        "group": pd.Series(np.repeat(np.array(parts.groups.labels, dtype=object), k), dtype=object),
        "base_n": base,
        "no_answer_n": np.repeat(parts.size - parts.base, k).astype(int),
        "code": np.tile([c.code for c in item.choices], n_groups),
        "label": np.tile(np.array(item.labels, dtype=object), n_groups),
        "n": n,
        "share": share,
        **{key: np.asarray(est[key], dtype=float).ravel() for key in ("estimate", "se", "ci_low", "ci_high", "deff")},
    }


def tally(
    responses: pd.DataFrame, design: Weighting, item: Item, *, by: str | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Counts, plain shares and design-based estimates of every choice of one question.

    Returns
    -------
    DataFrame
        ``question, group, base_n, no_answer_n, code, label, n, share, estimate, se, ci_low,
        ci_high, deff``: one row per choice (and per group of ``by``); ``base_n`` answered the
        question, ``no_answer_n`` did not, ``n`` chose the choice, ``share = n / base_n``.
    """
    check_level(level)
    return pd.DataFrame(_tally_columns(item, item_sums(responses, design, item, by), design, level))


def tally_by(responses: pd.DataFrame, design: Weighting, item: Item, *, by: str, level: float = 0.95) -> pd.DataFrame:
    """:func:`tally` for 全体 followed by each group of ``by`` (the rows of a by-group chart)."""
    return pd.concat(
        [tally(responses, design, item, level=level), tally(responses, design, item, by=by, level=level)],
        ignore_index=True,
    )


def gt_table(responses: pd.DataFrame, design: Weighting, codebook: Codebook) -> pd.DataFrame:
    """単純集計: :func:`tally` of every single-answer, Likert and multi-select question, stacked."""
    items = codebook.tabulated
    return pd.concat([tally(responses, design, q) for q in items], ignore_index=True)


@dataclass(frozen=True)
class Crosstab:
    """A クロス集計 of one question by one attribute.

    ``cells``: the :func:`tally` columns plus ``difference`` (group − rest, design-based),
    ``p_value``, ``mark`` (▲△▼▽ or ''), ``reference`` (True for 参考値: base n < ``min_base``, not tested).
    ``tests``: one row per Rao–Scott test (one per table; per option for multi-select):
    ``question, by, code, label, n, f, df_num, df_den, p_value, chisq, pearson``.
    ``weights``: how the estimates were made (the design's or the raked weights), ``min_base``: the
    base below which a row is 参考値 and not tested.
    """

    item: Item
    by: str
    cells: pd.DataFrame
    tests: pd.DataFrame
    by_label: str = ""
    marks: MarkRule = MarkRule.HOLM
    weights: WeightsMethod = WeightsMethod()
    min_base: int = MIN_BASE


def crosstab(
    responses: pd.DataFrame,
    design: Weighting,
    item: Item,
    *,
    by: str,
    by_label: str | None = None,
    min_base: int = MIN_BASE,
    level: float = 0.95,
    marks: MarkRule | str = MarkRule.HOLM,
) -> Crosstab:
    """Shares of one question by the groups of ``by`` (職域 or any attribute), with marks and tests.

    ``by_label`` names the attribute in titles (職域); it defaults to ``by``. ``marks`` is the
    multiplicity rule of the cell tests (:class:`~ppp_survey.constants.MarkRule`); ``p_value`` in
    the cells is the adjusted one under ``holm`` and ``bh``.
    """
    marks = MarkRule(marks)
    check_level(level)
    parts = item_sums(responses, design, item, by)  # one pass: shares, differences and tests
    cells = _tally_columns(item, parts, design, level)
    rest = versus_rest_score_arrays(design, parts.sums)  # (G, K) arrays, like the cells (group-major)
    difference = rest["difference"].ravel()
    p_value = rest["p_value"].ravel()
    reference = cells["base_n"] < min_base

    # the table's test asks whether the groups answer differently (the process behind the answers, as
    # the marks' score tests): no finite population correction, else it flags 22% of tables where no
    # group differs (benchmarks/readme_numbers.json: rao_scott_null_rejection_fpc_pct)
    process = design.without_fpc()
    tests = _tests_from_sums(parts, process, item, by) if parts.binary_codes else _tests(responses, process, item, by)
    testable = ~np.asarray(reference) & np.isfinite(p_value)
    if marks is MarkRule.PROTECTED:
        significant = dict(zip(tests["code"], tests["p_value"] < PROTECT_ALPHA))
        gate = np.array([significant.get(code if item.is_multi else None, False) for code in cells["code"].tolist()])
        testable &= gate
    else:
        p_value = _adjust(p_value, testable, marks)
    mark = [
        _mark(diff, p) if ok else "" for ok, diff, p in zip(testable.tolist(), difference.tolist(), p_value.tolist())
    ]
    cells.update(difference=difference, p_value=np.where(reference, np.nan, p_value), reference=reference, mark=mark)
    return Crosstab(
        item=item,
        by=by,
        cells=pd.DataFrame(cells),
        tests=tests,
        by_label=by_label or by,
        marks=marks,
        weights=design.method,
        min_base=min_base,
    )


def _adjust(p_value: np.ndarray, testable: np.ndarray, rule: MarkRule) -> np.ndarray:
    """The cell p-values adjusted over the table's tested cells (Holm or Benjamini–Hochberg,
    :func:`~ppp_survey.survey.multiplicity.adjust_p_values`); untested cells keep NaN."""
    method = {MarkRule.HOLM: Adjust.HOLM, MarkRule.BH: Adjust.BH}[rule]
    return adjust_p_values(np.where(testable, p_value, np.nan), method)


def _mark(difference: float, p: float) -> str:
    side = "high" if difference > 0 else "low"
    for alpha in (0.01, 0.05):
        if p < alpha:
            return MARKS[(side, alpha)]
    return ""


def _tests(responses: pd.DataFrame, design: Weighting, item: Item, by: str) -> pd.DataFrame:
    """Rao–Scott tests: the whole table (single answer) or each option against the groups (multi-select)."""
    rows = []
    if item.is_multi:
        for choice, col in zip(item.choices, item.option_columns):
            ticked = responses[col].astype("Float64")
            flag = pd.Categorical(
                ticked.map({1.0: "選択", 0.0: "非選択"}, na_action="ignore").astype(object),
                categories=["選択", "非選択"],
            )
            data = pd.DataFrame({by: responses[by], col: flag}, index=responses.index)
            rows.append(_test_row(_rao_scott_or_none(data, design, by, col), item, by, choice.code, choice.label))
    else:
        rows.append(_test_row(_rao_scott_or_none(responses, design, by, item.id), item, by, None, ""))
    return pd.DataFrame(rows)


def _tests_from_sums(parts: ItemSums, design: Weighting, item: Item, by: str) -> pd.DataFrame:
    """:func:`_tests` from the question's per-stratum counts (the same tables, no second pass).

    Rows of each table are the groups of ``by``, columns the answers: the choices (single answer)
    or 選択/非選択 (each option of a multi-select question); the base is who answered both.
    """
    sums = parts.sums
    rows = []
    if item.is_multi:
        for j, choice in enumerate(item.choices):
            ticked = sums.s1[:, :, j]
            counts = np.stack([ticked, sums.count[:, :, j] - ticked], axis=1)  # (H, 選択/非選択, group)
            test = rao_scott_counts(design, counts, by, item.option_columns[j], strict=False)
            rows.append(_test_row(test, item, by, choice.code, choice.label))
    else:
        counts = sums.s1.transpose(0, 2, 1)  # (H, choice, group)
        rows.append(_test_row(rao_scott_counts(design, counts, by, item.id, strict=False), item, by, None, ""))
    return pd.DataFrame(rows)


def _rao_scott_or_none(data: pd.DataFrame, design: Weighting, row: str, col: str) -> RaoScottTest | None:
    """The Rao–Scott test, or None when the table has fewer than two answered levels on a side
    (for example an option nobody chose): there is no association to test, so no marks."""
    base = data[row].notna() & data[col].notna()
    if data.loc[base, row].nunique() < 2 or data.loc[base, col].nunique() < 2:
        return None
    return rao_scott(data, design, row, col)


def _test_row(test, item: Item, by: str, code, label: str) -> dict:
    if test is None:
        return {
            "question": item.id,
            "by": by,
            "code": code,
            "label": label,
            "n": 0,
            "f": np.nan,
            "df_num": np.nan,
            "df_den": np.nan,
            "p_value": np.nan,
            "chisq": np.nan,
            "pearson": np.nan,
        }
    return {
        "question": item.id,
        "by": by,
        "code": code,
        "label": label,
        "n": test.n,
        "f": test.f,
        "df_num": test.df_num,
        "df_den": test.df_den,
        "p_value": test.p_value,
        "chisq": test.chisq,
        "pearson": test.pearson,
    }


def likert_summary(
    responses: pd.DataFrame, design: Weighting, item: Item, *, by: str | None = None, level: float = 0.95
) -> pd.DataFrame:
    """肯定的回答 (top-2 box), 否定的回答 (bottom-2 box) and the mean score of a Likert question.

    Top/bottom boxes are shares of those who answered (off-scale answers such as わからない count in
    the base); the mean is over scored answers only. The polarity of the codebook decides which end
    is 肯定的: the higher scores for ``higher_is_better``.

    Returns ``question, group, measure, base_n, unweighted, estimate, se, ci_low, ci_high, deff``;
    ``measure`` is a :class:`~ppp_survey.survey.indicators.Measure` (its label: ``MEASURE_LABEL``).
    """
    values = responses[item.id]
    score_map = {c.label: c.score for c in item.choices_by_score()}
    top, bottom = [c.label for c in top2(item)], [c.label for c in bottom2(item)]
    if isinstance(values.dtype, pd.CategoricalDtype):
        # one value per category, looked up by code (code −1, no answer, takes the appended NaN)
        categories = list(values.cat.categories)
        codes = values.cat.codes.to_numpy()
        data = pd.DataFrame(
            {
                Measure.TOP2.value: np.array([*(c in top for c in categories), np.nan])[codes],
                Measure.BOTTOM2.value: np.array([*(c in bottom for c in categories), np.nan])[codes],
                Measure.MEAN.value: np.array([*(score_map.get(c, np.nan) for c in categories), np.nan], dtype=float)[
                    codes
                ],
            },
            index=responses.index,
        )
    else:
        answered = values.notna().to_numpy()
        data = pd.DataFrame(
            {
                Measure.TOP2.value: np.where(answered, values.isin(top).to_numpy(), np.nan),
                Measure.BOTTOM2.value: np.where(answered, values.isin(bottom).to_numpy(), np.nan),
                Measure.MEAN.value: values.astype(object).map(score_map).astype(float).to_numpy(),
            },
            index=responses.index,
        )
    if by is not None:
        data[by] = responses[by]
    est = survey_mean(data, design, [str(m) for m in Measure], by=by, level=level)
    est = est.rename(columns={"variable": "measure", "n": "base_n"})
    est["measure"] = est["measure"].map(Measure)  # members, never display labels (outputs/ name them)
    est.insert(0, "question", item.id)
    return est[["question", "group", "measure", "base_n", "unweighted", "estimate", "se", "ci_low", "ci_high", "deff"]]


def option_difference(
    responses: pd.DataFrame, design: Weighting, item: Item, code_a: int, code_b: int, *, by: str | None = None
) -> pd.DataFrame:
    """Difference between two options of a multi-select question (same respondents: covariance counted)."""
    a, b = item.option_column(item.choice(code_a)), item.option_column(item.choice(code_b))
    data = indicators(responses, item)
    if by is not None:
        data[by] = responses[by]
    out = survey_difference(data, design, a, b, by=by)
    return out.assign(label_a=item.choice(code_a).label, label_b=item.choice(code_b).label)
